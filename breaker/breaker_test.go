package breaker_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

var errBoom = errors.New("boom")

func mustNew(t *testing.T, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// call makes one call through b with the given outcome and returns Allow's error.
func call(b *breaker.Breaker, outcome error) error {
	t, err := b.Allow()
	if err != nil {
		return err
	}
	t.Done(outcome)
	return nil
}

func calls(t *testing.T, b *breaker.Breaker, n int, outcome error) {
	t.Helper()
	for i := range n {
		if err := call(b, outcome); err != nil {
			t.Fatalf("call %d rejected: %v", i+1, err)
		}
	}
}

func TestState_String(t *testing.T) {
	want := map[breaker.State]string{
		breaker.Closed: "closed", breaker.Open: "open", breaker.HalfOpen: "half_open",
		breaker.ForcedOpen: "forced_open", breaker.Disabled: "disabled",
	}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), w)
		}
		got, err := breaker.ParseState(w)
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", w, got, err)
		}
		text, _ := s.MarshalText()
		if string(text) != w {
			t.Errorf("MarshalText = %s", text)
		}
	}
	if _, err := breaker.ParseState("ajar"); err == nil {
		t.Error("ParseState(ajar) = nil error")
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   breaker.Config
		field string
	}{
		{"negative minimum calls", breaker.Config{MinimumCalls: -1}, "minimum_calls"},
		{"failure rate above 1", breaker.Config{FailureRate: 1.5}, "failure_rate"},
		{"negative failure rate", breaker.Config{FailureRate: -0.1}, "failure_rate"},
		{"slow rate without threshold", breaker.Config{SlowCallRate: 0.5}, "slow_call_threshold"},
		{"slow rate above 1", breaker.Config{SlowCallRate: 2, SlowCallThreshold: time.Second}, "slow_call_rate"},
		{"negative window", breaker.Config{WindowSize: -5}, "window_size"},
		{"minimum calls beyond window", breaker.Config{FailureRate: 0.5, WindowSize: 5, MinimumCalls: 6}, "minimum_calls"},
		{"negative window duration", breaker.Config{Window: breaker.TimeWindow, WindowDuration: -time.Second}, "window_duration"},
		{"negative buckets", breaker.Config{Window: breaker.TimeWindow, Buckets: -1}, "buckets"},
		{"unknown window kind", breaker.Config{Window: 7}, "window"},
		{"negative open timeout", breaker.Config{OpenTimeout: -time.Second}, "open_timeout"},
		{"multiplier below 1", breaker.Config{OpenTimeoutMultiplier: 0.5}, "open_timeout_multiplier"},
		{"max open timeout below open timeout", breaker.Config{OpenTimeout: time.Minute, MaxOpenTimeout: time.Second}, "max_open_timeout"},
		{"negative half-open calls", breaker.Config{HalfOpenMaxCalls: -1}, "half_open_max_calls"},
		{"more successes than trials", breaker.Config{HalfOpenMaxCalls: 2, HalfOpenSuccesses: 3}, "half_open_successes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := breaker.New(tt.cfg)
			var ve *breaker.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("New = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Fatalf("field = %q, want %q (err: %v)", ve.Field, tt.field, err)
			}
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatal("errors.Is(err, ErrInvalid) = false")
			}
		})
	}
	t.Run("reports every problem", func(t *testing.T) {
		err := breaker.Config{FailureRate: 2, OpenTimeout: -1, HalfOpenMaxCalls: -1}.Validate()
		for _, f := range []string{"failure_rate", "open_timeout", "half_open_max_calls"} {
			if !containsField(err, f) {
				t.Errorf("missing %s in %v", f, err)
			}
		}
	})
	t.Run("wrong hash is refused", func(t *testing.T) {
		_, err := breaker.New(breaker.Config{ConstitutionalHash: "deadbeefdeadbeef"})
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("zero value is valid", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		c := b.Config()
		if c.ConsecutiveFailures != 5 || c.OpenTimeout != 30*time.Second || c.HalfOpenMaxCalls != 1 {
			t.Fatalf("defaults = %+v", c)
		}
	})
}

func containsField(err error, field string) bool {
	return slices.Contains(antifragile.InvalidFields(err), field)
}

