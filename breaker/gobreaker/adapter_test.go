package gobreaker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	adapter "github.com/antifragile-go/antifragile/breaker/gobreaker"
	gb "github.com/sony/gobreaker/v2"
)

var errBoom = errors.New("boom")

const openTimeout = 10 * time.Second

// caller makes calls through either form of gobreaker breaker.
type caller interface {
	adapter.Source
	// call makes one call that returns err; it returns the rejection, if any.
	call(err error) error
}

type single struct{ *gb.CircuitBreaker[any] }

func (s single) call(err error) error {
	_, e := s.Execute(func() (any, error) { return nil, err })
	if err != nil && errors.Is(e, err) {
		return nil
	}
	return e
}

type twoStep struct{ *gb.TwoStepCircuitBreaker[any] }

func (s twoStep) call(err error) error {
	done, e := s.Allow()
	if e != nil {
		return e
	}
	done(err)
	return nil
}

// kinds builds both forms of gobreaker breaker from the same settings.
var kinds = []struct {
	name string
	new  func(gb.Settings) caller
}{
	{"circuit breaker", func(s gb.Settings) caller { return single{gb.NewCircuitBreaker[any](s)} }},
	{"two-step circuit breaker", func(s gb.Settings) caller { return twoStep{gb.NewTwoStepCircuitBreaker[any](s)} }},
}

// settings trip after 3 consecutive failures, stay open for openTimeout and
// admit one trial call when half-open.
func settings(tr *adapter.Transitions) gb.Settings {
	s := gb.Settings{
		Name:        "upstream",
		Timeout:     openTimeout,
		ReadyToTrip: func(c gb.Counts) bool { return c.ConsecutiveFailures >= 3 },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
	}
	if tr != nil {
		s.OnStateChange = tr.OnStateChange
	}
	return s
}

func mustNew(t *testing.T, src adapter.Source, tr *adapter.Transitions) *adapter.Adapter {
	t.Helper()
	a, err := adapter.New(src, tr)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestNew(t *testing.T) {
	t.Run("rejects a nil source with a validation error", func(t *testing.T) {
		a, err := adapter.New(nil, nil)
		if a != nil || !errors.Is(err, antifragile.ErrInvalid) {
			t.Fatalf("New(nil) = %v, %v; want nil, an error matching ErrInvalid", a, err)
		}
		var ve *breaker.ValidationError
		if !errors.As(err, &ve) || ve.Field != "source" {
			t.Fatalf("error %v is not a *ValidationError for field source", err)
		}
	})
	t.Run("reports the gobreaker name", func(t *testing.T) {
		a := mustNew(t, gb.NewCircuitBreaker[any](gb.Settings{Name: "payments"}), nil)
		if got := a.Name(); got != "payments" {
			t.Fatalf("Name() = %q, want payments", got)
		}
	})
}

func TestAdapter_State(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name+" follows gobreaker through every transition", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := new(adapter.Transitions)
				cb := k.new(settings(tr))
				a := mustNew(t, cb, tr)
				step := func(want breaker.State, trips uint64, at time.Time) {
					t.Helper()
					if got := a.State(); got != want {
						t.Fatalf("State() = %s, want %s (gobreaker: %s)", got, want, cb.State())
					}
					m := a.Metrics()
					if m.State != want || m.Trips != trips || !m.LastTransition.Equal(at) {
						t.Fatalf("Metrics() = state %s, trips %d, last transition %v; want %s, %d, %v",
							m.State, m.Trips, m.LastTransition, want, trips, at)
					}
				}
				fail := func(n int) {
					t.Helper()
					for range n {
						if err := cb.call(errBoom); err != nil {
							t.Fatalf("failing call rejected: %v", err)
						}
					}
				}

				step(breaker.Closed, 0, time.Time{})
				fail(2)
				step(breaker.Closed, 0, time.Time{})

				tripped := time.Now()
				fail(1)
				step(breaker.Open, 1, tripped)
				if err := cb.call(nil); !errors.Is(err, gb.ErrOpenState) {
					t.Fatalf("call while open = %v, want %v", err, gb.ErrOpenState)
				}

				time.Sleep(openTimeout) // gobreaker half-opens strictly after the timeout
				step(breaker.Open, 1, tripped)
				time.Sleep(time.Nanosecond)
				halfOpened := time.Now()
				step(breaker.HalfOpen, 1, halfOpened)

				if err := cb.call(nil); err != nil {
					t.Fatalf("trial call rejected: %v", err)
				}
				step(breaker.Closed, 1, halfOpened)

				time.Sleep(time.Second)
				tripped = time.Now()
				fail(3)
				step(breaker.Open, 2, tripped)
				time.Sleep(openTimeout + time.Nanosecond)
				halfOpened = time.Now()
				step(breaker.HalfOpen, 2, halfOpened)
				fail(1)
				step(breaker.Open, 3, halfOpened)
			})
		})
	}
}

