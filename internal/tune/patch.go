package tune

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Patch returns the proposal's changes as a fragment of the config file
// (system.Config's JSON form): the breaker settings under
// breakers.default, the recovery ones under recovery.default_policy, only
// the changed fields. An outcome without changes gives {}.
func (o *Outcome) Patch() json.RawMessage {
	sections := map[string]map[string]any{}
	for _, c := range o.Changes {
		section, field, ok := strings.Cut(c.Setting, ".")
		if !ok {
			continue
		}
		var v any = c.To
		if n, err := strconv.Atoi(c.To); err == nil {
			v = n
		}
		if sections[section] == nil {
			sections[section] = map[string]any{}
		}
		sections[section][field] = v
	}
	doc := map[string]any{}
	if b := sections["breaker"]; b != nil {
		doc["breakers"] = map[string]any{"default": b}
	}
	if r := sections["recovery"]; r != nil {
		doc["recovery"] = map[string]any{"default_policy": r}
	}
	out, _ := json.Marshal(doc) // maps of strings and numbers always encode
	return out
}
