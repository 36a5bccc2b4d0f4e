package bus_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/bus"
)

// TestIssue14_Tokens: the tokens a handler reports in its Reply are metered
// and counted per agent, so that usage per tenant is not always 0 tokens.
func TestIssue14_Tokens(t *testing.T) {
	f := newFixture(t, bus.Config{})
	if err := f.bus.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: "ok", Tokens: 42}, nil
	}); err != nil {
		t.Fatal(err)
	}
	msg := bus.NewMessage("proposer", "validator", "validate", nil)
	msg.Tenant = "acme"
	for range 3 {
		if _, err := f.bus.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	evs := f.metered(t)
	if len(evs) != 3 {
		t.Fatalf("%d events metered, want 3", len(evs))
	}
	for _, e := range evs {
		if e.Tokens != 42 || e.Tenant != "acme" {
			t.Errorf("event %+v, want 42 tokens for acme", e)
		}
	}
	if got := f.bus.Metrics().PerAgent[0].Tokens; got != 126 {
		t.Errorf("agent tokens %d, want 126", got)
	}
}

// TestIssue14_PerAgent: the bus counts each agent's outcomes and times its
// messages into a histogram whose quantiles tell a latency fault apart.
func TestIssue14_PerAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errInjected := errors.New("injected")
		f := newFixture(t, bus.Config{Chaos: chaosFunc(func(ctx context.Context, target string) error {
			if target == "slow" {
				time.Sleep(120 * time.Millisecond)
			}
			if target == "flaky" {
				return errInjected
			}
			return nil
		})})
		for _, n := range []string{"slow", "flaky", "fast"} {
			if err := f.bus.Register(n, echo); err != nil {
				t.Fatal(err)
			}
		}
		for _, to := range []string{"slow", "slow", "flaky", "fast", "fast", "fast"} {
			_, _ = f.bus.Send(context.Background(), bus.NewMessage("proposer", to, "t", nil))
		}
		m := f.bus.Metrics()
		if len(m.PerAgent) != 3 || len(m.LatencyBoundsNS) != bus.LatencyBuckets {
			t.Fatalf("per agent %+v, %d bounds", m.PerAgent, len(m.LatencyBoundsNS))
		}
		byName := map[string]bus.AgentMetrics{}
		for _, a := range m.PerAgent {
			byName[a.Name] = a
		}
		if a := byName["fast"]; a.Delivered != 3 || a.Failed+a.Injected+a.Rejected != 0 {
			t.Errorf("fast: %+v", a)
		}
		if a := byName["flaky"]; a.Injected != 1 || a.Delivered != 0 {
			t.Errorf("flaky: %+v", a)
		}
		slow := byName["slow"]
		if p50 := bus.LatencyQuantile(slow.Latency, 0.5); p50 < 120*time.Millisecond || p50 > 150*time.Millisecond {
			t.Errorf("slow P50 %v, want the bucket of 120ms", p50)
		}
		if p99 := bus.LatencyQuantile(byName["fast"].Latency, 0.99); p99 != 1024 {
			t.Errorf("fast P99 %v, want the first bucket (no time passes in the bubble)", p99)
		}
	})
}

func TestLatencyBound(t *testing.T) {
	// Every bucket's bound is above the previous one, within 25% of it,
	// and a latency falls in the bucket whose bounds hold it.
	prev := time.Duration(0)
	for i := range bus.LatencyBuckets - 1 {
		b := bus.LatencyBound(i)
		if b <= prev || (i > 1 && float64(b) > 1.26*float64(prev)) {
			t.Fatalf("bound %d = %v after %v", i, b, prev)
		}
		hist := make([]uint64, bus.LatencyBuckets)
		hist[i] = 1
		if q := bus.LatencyQuantile(hist, 0.5); q != b {
			t.Fatalf("quantile of bucket %d = %v, want %v", i, q, b)
		}
		prev = b
	}
	if b := bus.LatencyBound(bus.LatencyBuckets - 1); b != math.MaxInt64 {
		t.Errorf("last bound %v, want unbounded", b)
	}
	if q := bus.LatencyQuantile(nil, 0.99); q != 0 {
		t.Errorf("quantile of nothing %v, want 0", q)
	}
}