func TestBreaker_ConsecutiveFailures(t *testing.T) {
	for _, threshold := range []int{1, 3, 5} {
		t.Run("exactly the threshold trips", func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: threshold})
			calls(t, b, threshold-1, errBoom)
			if b.State() != breaker.Closed {
				t.Fatalf("tripped after %d of %d failures", threshold-1, threshold)
			}
			calls(t, b, 1, errBoom)
			if b.State() != breaker.Open {
				t.Fatalf("state = %v after %d failures", b.State(), threshold)
			}
			if err := call(b, nil); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("open breaker admitted a call: %v", err)
			}
		})
	}
	t.Run("a success resets the run", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 3})
		calls(t, b, 2, errBoom)
		calls(t, b, 1, nil)
		calls(t, b, 2, errBoom)
		if b.State() != breaker.Closed {
			t.Fatal("tripped although the failures were not consecutive")
		}
	})
	t.Run("negative turns the rule off", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: -1})
		calls(t, b, 100, errBoom)
		if b.State() != breaker.Closed {
			t.Fatal("tripped with the rule off")
		}
	})
	t.Run("context.Canceled is ignored, not a failure", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
		calls(t, b, 3, context.Canceled)
		if b.State() != breaker.Closed {
			t.Fatal("tripped on context.Canceled")
		}
		if m := b.Metrics(); m.Ignored != 3 || m.Successes != 0 || m.Failures != 0 || m.Calls != 3 {
			t.Fatalf("metrics = %+v", m)
		}
	})
	t.Run("custom classifier", func(t *testing.T) {
		classify := func(err error) breaker.Outcome {
			if errors.Is(err, errBoom) {
				return breaker.Failure
			}
			return breaker.Success
		}
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, Classify: classify})
		calls(t, b, 2, errors.New("ignored"))
		if b.State() != breaker.Closed {
			t.Fatal("classifier ignored")
		}
		calls(t, b, 1, errBoom)
		if b.State() != breaker.Open {
			t.Fatal("classified failure did not trip")
		}
	})
}

func TestBreaker_FailureRate(t *testing.T) {
	for _, kind := range []breaker.WindowKind{breaker.CountWindow, breaker.TimeWindow} {
		cfg := breaker.Config{ConsecutiveFailures: -1, FailureRate: 0.5, MinimumCalls: 4, WindowSize: 10, Window: kind}
		t.Run(kind.String()+" window/minimum calls respected", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustNew(t, cfg)
				calls(t, b, 3, errBoom) // 100% failures but only 3 calls
				if b.State() != breaker.Closed {
					t.Fatal("tripped below the minimum number of calls")
				}
				calls(t, b, 1, errBoom)
				if b.State() != breaker.Open {
					t.Fatalf("state = %v at 4 calls, 100%% failures", b.State())
				}
			})
		})
		t.Run(kind.String()+" window/exactly the rate trips", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustNew(t, cfg)
				calls(t, b, 5, nil)
				calls(t, b, 4, errBoom) // 4/9 < 0.5
				if b.State() != breaker.Closed {
					t.Fatal("tripped below the rate")
				}
				calls(t, b, 1, errBoom) // 5/10 = 0.5
				if b.State() != breaker.Open {
					t.Fatal("did not trip at exactly the rate")
				}
			})
		})
	}
	t.Run("count window forgets old calls", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: -1, FailureRate: 0.5, MinimumCalls: 4, WindowSize: 4})
		calls(t, b, 1, errBoom)
		calls(t, b, 3, nil) // window [F S S S] → 1/4
		calls(t, b, 3, nil) // window [S S S S]: the failure fell out
		if b.State() != breaker.Closed {
			t.Fatal("unexpected trip")
		}
		calls(t, b, 1, errBoom) // [S S S F] → 1/4; with the old failure it would be 2/4
		if b.State() != breaker.Closed {
			t.Fatal("old failures still counted")
		}
		if w := b.Metrics().Window; w.Calls != 4 || w.Failures != 1 {
			t.Fatalf("window = %+v, want 4 calls, 1 failure", w)
		}
	})
	t.Run("time window forgets old buckets", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: -1, FailureRate: 0.5, MinimumCalls: 2, Window: breaker.TimeWindow, WindowDuration: 10 * time.Second, Buckets: 10})
			calls(t, b, 1, errBoom)
			time.Sleep(11 * time.Second)
			calls(t, b, 3, nil)
			calls(t, b, 1, errBoom) // 1/4 once the old failure is gone
			if b.State() != breaker.Closed {
				t.Fatal("a failure older than the window was counted")
			}
		})
	})
}

