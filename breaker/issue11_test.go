package breaker_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

// reopenAndClose trips b with its consecutive rule (threshold n), lets the
// open timeout pass and closes it with a successful probe.
func reopenAndClose(t *testing.T, b *breaker.Breaker, n int) {
	t.Helper()
	calls(t, b, n, errBoom)
	if b.State() != breaker.Open {
		t.Fatalf("state = %v after %d failures, want open", b.State(), n)
	}
	time.Sleep(b.Config().OpenTimeout)
	synctest.Wait()
	calls(t, b, 1, nil)
	if b.State() != breaker.Closed {
		t.Fatalf("state = %v after a successful probe, want closed", b.State())
	}
}

func allow(t *testing.T, b *breaker.Breaker) breaker.Ticket {
	t.Helper()
	tk, err := b.Allow()
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return tk
}

// TestIssue11_Generations: an outcome counts only in the generation that
// admitted its call.
func TestIssue11_Generations(t *testing.T) {
	cfg := breaker.Config{ConsecutiveFailures: 3, OpenTimeout: time.Second}
	t.Run("a late failure does not shorten the next run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, cfg)
			old := allow(t, b)
			reopenAndClose(t, b, 3)
			old.Done(errBoom)
			calls(t, b, 2, errBoom)
			if b.State() != breaker.Closed {
				t.Fatal("2 new failures tripped: the late failure counted")
			}
			calls(t, b, 1, errBoom)
			if b.State() != breaker.Open {
				t.Fatal("3 new failures did not trip")
			}
			if m := b.Metrics(); m.Late != 1 {
				t.Fatalf("Late = %d, want 1", m.Late)
			}
		})
	})
	t.Run("a late success does not reset the next run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, cfg)
			old := allow(t, b)
			reopenAndClose(t, b, 3)
			calls(t, b, 2, errBoom)
			old.Done(nil)
			calls(t, b, 1, errBoom)
			if b.State() != breaker.Open {
				t.Fatal("3 consecutive new failures did not trip: the late success reset the run")
			}
		})
	})
	t.Run("late failures do not land in a fresh window", func(t *testing.T) {
		b := mustNew(t, breaker.Config{FailureRate: 0.5, MinimumCalls: 4, WindowSize: 10})
		var old []breaker.Ticket
		for range 4 {
			old = append(old, allow(t, b))
		}
		b.ForceOpen()
		b.Release()
		for _, tk := range old {
			tk.Done(errBoom)
		}
		calls(t, b, 1, errBoom)
		calls(t, b, 1, nil)
		if b.State() != breaker.Closed {
			t.Fatal("tripped at 1 failure in 2 new calls with a minimum of 4")
		}
		m := b.Metrics()
		if m.Window.Calls != 2 || m.Window.Failures != 1 || m.Late != 4 {
			t.Fatalf("window %+v, late %d; want 2 calls, 1 failure, 4 late", m.Window, m.Late)
		}
	})
	transitions := []struct {
		name string
		do   func(t *testing.T, b *breaker.Breaker)
	}{
		{"trip", func(t *testing.T, b *breaker.Breaker) { calls(t, b, 3, errBoom) }},
		{"half-open", func(t *testing.T, b *breaker.Breaker) {
			calls(t, b, 3, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
		}},
		{"close", func(t *testing.T, b *breaker.Breaker) { reopenAndClose(t, b, 3) }},
		{"force open", func(t *testing.T, b *breaker.Breaker) { b.ForceOpen() }},
		{"release", func(t *testing.T, b *breaker.Breaker) { b.ForceOpen(); b.Release() }},
		{"reset", func(t *testing.T, b *breaker.Breaker) { b.Reset() }},
		{"disable", func(t *testing.T, b *breaker.Breaker) { b.Disable() }},
	}
	for _, tr := range transitions {
		t.Run("a Done after "+tr.name+" is late", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustNew(t, breaker.Config{ConsecutiveFailures: 3, FailureRate: 0.9, MinimumCalls: 10, OpenTimeout: time.Second})
				calls(t, b, 1, nil)
				old := allow(t, b)
				tr.do(t, b)
				before := b.Metrics()
				old.Done(errBoom)
				after := b.Metrics()
				if after.State != before.State || after.Trips != before.Trips {
					t.Fatalf("a late failure moved the breaker: %v → %v", before.State, after.State)
				}
				if after.Late != before.Late+1 || after.Failures != before.Failures {
					t.Fatalf("late %d → %d, failures %d → %d; want one more late and no failure",
						before.Late, after.Late, before.Failures, after.Failures)
				}
				if after.ConsecutiveFailures != before.ConsecutiveFailures || after.Window != before.Window ||
					after.TrialCalls != before.TrialCalls || after.TrialSuccesses != before.TrialSuccesses {
					t.Fatalf("a late failure changed what the rules see: %+v → %+v", before, after)
				}
			})
		})
	}
	t.Run("a trial admitted before a failed probe is late", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second, HalfOpenMaxCalls: 2})
			calls(t, b, 1, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			first, second := allow(t, b), allow(t, b)
			first.Done(errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			second.Done(nil) // from the previous half-open generation
			if m := b.Metrics(); b.State() != breaker.HalfOpen || m.TrialSuccesses != 0 || m.Late != 1 {
				t.Fatalf("state %v, %+v: the old trial counted in the new half-open state", b.State(), m)
			}
		})
	})
}

