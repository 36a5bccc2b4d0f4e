package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/antifragile-go/antifragile"
)

// scenarioJSON is the wire form of a Scenario. Durations are strings such as
// "250ms"; pointers tell an absent field from a zero one.
type scenarioJSON struct {
	Name               string       `json:"name"`
	Type               Type         `json:"type"`
	Target             string       `json:"target"`
	Delay              *string      `json:"delay,omitempty"`
	ErrorRate          float64      `json:"error_rate"`
	ErrorMessage       string       `json:"error_message,omitempty"`
	ResourceType       ResourceType `json:"resource_type,omitempty"`
	ResourceLevel      float64      `json:"resource_level"`
	Duration           *string      `json:"duration,omitempty"`
	BlastRadius        []string     `json:"blast_radius"`
	CreatedAt          *time.Time   `json:"created_at,omitempty"`
	Active             bool         `json:"active"`
	CappedFrom         *string      `json:"capped_from,omitempty"`
	ConstitutionalHash string       `json:"constitutional_hash"`
}

// MarshalJSON encodes the scenario as
//
//	{"name":"latency_db_250ms","type":"latency","target":"db","delay":"250ms",
//	 "error_rate":0,"resource_level":0,"duration":"10s","blast_radius":[],
//	 "created_at":"…","active":true,"constitutional_hash":"cdd01ef066bc6cf2"}
//
// "error_message" holds ErrorMessage, or Err's message when only Err is set;
// "resource_type", "created_at" and "capped_from" are left out when zero. An
// empty hash is written as antifragile.ConstitutionalHash.
func (s Scenario) MarshalJSON() ([]byte, error) {
	w := scenarioJSON{
		Name:               s.Name,
		Type:               s.Type,
		Target:             s.Target,
		ErrorRate:          s.ErrorRate,
		ErrorMessage:       s.ErrorMessage,
		ResourceType:       s.ResourceType,
		ResourceLevel:      s.ResourceLevel,
		BlastRadius:        s.BlastRadius,
		Active:             s.Active,
		ConstitutionalHash: antifragile.HashOrDefault(s.ConstitutionalHash),
	}
	if w.ErrorMessage == "" && s.Err != nil {
		w.ErrorMessage = s.Err.Error()
	}
	if w.BlastRadius == nil {
		w.BlastRadius = []string{}
	}
	delay := s.Delay.String()
	w.Delay = &delay
	dur := s.Duration.String()
	w.Duration = &dur
	if !s.CreatedAt.IsZero() {
		t := s.CreatedAt
		w.CreatedAt = &t
	}
	if s.CappedFrom != 0 {
		c := s.CappedFrom.String()
		w.CappedFrom = &c
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form written by MarshalJSON. Unknown fields are
// rejected; an absent "duration" means DefaultDuration and an absent "delay"
// zero. It does not validate: ParseScenario does.
func (s *Scenario) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w scenarioJSON
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("chaos: scenario: %w", err)
	}
	out := Scenario{
		Name:               w.Name,
		Type:               w.Type,
		Target:             w.Target,
		ErrorRate:          w.ErrorRate,
		ErrorMessage:       w.ErrorMessage,
		ResourceType:       w.ResourceType,
		ResourceLevel:      w.ResourceLevel,
		Active:             w.Active,
		ConstitutionalHash: w.ConstitutionalHash,
		Duration:           DefaultDuration,
	}
	if len(w.BlastRadius) > 0 {
		out.BlastRadius = w.BlastRadius
	}
	if w.CreatedAt != nil {
		out.CreatedAt = *w.CreatedAt
	}
	var err error
	if out.Delay, err = parseDuration("delay", w.Delay, 0); err != nil {
		return err
	}
	if out.Duration, err = parseDuration("duration", w.Duration, DefaultDuration); err != nil {
		return err
	}
	if out.CappedFrom, err = parseDuration("capped_from", w.CappedFrom, 0); err != nil {
		return err
	}
	*s = out
	return nil
}

func parseDuration(field string, v *string, dflt time.Duration) (time.Duration, error) {
	if v == nil {
		return dflt, nil
	}
	d, err := time.ParseDuration(*v)
	if err != nil {
		return 0, antifragile.Invalid(field, *v, "must be a duration such as \"250ms\" or \"10s\"")
	}
	return d, nil
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
