package chaostest

import (
	"context"
	"runtime"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
)

// Inject activates s on e for the rest of the test and returns the active
// copy. When the test ends (t.Cleanup), the scenario named s.Name is
// deactivated if it is still active. A failed injection fails the test
// with t.Fatalf.
func Inject(t testing.TB, e *chaos.Engine, s chaos.Scenario) chaos.Scenario {
	t.Helper()
	got, err := e.Inject(s)
	if err != nil {
		t.Fatalf("chaostest: inject %q: %v", s.Name, err)
		return chaos.Scenario{}
	}
	t.Cleanup(func() { e.Deactivate(got.Name) })
	return got
}

// NewEngine returns a new engine for the test with Run already running,
// so that stop conditions are watched. When the test ends, Run is stopped
// and the engine closed, and the test fails if that does not succeed. An
// invalid cfg fails the test with t.Fatalf. It works inside a
// testing/synctest bubble too.
func NewEngine(t testing.TB, cfg chaos.Config, reg *breaker.Registry) *chaos.Engine {
	t.Helper()
	e, err := chaos.New(cfg, reg)
	if err != nil {
		t.Fatalf("chaostest: new engine: %v", err)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for !e.Running() {
		runtime.Gosched()
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("chaostest: engine Run: %v", err)
		}
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("chaostest: close engine: %v", err)
		}
	})
	return e
}