func TestBreaker_SlowCallRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: -1, SlowCallRate: 0.5, SlowCallThreshold: 100 * time.Millisecond, MinimumCalls: 2, WindowSize: 10})
		slow := func() {
			tk, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(150 * time.Millisecond)
			tk.Done(nil)
		}
		calls(t, b, 1, nil)
		slow()
		if b.State() != breaker.Open {
			t.Fatalf("state = %v, want open at 1 slow of 2", b.State())
		}
		if m := b.Metrics(); m.SlowCalls != 1 || m.Successes != 2 {
			t.Fatalf("metrics = %+v", m)
		}
	})
}

func TestBreaker_OpenTimeoutAndHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, HalfOpenMaxCalls: 3, HalfOpenSuccesses: 2})
		calls(t, b, 1, errBoom)
		time.Sleep(10*time.Second - time.Nanosecond)
		if b.State() != breaker.Open {
			t.Fatalf("state = %v before the timeout", b.State())
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if b.State() != breaker.HalfOpen {
			t.Fatalf("state = %v after the timeout", b.State())
		}
		// exactly the permitted number of trial calls is admitted
		var tickets []breaker.Ticket
		for range 3 {
			tk, err := b.Allow()
			if err != nil {
				t.Fatalf("trial rejected: %v", err)
			}
			tickets = append(tickets, tk)
		}
		if _, err := b.Allow(); !errors.Is(err, breaker.ErrTooManyRequests) {
			t.Fatalf("4th trial: err = %v", err)
		}
		tickets[0].Done(nil)
		if b.State() != breaker.HalfOpen {
			t.Fatal("closed after 1 of 2 required successes")
		}
		tickets[1].Done(nil)
		if b.State() != breaker.Closed {
			t.Fatalf("state = %v after 2 successes", b.State())
		}
		tickets[2].Done(errBoom) // a stale trial does not reopen a closed breaker
		if b.State() != breaker.Closed {
			t.Fatal("a stale trial outcome changed the state")
		}
	})
}

func TestBreaker_ProbeFailureGrowsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second, OpenTimeoutMultiplier: 2, MaxOpenTimeout: 3 * time.Second})
		sub := b.Subscribe(16)
		defer sub.Close()
		calls(t, b, 1, errBoom)
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
			start := time.Now()
			for ev := range sub.C {
				if ev.To == breaker.HalfOpen {
					break
				}
			}
			if got := time.Since(start); got != want {
				t.Fatalf("trip %d: open for %v, want %v", i+1, got, want)
			}
			calls(t, b, 1, errBoom) // failed probe
			if b.State() != breaker.Open {
				t.Fatalf("failed probe left state %v", b.State())
			}
		}
		// a successful probe closes it and the timeout starts over
		time.Sleep(3 * time.Second)
		synctest.Wait()
		calls(t, b, 1, nil)
		if b.State() != breaker.Closed {
			t.Fatal("successful probe did not close")
		}
		calls(t, b, 1, errBoom)
		time.Sleep(time.Second)
		synctest.Wait()
		if b.State() != breaker.HalfOpen {
			t.Fatal("timeout did not start over after closing")
		}
	})
}

func TestBreaker_ForcedAndDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second})
		if !b.ForceOpen() || b.ForceOpen() {
			t.Fatal("ForceOpen should report a change only once")
		}
		time.Sleep(time.Hour)
		if b.State() != breaker.ForcedOpen {
			t.Fatalf("forced open ended by itself: %v", b.State())
		}
		if err := call(b, nil); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("forced open admitted: %v", err)
		}
		if !b.Release() || b.Release() {
			t.Fatal("Release should report true once")
		}
		if b.State() != breaker.Closed {
			t.Fatal("release did not close")
		}
		calls(t, b, 1, errBoom)
		if b.Release() {
			t.Fatal("Release of a self-opened breaker must do nothing")
		}
		b.Disable()
		calls(t, b, 10, errBoom)
		if b.State() != breaker.Disabled {
			t.Fatal("disabled breaker tripped")
		}
		if m := b.Metrics(); m.Failures != 11 {
			t.Fatalf("disabled breaker must still record: %+v", m)
		}
		b.Reset()
		if m := b.Metrics(); b.State() != breaker.Closed || m.Calls != 0 || m.Failures != 0 || m.ConsecutiveFailures != 0 || m.Rejections != 0 {
			t.Fatalf("after Reset: %v %+v", b.State(), m)
		}
	})
}