// TestIssue11_Ignored: the third outcome touches no rule.
func TestIssue11_Ignored(t *testing.T) {
	t.Run("fail, fail, cancelled, fail trips at 3", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 3})
		calls(t, b, 2, errBoom)
		calls(t, b, 1, context.Canceled)
		calls(t, b, 1, errBoom)
		if b.State() != breaker.Open {
			t.Fatal("a cancelled call broke the run of failures")
		}
	})
	t.Run("a cancelled trial gives its permit back and decides nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second})
			calls(t, b, 1, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			tk := allow(t, b)
			if _, err := b.Allow(); !errors.Is(err, breaker.ErrTooManyRequests) {
				t.Fatalf("second trial: %v", err)
			}
			tk.Done(context.Canceled)
			if b.State() != breaker.HalfOpen {
				t.Fatalf("a cancelled trial moved the breaker to %v", b.State())
			}
			calls(t, b, 1, nil) // the permit is back
			if b.State() != breaker.Closed {
				t.Fatalf("state = %v after a real successful trial", b.State())
			}
		})
	})
	t.Run("ignored calls are not entered in the window", func(t *testing.T) {
		b := mustNew(t, breaker.Config{FailureRate: 0.5, MinimumCalls: 3, WindowSize: 10})
		calls(t, b, 1, nil)
		calls(t, b, 5, context.Canceled)
		calls(t, b, 1, errBoom)
		if w := b.Metrics().Window; w.Calls != 2 || b.State() != breaker.Closed {
			t.Fatalf("window %+v, state %v: ignored calls were counted", w, b.State())
		}
	})
	t.Run("a classifier can ignore", func(t *testing.T) {
		errNotFound := errors.New("not found")
		classify := func(err error) breaker.Outcome {
			if errors.Is(err, errNotFound) {
				return breaker.Ignored
			}
			return breaker.DefaultClassify(err)
		}
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, Classify: classify})
		calls(t, b, 10, errNotFound)
		if m := b.Metrics(); b.State() != breaker.Closed || m.Ignored != 10 {
			t.Fatalf("state %v, %+v", b.State(), m)
		}
		calls(t, b, 1, context.Canceled)
		calls(t, b, 1, errBoom)
		if b.State() != breaker.Open {
			t.Fatal("the default classification did not trip")
		}
	})
	t.Run("every call lands in exactly one total", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 4, OpenTimeout: time.Second})
			old := allow(t, b)
			calls(t, b, 3, nil)
			calls(t, b, 2, context.Canceled)
			calls(t, b, 4, errBoom)
			old.Done(nil)
			m := b.Metrics()
			if m.Successes != 3 || m.Ignored != 2 || m.Failures != 4 || m.Late != 1 || m.Calls != 10 {
				t.Fatalf("%+v; want 3 successes, 2 ignored, 4 failures, 1 late, 10 calls", m)
			}
			if m.Calls != m.Successes+m.Failures+m.Ignored+m.Late {
				t.Fatalf("totals do not add up: %+v", m)
			}
		})
	})
}

