package chaos_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
)

// newEngine returns an engine closed when the test ends.
func newEngine(t *testing.T, cfg chaos.Config, reg *breaker.Registry) *chaos.Engine {
	t.Helper()
	e, err := chaos.New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// newRegistry returns a registry holding the breakers the tests force open
// (a, b, payments): a circuit_breaker scenario removes a breaker it had to
// create when it ends, so the tests that look at one afterwards need it to
// exist first.
func newRegistry(t *testing.T) *breaker.Registry {
	t.Helper()
	r, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "payments"} {
		if _, err := r.GetOrCreate(name, breaker.Config{}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func mustInject(t *testing.T, e *chaos.Engine, s chaos.Scenario) chaos.Scenario {
	t.Helper()
	got, err := e.Inject(s)
	if err != nil {
		t.Fatalf("Inject(%q): %v", s.Name, err)
	}
	return got
}

// startRun runs e.Run until the test ends and returns once it is running.
func startRun(t *testing.T, e *chaos.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for !e.Running() {
		runtime.Gosched()
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// drain returns the events buffered in sub.
func drain(sub *chaos.Subscription) []chaos.Event {
	var out []chaos.Event
	for {
		select {
		case ev := <-sub.C:
			out = append(out, ev)
		default:
			return out
		}
	}
}

type evKey struct {
	Scenario string
	Kind     chaos.EventKind
	Reason   chaos.Reason
}

func keys(evs []chaos.Event) []evKey {
	out := make([]evKey, len(evs))
	for i, ev := range evs {
		out[i] = evKey{ev.Scenario, ev.Kind, ev.Reason}
	}
	return out
}
