package metering

import (
	"encoding/json"
	"fmt"
	"time"
)

// DefaultCloudEventSource is the CloudEvents "source" written when none is given.
const DefaultCloudEventSource = "antifragile"

// AppendCloudEvent appends the CloudEvents 1.0 structured JSON form of e —
// the shape OpenMeter ingests — to dst:
//
//	{"specversion":"1.0","id":"<ID>","source":"<source>","type":"<operation>",
//	 "subject":"<tenant>","time":"<RFC 3339>","datacontenttype":"application/json",
//	 "data":{"tier":…,"agent_id":…,"tokens_processed":…,"latency_ms":…,
//	         "compliance_score":…,"outcome":…,"metadata":…,"constitutional_hash":…}}
//
// An empty source means DefaultCloudEventSource. Like AppendJSON it never
// fails. It is safe for concurrent use on distinct buffers.
func AppendCloudEvent(dst []byte, e *Event, source string) []byte {
	if source == "" {
		source = DefaultCloudEventSource
	}
	dst = append(dst, `{"specversion":"1.0","id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, source)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, string(e.Operation))
	dst = append(dst, `,"subject":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"time":"`...)
	t := e.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		t = time.Time{}
	}
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","datacontenttype":"application/json","data":{"tier":`...)
	dst = appendUsage(dst, e)
	dst = append(dst, `,"constitutional_hash":`...)
	dst = appendString(dst, e.ConstitutionalHash)
	return append(dst, "}}"...)
}

// wireCloudEvent is the decoding form of a CloudEvent.
type wireCloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            json.RawMessage `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            *struct {
		Tier       Tier           `json:"tier"`
		Agent      string         `json:"agent_id"`
		Tokens     int64          `json:"tokens_processed"`
		LatencyMS  float64        `json:"latency_ms"`
		Compliance float64        `json:"compliance_score"`
		Outcome    Outcome        `json:"outcome"`
		Metadata   map[string]any `json:"metadata"`
		Hash       string         `json:"constitutional_hash"`
	} `json:"data"`
}

// ParseCloudEvent decodes the CloudEvents 1.0 structured JSON form written by
// AppendCloudEvent and returns the event and its source. It requires
// specversion "1.0", a non-empty id, source and type, a datacontenttype that
// is empty or "application/json", and applies the checks of
// Event.UnmarshalJSON to the data. Errors wrap ErrDecode.
func ParseCloudEvent(data []byte) (e Event, source string, err error) {
	var w wireCloudEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, "", fmt.Errorf("%w: %w", ErrDecode, err)
	}
	switch {
	case w.SpecVersion != "1.0":
		return Event{}, "", fmt.Errorf("%w: specversion %q, want \"1.0\"", ErrDecode, w.SpecVersion)
	case w.ID == "":
		return Event{}, "", fmt.Errorf("%w: missing id", ErrDecode)
	case w.Source == "":
		return Event{}, "", fmt.Errorf("%w: missing source", ErrDecode)
	case w.Type == "":
		return Event{}, "", fmt.Errorf("%w: missing type", ErrDecode)
	case w.DataContentType != "" && w.DataContentType != "application/json":
		return Event{}, "", fmt.Errorf("%w: datacontenttype %q", ErrDecode, w.DataContentType)
	}
	we := wireEvent{ID: w.ID, Tenant: w.Subject, Operation: Operation(w.Type), Time: w.Time}
	if d := w.Data; d != nil {
		we.Tier, we.Agent, we.Tokens, we.LatencyMS = d.Tier, d.Agent, d.Tokens, d.LatencyMS
		we.Compliance, we.Outcome, we.Metadata, we.Hash = d.Compliance, d.Outcome, d.Metadata, d.Hash
	}
	e, err = we.event()
	if err != nil {
		return Event{}, "", err
	}
	return e, w.Source, nil
}