// TestIssue11_RatesCheckedOnEveryOutcome: a success can complete the
// minimum and trip a rate rule.
func TestIssue11_RatesCheckedOnEveryOutcome(t *testing.T) {
	for _, kind := range []breaker.WindowKind{breaker.CountWindow, breaker.TimeWindow} {
		cfg := breaker.Config{FailureRate: 0.5, MinimumCalls: 5, WindowSize: 5, Window: kind}
		t.Run(kind.String()+" window/F F F S S trips at the fifth call", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustNew(t, cfg)
				calls(t, b, 3, errBoom)
				calls(t, b, 1, nil)
				if b.State() != breaker.Closed {
					t.Fatal("tripped below the minimum")
				}
				calls(t, b, 1, nil)
				if b.State() != breaker.Open {
					t.Fatalf("state = %v at 3 failures in 5 calls (60%%), want open", b.State())
				}
			})
		})
	}
	t.Run("F F F then successes never stays closed", func(t *testing.T) {
		b := mustNew(t, breaker.Config{FailureRate: 0.5, MinimumCalls: 5, WindowSize: 5})
		calls(t, b, 3, errBoom)
		for i := range 100 {
			if call(b, nil) != nil {
				if i != 2 {
					t.Fatalf("opened at success %d, want at success 2", i+1)
				}
				return
			}
		}
		t.Fatal("100 successes after 3 failures left the breaker closed")
	})
	t.Run("slow-call rate is checked on a fast success too", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{SlowCallRate: 0.5, SlowCallThreshold: time.Second, MinimumCalls: 4, WindowSize: 4})
			for range 2 {
				tk := allow(t, b)
				time.Sleep(2 * time.Second)
				tk.Done(nil)
			}
			calls(t, b, 1, nil)
			if b.State() != breaker.Closed {
				t.Fatal("tripped below the minimum")
			}
			calls(t, b, 1, nil) // 2 slow of 4
			if b.State() != breaker.Open {
				t.Fatalf("state = %v at 2 slow calls of 4", b.State())
			}
		})
	})
	t.Run("a clean full window stays exact", func(t *testing.T) {
		b := mustNew(t, breaker.Config{FailureRate: 0.5, MinimumCalls: 4, WindowSize: 4})
		calls(t, b, 1000, nil)
		calls(t, b, 1, errBoom)
		calls(t, b, 2, nil)
		calls(t, b, 1, errBoom) // [F S S F] = 50%
		if b.State() != breaker.Open {
			t.Fatalf("state = %v, window %+v", b.State(), b.Metrics().Window)
		}
	})
}

