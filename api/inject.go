package api

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/antifragile-go/antifragile/chaos"
)

// Injected is the body answering POST /chaos/scenarios: the active
// scenario in its JSON form (chaos.Scenario.MarshalJSON, field for field),
// followed by "warnings":
//
//	{"name":"latency_nosuch_100ms",…,"capped_from":"10m0s","constitutional_hash":"…",
//	 "warnings":["target \"nosuch\" is unknown: …","duration capped from 10m to 5m"]}
//
// Warnings says what the injection may not do as asked: a target the
// server has never seen (the fault may hit nothing; POST
// /chaos/scenarios?strict=1 refuses it instead), a duration shortened to
// the engine's cap. It is an empty list, never null, when all is well.
type Injected struct {
	Scenario chaos.Scenario
	Warnings []string
}

// MarshalJSON writes the scenario's JSON object with "warnings" added as
// its last field.
func (v Injected) MarshalJSON() ([]byte, error) {
	sc, err := v.Scenario.MarshalJSON()
	if err != nil {
		return nil, err
	}
	warnings := v.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	w, err := Marshal(warnings)
	if err != nil {
		return nil, err
	}
	sc = bytes.TrimRight(sc, " \t\r\n")
	if len(sc) < 2 || sc[len(sc)-1] != '}' {
		return nil, errors.New("api: a scenario's JSON form is not an object")
	}
	out := make([]byte, 0, len(sc)+len(w)+13)
	out = append(out, sc[:len(sc)-1]...)
	if len(bytes.TrimSpace(sc[1:len(sc)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"warnings":`...)
	out = append(out, w...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads the form MarshalJSON writes: "warnings" (absent
// from the answers of older servers: no warnings) and the scenario, decoded
// as strictly as chaos.Scenario.UnmarshalJSON decodes it.
func (v *Injected) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	var out Injected
	if raw, ok := fields["warnings"]; ok {
		if err := json.Unmarshal(raw, &out.Warnings); err != nil {
			return &ValidationError{Field: "warnings", Err: errors.New("must be a list of strings")}
		}
		delete(fields, "warnings")
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	if err := out.Scenario.UnmarshalJSON(rest); err != nil {
		return err
	}
	*v = out
	return nil
}
