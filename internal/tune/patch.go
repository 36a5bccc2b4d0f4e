package tune

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Fields returns the proposal's changes as partial JSON objects of a
// breaker.Config and of a recovery.Policy (nil when the proposal changes
// none of that part): the form api.TuningChange carries.
func (o *Outcome) Fields() (breakerFields, recoveryFields json.RawMessage) {
	return fieldsOf(o.Changes)
}

// fieldsOf returns changes as partial JSON objects (see Outcome.Fields).
func fieldsOf(changes []Change) (breakerFields, recoveryFields json.RawMessage) {
	sections := map[string]map[string]any{}
	for _, c := range changes {
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
	enc := func(m map[string]any) json.RawMessage {
		if m == nil {
			return nil
		}
		b, _ := json.Marshal(m) // strings and numbers always encode
		return b
	}
	return enc(sections["breaker"]), enc(sections["recovery"])
}

// Patch returns the proposal's changes as a fragment of the config file
// (system.Config's JSON form): the breaker settings under
// breakers.default, the recovery ones under recovery.default_policy, only
// the changed fields. An outcome without changes gives {}.
func (o *Outcome) Patch() json.RawMessage {
	b, r := o.Fields()
	doc := map[string]any{}
	if b != nil {
		doc["breakers"] = map[string]any{"default": b}
	}
	if r != nil {
		doc["recovery"] = map[string]any{"default_policy": r}
	}
	out, _ := json.Marshal(doc)
	return out
}
