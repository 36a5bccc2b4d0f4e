package breaker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/latency"
)

// bucketOf returns the index of the histogram bucket d falls in.
func bucketOf(d time.Duration) int {
	for i, b := range latency.Bounds() {
		if d <= b {
			return i
		}
	}
	return latency.Buckets
}

func TestBreaker_Latency(t *testing.T) {
	t.Run("an untimed breaker measures nothing", func(t *testing.T) {
		b, _ := breaker.New(breaker.Config{FailureRate: 0.5})
		if b.Timed() {
			t.Error("a count-window breaker without a slow-call threshold says it is timed")
		}
		_ = b.Execute(func() error { return nil })
		if s, ok := b.Latency(); ok || s != (latency.Snapshot{}) {
			t.Errorf("Latency() = %+v, %v; want the zero snapshot and false", s, ok)
		}
	})
	for name, cfg := range map[string]breaker.Config{
		"slow-call threshold": {SlowCallThreshold: time.Second},
		"time window":         {FailureRate: 0.9, Window: breaker.TimeWindow},
	} {
		t.Run("a breaker timed by its "+name+" counts every reported call's duration", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := breaker.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if !b.Timed() {
					t.Fatal("Timed() = false")
				}
				_ = b.Execute(func() error { time.Sleep(30 * time.Millisecond); return nil })
				_ = b.Execute(func() error { time.Sleep(2 * time.Second); return errors.New("boom") })
				ctx, cancel := context.WithCancel(t.Context())
				_ = b.ExecuteContext(ctx, func(context.Context) error {
					time.Sleep(700 * time.Microsecond)
					cancel()
					return context.Canceled
				}) // ignored: the caller gave up, but it took its time
				s, ok := b.Latency()
				if !ok {
					t.Fatal("Latency() reports an untimed breaker")
				}
				want := latency.Snapshot{Sum: 30*time.Millisecond + 2*time.Second + 700*time.Microsecond}
				want.Counts[bucketOf(30*time.Millisecond)]++
				want.Counts[bucketOf(2*time.Second)]++
				want.Counts[bucketOf(700*time.Microsecond)]++
				if s != want {
					t.Errorf("Latency() = %+v\nwant %+v", s, want)
				}
				if m := b.Metrics(); s.Count() != m.Calls {
					t.Errorf("histogram count %d, calls %d", s.Count(), m.Calls)
				}
				b.Reset()
				if s, _ := b.Latency(); s != (latency.Snapshot{}) {
					t.Errorf("after Reset: %+v", s)
				}
			})
		})
	}
	t.Run("trial calls in half-open state count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := breaker.New(breaker.Config{SlowCallThreshold: time.Second, ConsecutiveFailures: 1, OpenTimeout: time.Second})
			_ = b.Execute(func() error { return errors.New("boom") })
			time.Sleep(time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state %v, want half_open", b.State())
			}
			_ = b.Execute(func() error { time.Sleep(4 * time.Millisecond); return nil })
			s, _ := b.Latency()
			if s.Count() != 2 || s.Counts[bucketOf(4*time.Millisecond)] != 1 || s.Sum != 4*time.Millisecond {
				t.Errorf("Latency() = %+v, want the failure (0s) and the 4ms trial", s)
			}
		})
	})
	t.Run("rejected calls do not count", func(t *testing.T) {
		b, _ := breaker.New(breaker.Config{SlowCallThreshold: time.Second})
		b.ForceOpen()
		_ = b.Execute(func() error { return nil })
		if s, _ := b.Latency(); s.Count() != 0 {
			t.Errorf("a rejection counted: %+v", s)
		}
	})
	t.Run("a timed call allocates nothing", func(t *testing.T) {
		b, _ := breaker.New(breaker.Config{SlowCallThreshold: time.Second})
		n := testing.AllocsPerRun(100, func() {
			tk, _ := b.Allow()
			tk.Done(nil)
			_, _ = b.Latency()
		})
		if n != 0 {
			t.Errorf("%v allocations per timed call", n)
		}
	})
}
