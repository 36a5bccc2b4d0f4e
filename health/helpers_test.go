package health_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// fakeSource is a custom StateSource whose state the test sets.
type fakeSource struct{ s atomic.Uint32 }

func newFake(s breaker.State) *fakeSource {
	f := &fakeSource{}
	f.set(s)
	return f
}

func (f *fakeSource) State() breaker.State { return breaker.State(f.s.Load()) }
func (f *fakeSource) set(s breaker.State)  { f.s.Store(uint32(s)) }

// metricsSource is a custom MetricsSource with fixed metrics.
type metricsSource struct{ m breaker.Metrics }

func (m metricsSource) State() breaker.State     { return m.m.State }
func (m metricsSource) Metrics() breaker.Metrics { return m.m }

var errBoom = errors.New("boom")

func newRegistry(t testing.TB) *breaker.Registry {
	t.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func newAgg(t testing.TB, cfg health.Config, reg *breaker.Registry) *health.Aggregator {
	t.Helper()
	agg, err := health.New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := agg.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return agg
}

func getOrCreate(t testing.TB, reg *breaker.Registry, name string) *breaker.Breaker {
	t.Helper()
	b, err := reg.GetOrCreate(name, breaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// populate adds closed breakers c0… and forced-open breakers o0… to reg.
func populate(t testing.TB, reg *breaker.Registry, closed, open int) {
	t.Helper()
	for i := range closed {
		getOrCreate(t, reg, fmt.Sprintf("c%03d", i))
	}
	for i := range open {
		getOrCreate(t, reg, fmt.Sprintf("o%03d", i)).ForceOpen()
	}
}

// trip opens b by failing calls through it.
func trip(t testing.TB, b *breaker.Breaker) {
	t.Helper()
	for b.State() == breaker.Closed {
		tk, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(errBoom)
	}
}

// startRun runs agg until the returned function is called; that function
// waits for Run to return and checks its error.
func startRun(t *testing.T, agg *health.Aggregator) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- agg.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	}
}

// recorder collects the reports passed to an OnChange callback.
type recorder struct {
	ch chan health.Report
}

func newRecorder(agg *health.Aggregator) *recorder {
	r := &recorder{ch: make(chan health.Report, 100)}
	agg.OnChange(func(rep health.Report) { r.ch <- rep })
	return r
}

// statuses returns the statuses received so far.
func (r *recorder) statuses() []health.Status {
	var out []health.Status
	for {
		select {
		case rep := <-r.ch:
			out = append(out, rep.Status)
		default:
			return out
		}
	}
}

func approx(a, b float64) bool {
	d := a - b
	return d < 1e-12 && d > -1e-12
}