func TestAdapter_Metrics(t *testing.T) {
	canceled := context.Canceled
	tests := []struct {
		name     string
		outcomes []error
		want     breaker.Metrics
	}{
		{"is zero before any call", nil, breaker.Metrics{}},
		{"counts successes as calls", []error{nil, nil, nil},
			breaker.Metrics{Calls: 3, Successes: 3}},
		{"resets consecutive failures on a success", []error{errBoom, errBoom, nil},
			breaker.Metrics{Calls: 3, Successes: 1, Failures: 2}},
		{"reports trailing consecutive failures", []error{nil, errBoom, errBoom},
			breaker.Metrics{Calls: 3, Successes: 1, Failures: 2, ConsecutiveFailures: 2}},
		{"counts excluded calls as calls only", []error{canceled, nil, canceled},
			breaker.Metrics{Calls: 3, Successes: 1}},
	}
	for _, k := range kinds {
		for _, tt := range tests {
			t.Run(k.name+" "+tt.name, func(t *testing.T) {
				cb := k.new(settings(nil))
				a := mustNew(t, cb, nil)
				for _, err := range tt.outcomes {
					if e := cb.call(err); e != nil {
						t.Fatalf("call rejected: %v", e)
					}
				}
				if got := a.Metrics(); got != tt.want {
					t.Fatalf("Metrics() = %+v, want %+v", got, tt.want)
				}
			})
		}
	}
	t.Run("reports no rejections or slow calls, and counts since the last transition", func(t *testing.T) {
		cb := single{gb.NewCircuitBreaker[any](settings(nil))}
		a := mustNew(t, cb, nil)
		for range 3 {
			_ = cb.call(errBoom)
		}
		for range 5 {
			if err := cb.call(nil); !errors.Is(err, gb.ErrOpenState) {
				t.Fatalf("call while open = %v, want %v", err, gb.ErrOpenState)
			}
		}
		want := breaker.Metrics{State: breaker.Open} // gobreaker cleared its counts when it opened
		if got := a.Metrics(); got != want {
			t.Fatalf("Metrics() = %+v, want %+v", got, want)
		}
	})
	t.Run("stays consistent while calls run concurrently", func(t *testing.T) {
		cb := single{gb.NewCircuitBreaker[any](gb.Settings{Name: "busy", ReadyToTrip: func(gb.Counts) bool { return false }})}
		a := mustNew(t, cb, new(adapter.Transitions))
		const workers, calls = 4, 500
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range calls {
					var err error
					if (i+w)%3 == 0 {
						err = errBoom
					}
					_ = cb.call(err)
				}
			})
		}
		stop := make(chan struct{})
		var reads sync.WaitGroup
		reads.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if m := a.Metrics(); m.Successes+m.Failures > m.Calls || m.State != breaker.Closed {
					t.Errorf("inconsistent metrics %+v", m)
					return
				}
			}
		})
		wg.Wait()
		close(stop)
		reads.Wait()
		m := a.Metrics()
		if m.Calls != workers*calls || m.Successes+m.Failures != m.Calls {
			t.Fatalf("after %d calls: %+v", workers*calls, m)
		}
	})
}

func TestTransitions_OnStateChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr adapter.Transitions
		if tr.Trips() != 0 || !tr.LastTransition().IsZero() {
			t.Fatalf("zero Transitions: trips %d, last %v; want 0 and the zero time", tr.Trips(), tr.LastTransition())
		}
		steps := []struct {
			from, to gb.State
			trips    uint64
		}{
			{gb.StateClosed, gb.StateOpen, 1},
			{gb.StateOpen, gb.StateHalfOpen, 1},
			{gb.StateHalfOpen, gb.StateOpen, 2},
			{gb.StateOpen, gb.StateHalfOpen, 2},
			{gb.StateHalfOpen, gb.StateClosed, 2},
		}
		for _, s := range steps {
			time.Sleep(time.Minute)
			tr.OnStateChange("x", s.from, s.to)
			if tr.Trips() != s.trips {
				t.Fatalf("after %s → %s: trips %d, want %d", s.from, s.to, tr.Trips(), s.trips)
			}
			if got, want := tr.LastTransition(), time.Now().UTC(); !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("after %s → %s: last transition %v, want %v in UTC", s.from, s.to, got, want)
			}
		}
	})
}
