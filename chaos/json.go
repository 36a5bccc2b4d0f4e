package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// plainScenario is Scenario without its JSON methods, for the codec.
type plainScenario Scenario

// MarshalJSON encodes the scenario as
//
//	{"name":"latency_db_250ms","type":"latency","target":"db","delay":"250ms",
//	 "error_rate":0,"resource_level":0,"duration":"10s","blast_radius":[],
//	 "created_at":"…","active":true,"constitutional_hash":"cdd01ef066bc6cf2"}
//
// "error_message" holds ErrorMessage, or Err's message when only Err is set;
// "error_message", "resource_type", "created_at" and "capped_from" are left
// out when zero. An empty hash is written as antifragile.ConstitutionalHash.
func (s Scenario) MarshalJSON() ([]byte, error) {
	if s.ErrorMessage == "" && s.Err != nil {
		s.ErrorMessage = s.Err.Error()
	}
	if s.BlastRadius == nil {
		s.BlastRadius = []string{}
	}
	s.ConstitutionalHash = antifragile.HashOrDefault(s.ConstitutionalHash)
	return codec.Encode(plainScenario(s))
}

// UnmarshalJSON decodes the form written by MarshalJSON, strictly: unknown
// and duplicated fields, keys in another case and invalid UTF-8 are
// refused, each problem a *ValidationError naming the field. An absent
// "duration" means DefaultDuration and an absent "delay" zero; Err and the
// stop conditions are not part of the form and are cleared. It does not
// validate: ParseScenario does.
func (s *Scenario) UnmarshalJSON(data []byte) error {
	out := Scenario{Duration: DefaultDuration}
	if err := codec.Decode(data, (*plainScenario)(&out)); err != nil {
		return err
	}
	if len(out.BlastRadius) == 0 {
		out.BlastRadius = nil
	}
	*s = out
	return nil
}

// engineMembers are the members of the JSON form that the engine sets on
// the scenarios it reports; a request does not hold them.
var engineMembers = []string{"created_at", "active", "capped_from"}

// DecodeRequest decodes a scenario as a caller asks for one: the JSON form
// of MarshalJSON without the members the engine sets ("created_at",
// "active", "capped_from"), strictly, every problem a *ValidationError
// naming its member. Members that data leaves out keep the values of base,
// so a caller such as a game-day file supplies its own defaults (a
// duration, a name). It does not validate: call Validate.
//
// A format that embeds scenarios decodes them with DecodeRequest, so that
// a new fault kind or field needs no change outside this package.
func DecodeRequest(data []byte, base Scenario) (Scenario, error) {
	out := base
	err := codec.Decode(data, (*plainScenario)(&out))
	if errors.Is(err, codec.ErrTooLarge) || !json.Valid(data) {
		return Scenario{}, err
	}
	var members map[string]json.RawMessage
	_ = json.Unmarshal(data, &members)
	var p antifragile.Problems
	p.Add(err)
	for _, k := range engineMembers {
		if _, ok := members[k]; ok {
			p.Invalid(k, nil, "is set by the engine; a request cannot set it")
		}
	}
	if err := p.Err(); err != nil {
		return Scenario{}, err
	}
	if len(out.BlastRadius) == 0 {
		out.BlastRadius = nil
	}
	return out, nil
}

// ParseScenario decodes one scenario in its JSON form (see
// Scenario.MarshalJSON) and validates it; an absent hash is set to
// antifragile.ConstitutionalHash. Unknown fields, trailing data and
// invalid values are errors; the *ValidationError names the field.
func ParseScenario(data []byte) (Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Scenario{}, errors.New("chaos: scenario: unexpected data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, err
	}
	s.ConstitutionalHash = antifragile.HashOrDefault(s.ConstitutionalHash)
	return s, nil
}
