package api

import (
	"encoding/json"
	"fmt"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

// The kinds of the events of GET /events: the SSE "event:" field.
const (
	// KindHello is the first event of every stream; its data is a Hello.
	KindHello = "hello"
	// KindBreaker is a breaker transition (or a registry gaining or
	// losing a breaker); its data is a breaker.Event.
	KindBreaker = "breaker"
	// KindHealth is a change of the health status; its data is the
	// health.Report that changed it.
	KindHealth = "health"
	// KindRecovery is a step of a recovery; its data is a recovery.Event.
	KindRecovery = "recovery"
	// KindChaos is a scenario starting or ending; its data is a
	// chaos.Event.
	KindChaos = "chaos"
	// KindAnomaly is an at-risk signal raised or cleared by the health
	// aggregator's anomaly detection; its data is a health.AnomalyEvent.
	KindAnomaly = "anomaly"
)

// Event is one Server-Sent Event of GET /events, which the server writes as
//
//	event: <Kind>
//	id: <ID>
//	data: <Data>
//
// ID counts the events of one stream from 1 (the hello event). Data is the
// compact JSON of the kind's type; the typed accessors decode it. Its own
// JSON form ({"kind","id","data"}) is what `antifragile health -watch -json`
// prints, one event per line.
type Event struct {
	Kind string          `json:"kind"`
	ID   uint64          `json:"id"`
	Data json.RawMessage `json:"data"`
}

func decodeEvent[T any](e Event, kind string) (T, error) {
	var v T
	if e.Kind != kind {
		return v, fmt.Errorf("api: event is %q, not %q", e.Kind, kind)
	}
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("api: %s event %d: %w", kind, e.ID, err)
	}
	return v, nil
}

// Hello decodes the data of a KindHello event.
func (e Event) Hello() (Hello, error) { return decodeEvent[Hello](e, KindHello) }

// Breaker decodes the data of a KindBreaker event.
func (e Event) Breaker() (breaker.Event, error) { return decodeEvent[breaker.Event](e, KindBreaker) }

// Health decodes the data of a KindHealth event.
func (e Event) Health() (health.Report, error) { return decodeEvent[health.Report](e, KindHealth) }

// Recovery decodes the data of a KindRecovery event.
func (e Event) Recovery() (recovery.Event, error) {
	return decodeEvent[recovery.Event](e, KindRecovery)
}

// Anomaly decodes the data of a KindAnomaly event.
func (e Event) Anomaly() (health.AnomalyEvent, error) {
	return decodeEvent[health.AnomalyEvent](e, KindAnomaly)
}

// Chaos decodes the data of a KindChaos event.
func (e Event) Chaos() (chaos.Event, error) { return decodeEvent[chaos.Event](e, KindChaos) }