func TestBreaker_Events(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{Name: "db", ConsecutiveFailures: 2, OpenTimeout: time.Second})
		sub := b.Subscribe(16)
		defer sub.Close()
		calls(t, b, 2, errBoom)
		time.Sleep(time.Second)
		synctest.Wait()
		calls(t, b, 1, nil)
		b.ForceOpen()
		b.Release()
		b.Disable()
		b.Reset()
		want := []struct {
			from, to breaker.State
			reason   breaker.Reason
		}{
			{breaker.Closed, breaker.Open, breaker.ReasonConsecutiveFailures},
			{breaker.Open, breaker.HalfOpen, breaker.ReasonTimeout},
			{breaker.HalfOpen, breaker.Closed, breaker.ReasonProbeSuccess},
			{breaker.Closed, breaker.ForcedOpen, breaker.ReasonForced},
			{breaker.ForcedOpen, breaker.Closed, breaker.ReasonReleased},
			{breaker.Closed, breaker.Disabled, breaker.ReasonDisabled},
			{breaker.Disabled, breaker.Closed, breaker.ReasonReset},
		}
		for i, w := range want {
			select {
			case ev := <-sub.C:
				if ev.Breaker != "db" || ev.From != w.from || ev.To != w.to || ev.Reason != w.reason || ev.At.IsZero() {
					t.Fatalf("event %d = %+v, want %+v", i, ev, w)
				}
			default:
				t.Fatalf("event %d missing", i)
			}
		}
	})
	t.Run("a slow listener loses events, counted, and never blocks", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		sub := b.Subscribe(1)
		defer sub.Close()
		for range 5 {
			b.ForceOpen()
			b.Release()
		}
		if len(sub.C) != 1 || sub.Dropped() != 9 {
			t.Fatalf("buffered %d, dropped %d", len(sub.C), sub.Dropped())
		}
	})
	t.Run("a listener may read the state while handling an event", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		sub := b.Subscribe(4)
		defer sub.Close()
		done := make(chan breaker.State)
		go func() {
			<-sub.C
			_ = b.Metrics()
			b.Release() // takes the breaker's lock: would deadlock if we published under it and waited
			done <- b.State()
		}()
		b.ForceOpen()
		if st := <-done; st != breaker.Closed {
			t.Fatalf("state = %v", st)
		}
	})
}

func TestBreaker_Execute(t *testing.T) {
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 2})
	if err := b.Execute(func() error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("Execute returned %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		_ = b.Execute(func() error { panic("x") })
	}()
	if b.State() != breaker.Open {
		t.Fatal("a panic must count as a failure")
	}
	ran := false
	if err := b.Execute(func() error { ran = true; return nil }); !errors.Is(err, breaker.ErrOpen) || ran {
		t.Fatalf("open breaker ran fn (err %v)", err)
	}
	v, err := breaker.Do(b, func() (int, error) { return 42, nil })
	if v != 0 || !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Do on open = %v, %v", v, err)
	}
	b.Reset()
	v, err = breaker.Do(b, func() (int, error) { return 42, nil })
	if v != 42 || err != nil {
		t.Fatalf("Do = %v, %v", v, err)
	}
}

func TestTicket_ZeroValue(t *testing.T) {
	var tk breaker.Ticket
	tk.Done(errBoom) // must not panic
}

// TestBreaker_CountWindowMetrics checks the success count that a count
// window derives from its position, across trips, probes and Reset.
func TestBreaker_CountWindowMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 3, FailureRate: 0.9, WindowSize: 4, MinimumCalls: 4, OpenTimeout: time.Second})
		calls(t, b, 10, nil)
		calls(t, b, 2, errBoom)
		if m := b.Metrics(); m.Successes != 10 || m.Failures != 2 || m.Calls != 12 {
			t.Fatalf("closed: %+v", m)
		}
		calls(t, b, 1, errBoom) // third in a row: trips
		if b.State() != breaker.Open {
			t.Fatalf("state %v", b.State())
		}
		time.Sleep(time.Second)
		synctest.Wait()
		calls(t, b, 1, nil) // the half-open probe succeeds and closes
		calls(t, b, 5, nil)
		if m := b.Metrics(); b.State() != breaker.Closed || m.Successes != 16 || m.Failures != 3 || m.Rejections != 0 {
			t.Fatalf("after a trip and a probe: %v %+v", b.State(), m)
		}
		b.Reset()
		if m := b.Metrics(); m.Successes != 0 || m.Failures != 0 || m.Calls != 0 {
			t.Fatalf("after Reset: %+v", m)
		}
		calls(t, b, 2, nil)
		calls(t, b, 1, errBoom)
		if m := b.Metrics(); m.Successes != 2 || m.Failures != 1 {
			t.Fatalf("after Reset and 3 calls: %+v", m)
		}
	})
}
