package recovery_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

var errDown = errors.New("db down")

func mustNew(t testing.TB, cfg recovery.Config, reg *breaker.Registry) *recovery.Orchestrator {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	o, err := recovery.New(cfg, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return o
}

// start runs o.Run in a goroutine and returns a function that stops it and
// waits for it to return.
func start(t testing.TB, o *recovery.Orchestrator) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	}
}

// recorder records when, and for which service, attempts ran.
type recorder struct {
	mu    sync.Mutex
	times []time.Time
	names []string
}

// check returns a health check for service name that records the call and
// returns the next of outcomes (the last one repeats; none means success).
func (r *recorder) check(name string, outcomes ...error) func(context.Context) error {
	n := 0
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.times = append(r.times, time.Now())
		r.names = append(r.names, name)
		if len(outcomes) == 0 {
			return nil
		}
		err := outcomes[min(n, len(outcomes)-1)]
		n++
		return err
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

func (r *recorder) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// gaps returns the time from origin to the first attempt and between
// consecutive attempts.
func (r *recorder) gaps(origin time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	prev := origin
	for _, at := range r.times {
		out = append(out, at.Sub(prev))
		prev = at
	}
	return out
}

// drain returns the events buffered in sub without waiting.
func drain(sub *recovery.Subscription) []recovery.Event {
	var out []recovery.Event
	for {
		select {
		case ev := <-sub.C:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// states returns "service:state" for each event.
func states(evs []recovery.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Service + ":" + ev.State.String()
	}
	return out
}