// TestIssue11_HalfOpenNeverWedges: a trial that never reports is reclaimed.
func TestIssue11_HalfOpenNeverWedges(t *testing.T) {
	t.Run("a lost trial reopens the breaker after the half-open limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second})
			sub := b.Subscribe(16)
			defer sub.Close()
			calls(t, b, 1, errBoom)
			time.Sleep(10 * time.Second)
			synctest.Wait()
			lost := allow(t, b) // its Done never comes
			time.Sleep(10*time.Second - time.Nanosecond)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v before the half-open limit", b.State())
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if b.State() != breaker.Open {
				t.Fatalf("state = %v after the half-open limit with a trial lost, want open", b.State())
			}
			var last breaker.Event
			for len(sub.C) > 0 {
				last = <-sub.C
			}
			if last.Reason != breaker.ReasonHalfOpenTimeout || !last.Reason.Tripped() {
				t.Fatalf("last event %+v, want reason half_open_timeout", last)
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			calls(t, b, 1, nil) // a new trial is admitted and closes it
			if b.State() != breaker.Closed {
				t.Fatalf("state = %v, want closed by a new trial", b.State())
			}
			lost.Done(nil)
			if m := b.Metrics(); m.Late != 1 {
				t.Fatalf("Late = %d, want 1", m.Late)
			}
		})
	})
	t.Run("with no trial out the breaker stays half-open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second, HalfOpenTimeout: 5 * time.Second})
			calls(t, b, 1, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			time.Sleep(time.Hour)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v after an idle hour half-open", b.State())
			}
			tk := allow(t, b)
			time.Sleep(4 * time.Second)
			tk.Done(nil)
			if b.State() != breaker.Closed {
				t.Fatalf("state = %v, want closed", b.State())
			}
		})
	})
	t.Run("slow trials reopen a slow-call breaker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{SlowCallRate: 0.5, SlowCallThreshold: time.Second, MinimumCalls: 2, WindowSize: 2,
				OpenTimeout: 10 * time.Second, HalfOpenMaxCalls: 4})
			slowCall := func() error {
				tk, err := b.Allow()
				if err != nil {
					return err
				}
				time.Sleep(2 * time.Second)
				tk.Done(nil)
				return nil
			}
			_ = slowCall()
			_ = slowCall()
			if b.State() != breaker.Open {
				t.Fatalf("state = %v after 2 slow calls", b.State())
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			for i := range 4 {
				if err := slowCall(); err != nil {
					if i == 0 {
						t.Fatalf("first trial rejected: %v", err)
					}
					break
				}
			}
			if b.State() == breaker.Closed {
				t.Fatal("slow trials closed a breaker that tripped on slowness")
			}
		})
	})
	t.Run("without the slow-call rule a slow trial is a success", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, SlowCallThreshold: 100 * time.Millisecond, OpenTimeout: time.Second})
			calls(t, b, 1, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			tk := allow(t, b)
			time.Sleep(200 * time.Millisecond)
			tk.Done(nil)
			if m := b.Metrics(); b.State() != breaker.Closed || m.SlowCalls != 1 {
				t.Fatalf("state %v, %+v", b.State(), m)
			}
		})
	})
}

