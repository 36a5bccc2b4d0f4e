package metering_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

// TestIssue13_MeterBoundsEventFigures: tokens and latency used to pass
// through unbounded, so that sums over a batch could wrap in a sink. The
// meter lowers them to their documented bounds and counts it; what it
// delivers always passes Event.Validate.
func TestIssue13_MeterBoundsEventFigures(t *testing.T) {
	var got []metering.Event
	sink := metering.SinkFunc(func(_ context.Context, evs []metering.Event) error {
		got = append(got, evs...)
		return nil
	})
	m, err := metering.New(metering.Config{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	m.Record(metering.Event{Operation: metering.OpAgentMessage, Tokens: math.MaxInt64, Latency: math.MaxInt64})
	m.Record(metering.Event{Operation: metering.OpAgentMessage, Tokens: -5, Latency: -time.Second, Compliance: math.NaN()})
	m.Record(metering.Event{Operation: metering.OpAgentMessage, Tokens: 7, Latency: time.Millisecond, Compliance: 0.5})
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("delivered %d events, want 3", len(got))
	}
	if got[0].Tokens != metering.MaxEventTokens || got[0].Latency != metering.MaxEventLatency {
		t.Fatalf("event 0: tokens %d latency %v, want the bounds", got[0].Tokens, got[0].Latency)
	}
	if got[1].Tokens != 0 || got[1].Latency != 0 || got[1].Compliance != 0 {
		t.Fatalf("event 1 = %+v, want its negatives and NaN at 0", got[1])
	}
	for i := range got {
		if err := got[i].Validate(); err != nil {
			t.Errorf("delivered event %d does not validate: %v", i, err)
		}
	}
	if c := m.Metrics().Clamped; c != 1 {
		t.Fatalf("Clamped = %d, want 1 (only the event above the bounds)", c)
	}
}