// TestIssue11_Defaults: a rate rule replaces the default consecutive rule,
// and Rules says what is in force.
func TestIssue11_Defaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  breaker.Config
		want []string
	}{
		{"zero value", breaker.Config{}, []string{"5 consecutive failures"}},
		{"rate rule only", breaker.Config{FailureRate: 0.5}, []string{"failure rate ≥ 50% of the last 100 calls (at least 10 calls)"}},
		{"both", breaker.Config{FailureRate: 0.25, ConsecutiveFailures: 3, Window: breaker.TimeWindow, WindowDuration: time.Minute, MinimumCalls: 20},
			[]string{"3 consecutive failures", "failure rate ≥ 25% of the last 1m0s (at least 20 calls)"}},
		{"slow calls", breaker.Config{SlowCallRate: 0.125, SlowCallThreshold: 250 * time.Millisecond, WindowSize: 50},
			[]string{"slow-call rate ≥ 12.5% (slower than 250ms) of the last 50 calls (at least 10 calls)"}},
		{"none", breaker.Config{ConsecutiveFailures: -1}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Rules(); !slices.Equal(got, tt.want) {
				t.Fatalf("Rules() = %q, want %q", got, tt.want)
			}
			b := mustNew(t, tt.cfg)
			if got := b.Rules(); !slices.Equal(got, tt.want) {
				t.Fatalf("Breaker.Rules() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a rate-only breaker does not trip on a run of failures", func(t *testing.T) {
		b := mustNew(t, breaker.Config{FailureRate: 0.5, MinimumCalls: 20, WindowSize: 20})
		calls(t, b, 19, errBoom)
		if b.State() != breaker.Closed {
			t.Fatal("tripped on consecutive failures below the minimum calls")
		}
		calls(t, b, 1, errBoom)
		if b.State() != breaker.Open {
			t.Fatal("did not trip at the minimum")
		}
	})
}

// TestIssue11_Context: the context forms of Execute and Do.
func TestIssue11_Context(t *testing.T) {
	t.Run("a done ctx is neither admitted nor counted", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ran := false
		err := b.ExecuteContext(ctx, func(context.Context) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) || ran {
			t.Fatalf("err %v, ran %v", err, ran)
		}
		if m := b.Metrics(); m.Calls != 0 || m.Rejections != 0 {
			t.Fatalf("%+v: a call that was not made was counted", m)
		}
	})
	t.Run("the caller's cancellation is ignored", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
		ctx, cancel := context.WithCancel(t.Context())
		errWrapped := errors.New("read: connection reset") // not context.Canceled itself
		err := b.ExecuteContext(ctx, func(ctx context.Context) error { cancel(); return errWrapped })
		if err != errWrapped {
			t.Fatalf("err = %v", err)
		}
		if m := b.Metrics(); b.State() != breaker.Closed || m.Ignored != 1 || m.Failures != 0 {
			t.Fatalf("state %v, %+v", b.State(), m)
		}
	})
	t.Run("a deadline the dependency blew is a failure", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			classify := errors.New("wrapped")
			err := b.ExecuteContext(ctx, func(ctx context.Context) error {
				<-ctx.Done()
				return errors.Join(classify, context.Canceled) // even an error that reads as cancelled
			})
			if !errors.Is(err, classify) {
				t.Fatalf("err = %v", err)
			}
			if m := b.Metrics(); b.State() != breaker.Open || m.Failures != 1 {
				t.Fatalf("state %v, %+v", b.State(), m)
			}
		})
	})
	t.Run("a live ctx uses the classifier", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 2})
		_ = b.ExecuteContext(t.Context(), func(context.Context) error { return context.Canceled })
		_ = b.ExecuteContext(t.Context(), func(context.Context) error { return errBoom })
		if m := b.Metrics(); m.Ignored != 1 || m.Failures != 1 || b.State() != breaker.Closed {
			t.Fatalf("state %v, %+v", b.State(), m)
		}
	})
	t.Run("DoContext returns the value and the ctx reaches fn", func(t *testing.T) {
		type key struct{}
		b := mustNew(t, breaker.Config{})
		ctx := context.WithValue(t.Context(), key{}, 41)
		v, err := breaker.DoContext(ctx, b, func(ctx context.Context) (int, error) { return ctx.Value(key{}).(int) + 1, nil })
		if v != 42 || err != nil {
			t.Fatalf("DoContext = %v, %v", v, err)
		}
		b.ForceOpen()
		v, err = breaker.DoContext(ctx, b, func(context.Context) (int, error) { return 1, nil })
		if v != 0 || !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("DoContext on open = %v, %v", v, err)
		}
	})
	t.Run("a panic is a failure and is re-raised", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic swallowed")
				}
			}()
			_ = b.ExecuteContext(t.Context(), func(context.Context) error { panic("x") })
		}()
		if b.State() != breaker.Open {
			t.Fatal("a panic did not count as a failure")
		}
	})
}

// TestIssue11_MetricsNow: what the rules see, beside the lifetime totals.
func TestIssue11_MetricsNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 3, FailureRate: 0.9, MinimumCalls: 4, WindowSize: 4,
			OpenTimeout: 10 * time.Second, OpenTimeoutMultiplier: 2, HalfOpenMaxCalls: 2})
		calls(t, b, 2, nil)
		calls(t, b, 2, errBoom)
		m := b.Metrics()
		if m.ConsecutiveFailures != 2 || m.Window != (breaker.WindowMetrics{Calls: 4, Failures: 2, FailureRate: 0.5}) {
			t.Fatalf("closed: %+v", m)
		}
		if !m.HalfOpenAt.IsZero() || m.OpenTimeout != 0 {
			t.Fatalf("closed breaker reports an open timeout: %+v", m)
		}
		calls(t, b, 1, errBoom)
		start := time.Now()
		m = b.Metrics()
		if m.State != breaker.Open || m.OpenTimeout.D() != 10*time.Second || !m.HalfOpenAt.Equal(start.Add(10*time.Second)) {
			t.Fatalf("open: %+v", m)
		}
		if m.Window != (breaker.WindowMetrics{}) || m.ConsecutiveFailures != 0 {
			t.Fatalf("an open breaker reports the closed generation's counts: %+v", m)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		tk := allow(t, b)
		if m = b.Metrics(); m.TrialCalls != 1 || m.TrialSuccesses != 0 {
			t.Fatalf("half-open: %+v", m)
		}
		tk.Done(errBoom) // the second trip lasts twice as long
		if m = b.Metrics(); m.OpenTimeout.D() != 20*time.Second || !m.HalfOpenAt.Equal(time.Now().Add(20*time.Second)) {
			t.Fatalf("after a failed probe: %+v", m)
		}
	})
}

// TestRegistry_RegisterNil: a nil breaker is refused, not stored.
func TestRegistry_RegisterNil(t *testing.T) {
	r := newRegistry(t)
	var b *breaker.Breaker
	if err := r.Register("x", b); !isValidation(err) {
		t.Fatalf("Register(nil) = %v, want a *ValidationError", err)
	}
	if r.Len() != 0 {
		t.Fatal("a nil breaker was stored")
	}
}

func isValidation(err error) bool {
	var ve *breaker.ValidationError
	return errors.As(err, &ve) && ve.Field == "breaker"
}

// TestIssue11_ConcurrentTransitionsAddUp runs calls against a breaker that
// an operator keeps forcing open and releasing: every Done lands in exactly
// one total, however it races the transitions.
func TestIssue11_ConcurrentTransitionsAddUp(t *testing.T) {
	b := mustNew(t, breaker.Config{ConsecutiveFailures: 3, FailureRate: 0.5, MinimumCalls: 5, WindowSize: 20, OpenTimeout: time.Millisecond})
	const workers, perWorker = 4, 3000
	var admitted [workers]uint64
	stop := make(chan struct{})
	operator := make(chan struct{})
	go func() {
		defer close(operator)
		for {
			select {
			case <-stop:
				return
			default:
				b.ForceOpen()
				b.Release()
			}
		}
	}()
	errs := []error{nil, errBoom, context.Canceled}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				tk, err := b.Allow()
				if err != nil {
					continue
				}
				admitted[w]++
				tk.Done(errs[(i+w)%len(errs)])
			}
		})
	}
	wg.Wait()
	close(stop)
	<-operator
	var want uint64
	for _, n := range admitted {
		want += n
	}
	m := b.Metrics()
	if m.Calls != want || m.Successes+m.Failures+m.Ignored+m.Late != m.Calls {
		t.Fatalf("%+v; want %d calls in all", m, want)
	}
}

// TestConfig_JSON: a Config has one JSON form, the one config files use.
func TestConfig_JSON(t *testing.T) {
	c := breaker.Config{Name: "x", FailureRate: 0.5, Window: breaker.TimeWindow, WindowDuration: time.Minute,
		OpenTimeout: 1500 * time.Millisecond, Classify: breaker.DefaultClassify}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"consecutive_failures":0,"failure_rate":0.5,"slow_call_rate":0,"slow_call_threshold":"0s","minimum_calls":0,` +
		`"window":"time","window_size":0,"window_duration":"1m0s","buckets":0,"open_timeout":"1.5s","open_timeout_multiplier":0,` +
		`"max_open_timeout":"0s","half_open_max_calls":0,"half_open_successes":0,"half_open_timeout":"0s"}`
	if string(b) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", b, want)
	}
	var back breaker.Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.FailureRate != 0.5 || back.Window != breaker.TimeWindow || back.OpenTimeout != 1500*time.Millisecond {
		t.Fatalf("round trip: %+v", back)
	}
	err = json.Unmarshal([]byte(`{"open_timeout": 30, "windw": "count", "window": "sliding"}`), &back)
	if got := antifragile.InvalidFields(err); !slices.Equal(got, []string{"open_timeout", "windw", "window"}) {
		t.Fatalf("fields %q (err %v)", got, err)
	}
}
