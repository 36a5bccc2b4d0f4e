package breaker_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

func TestBreaker_Reconfigure(t *testing.T) {
	t.Run("an invalid config changes nothing and names every field", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 3})
		err := b.Reconfigure(breaker.Config{FailureRate: 2, OpenTimeout: -time.Second, HalfOpenMaxCalls: -1})
		for _, f := range []string{"failure_rate", "open_timeout", "half_open_max_calls"} {
			if !containsField(err, f) {
				t.Errorf("error does not name %s: %v", f, err)
			}
		}
		if c := b.Config(); c.ConsecutiveFailures != 3 || c.FailureRate != 0 {
			t.Fatalf("config changed by a refused reconfigure: %+v", c)
		}
	})
	t.Run("closed: the new rules start from an empty count", func(t *testing.T) {
		b := mustNew(t, breaker.Config{Name: "db", ConsecutiveFailures: 5})
		calls(t, b, 4, errBoom)
		if err := b.Reconfigure(breaker.Config{Name: "ignored", ConsecutiveFailures: 2}); err != nil {
			t.Fatal(err)
		}
		if b.Name() != "db" || b.Config().Name != "db" {
			t.Fatalf("name = %q / %q, want db kept", b.Name(), b.Config().Name)
		}
		if got := b.Metrics(); got.ConsecutiveFailures != 0 || got.Failures != 4 {
			t.Fatalf("after reconfigure: run %d, failures %d; want 0 and the total kept (4)", got.ConsecutiveFailures, got.Failures)
		}
		calls(t, b, 1, errBoom)
		if b.State() != breaker.Closed {
			t.Fatal("a failure counted under the old rules tripped the new ones")
		}
		calls(t, b, 1, errBoom)
		if b.State() != breaker.Open {
			t.Fatalf("state = %v after 2 failures under a threshold of 2", b.State())
		}
		if got := b.Rules(); len(got) != 1 || got[0] != "2 consecutive failures" {
			t.Fatalf("rules = %q", got)
		}
	})
	t.Run("a call admitted before is late, not counted under the new rules", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
		tk := allow(t, b)
		if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Minute}); err != nil {
			t.Fatal(err)
		}
		tk.Done(errBoom)
		if m := b.Metrics(); b.State() != breaker.Closed || m.Late != 1 || m.Failures != 0 {
			t.Fatalf("state %v, late %d, failures %d; want closed, 1, 0", b.State(), m.Late, m.Failures)
		}
	})
	t.Run("no event is published: the state does not change", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		sub := b.Subscribe(4)
		defer sub.Close()
		if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 9}); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-sub.C:
			t.Fatalf("event %+v", ev)
		default:
		}
	})
	t.Run("open stays open and keeps the end of its trip when the timeout grows", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second})
			calls(t, b, 1, errBoom)
			time.Sleep(4 * time.Second)
			if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Minute}); err != nil {
				t.Fatal(err)
			}
			if b.State() != breaker.Open {
				t.Fatalf("state = %v, want open", b.State())
			}
			time.Sleep(6*time.Second - time.Nanosecond)
			synctest.Wait()
			if b.State() != breaker.Open {
				t.Fatal("left open before the trip's end")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v at the trip's end, want half_open", b.State())
			}
			calls(t, b, 1, errBoom) // the next trip follows the new config
			if m := b.Metrics(); m.OpenTimeout.D() != time.Minute {
				t.Fatalf("next trip lasts %s, want 1m", m.OpenTimeout.D())
			}
		})
	})
	t.Run("open ends sooner when the new timeout is shorter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
			calls(t, b, 1, errBoom)
			time.Sleep(10 * time.Second)
			if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 30 * time.Second}); err != nil {
				t.Fatal(err)
			}
			m := b.Metrics()
			if m.OpenTimeout.D() != 30*time.Second || time.Until(m.HalfOpenAt) != 20*time.Second {
				t.Fatalf("open timeout %s, half-open in %s; want 30s and 20s", m.OpenTimeout.D(), time.Until(m.HalfOpenAt))
			}
			time.Sleep(20 * time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v 30 s after the trip, want half_open", b.State())
			}
			// Past its new end already: half-open at once.
			calls(t, b, 1, errBoom)
			time.Sleep(25 * time.Second)
			if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Second}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v, want half_open at once", b.State())
			}
		})
	})
	t.Run("half-open: trials start over under the new counts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second})
			calls(t, b, 1, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			old := allow(t, b) // the one trial of the old config
			if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second,
				HalfOpenMaxCalls: 2, HalfOpenSuccesses: 2}); err != nil {
				t.Fatal(err)
			}
			old.Done(nil) // late: it does not close the breaker
			if b.State() != breaker.HalfOpen || b.Metrics().Late != 1 {
				t.Fatalf("state %v, late %d; want half_open, 1", b.State(), b.Metrics().Late)
			}
			calls(t, b, 1, nil)
			if b.State() != breaker.HalfOpen {
				t.Fatal("closed after 1 of 2 successes")
			}
			calls(t, b, 1, nil)
			if b.State() != breaker.Closed {
				t.Fatalf("state = %v after 2 successes", b.State())
			}
		})
	})
	t.Run("forced open and disabled stay so", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		b.ForceOpen()
		if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 1}); err != nil {
			t.Fatal(err)
		}
		if b.State() != breaker.ForcedOpen {
			t.Fatalf("state = %v", b.State())
		}
		b.Reset()
		b.Disable()
		if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 2}); err != nil {
			t.Fatal(err)
		}
		calls(t, b, 3, errBoom)
		if b.State() != breaker.Disabled {
			t.Fatalf("state = %v", b.State())
		}
	})
	t.Run("untimed to timed and back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{})
			if _, ok := b.Latency(); ok || b.Timed() {
				t.Fatal("an untimed breaker reports latency")
			}
			if err := b.Reconfigure(breaker.Config{SlowCallRate: 0.5, SlowCallThreshold: time.Second, MinimumCalls: 2}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				tk := allow(t, b)
				time.Sleep(2 * time.Second)
				tk.Done(nil)
			}
			if b.State() != breaker.Open {
				t.Fatalf("state = %v after 2 slow calls under a 50%% slow-call rule", b.State())
			}
			if l, ok := b.Latency(); !ok || l.Count() != 2 {
				t.Fatalf("latency = %+v, %v; want 2 calls", l, ok)
			}
			if err := b.Reconfigure(breaker.Config{}); err != nil {
				t.Fatal(err)
			}
			if _, ok := b.Latency(); ok || b.Timed() {
				t.Fatal("untimed again, yet latency is reported")
			}
		})
	})
}

// TestBreaker_ReconfigureRace reconfigures a breaker back and forth while
// calls go through it: under -race, the hot path must read the config in
// force without a data race, and every call lands in exactly one total.
func TestBreaker_ReconfigureRace(t *testing.T) {
	b := mustNew(t, breaker.Config{FailureRate: 0.9, MinimumCalls: 50})
	cfgs := []breaker.Config{
		{FailureRate: 0.9, MinimumCalls: 50},
		{FailureRate: 0.9, Window: breaker.TimeWindow, SlowCallThreshold: time.Hour},
		{ConsecutiveFailures: 1000},
	}
	const workers, perWorker = 4, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.Reconfigure(cfgs[i%len(cfgs)]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var calls sync.WaitGroup
	for w := range workers {
		calls.Go(func() {
			for i := range perWorker {
				var err error
				if (i+w)%7 == 0 {
					err = errBoom
				}
				_ = call(b, err)
				_ = b.Config()
				_ = b.Rules()
			}
		})
	}
	calls.Wait()
	close(stop)
	wg.Wait()
	m := b.Metrics()
	if m.Calls+m.Rejections != workers*perWorker {
		t.Fatalf("calls %d + rejections %d != %d", m.Calls, m.Rejections, workers*perWorker)
	}
	if m.Successes+m.Failures+m.Ignored+m.Late != m.Calls {
		t.Fatalf("totals do not add up: %+v", m)
	}
}

func TestRegistry_Reconfigure(t *testing.T) {
	t.Run("unknown name", func(t *testing.T) {
		r := newRegistry(t)
		if err := r.Reconfigure("nope", breaker.Config{}); !errors.Is(err, breaker.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("an invalid config names its field and changes nothing", func(t *testing.T) {
		r := newRegistry(t)
		b, _ := r.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 3})
		err := r.Reconfigure("db", breaker.Config{MinimumCalls: -1})
		if !containsField(err, "minimum_calls") {
			t.Fatalf("err = %v", err)
		}
		if b.Config().ConsecutiveFailures != 3 {
			t.Fatal("config changed")
		}
	})
	t.Run("SetDefault reconfigures the breakers that follow the default, not the others", func(t *testing.T) {
		r := newRegistry(t)
		agent, _ := r.GetOrCreate("agent", breaker.Config{})
		own, _ := r.GetOrCreate("own", breaker.Config{ConsecutiveFailures: 3})
		if !r.Follows("agent") || r.Follows("own") {
			t.Fatalf("follows: agent %v, own %v", r.Follows("agent"), r.Follows("own"))
		}
		if err := r.SetDefault(breaker.Config{ConsecutiveFailures: 7}); err != nil {
			t.Fatal(err)
		}
		if agent.Config().ConsecutiveFailures != 7 || own.Config().ConsecutiveFailures != 3 {
			t.Fatalf("agent %d, own %d; want 7 and 3", agent.Config().ConsecutiveFailures, own.Config().ConsecutiveFailures)
		}
		later, _ := r.GetOrCreate("later", breaker.Config{})
		if later.Config().ConsecutiveFailures != 7 || r.Default().ConsecutiveFailures != 7 {
			t.Fatal("a breaker created later does not use the new default")
		}
		// own follows the default once reconfigured with the zero Config.
		if err := r.Reconfigure("own", breaker.Config{}); err != nil {
			t.Fatal(err)
		}
		if !r.Follows("own") || own.Config().ConsecutiveFailures != 7 {
			t.Fatal("own does not follow the default")
		}
		if err := r.Reconfigure("agent", breaker.Config{ConsecutiveFailures: 2}); err != nil {
			t.Fatal(err)
		}
		if err := r.SetDefault(breaker.Config{ConsecutiveFailures: 9}); err != nil {
			t.Fatal(err)
		}
		if agent.Config().ConsecutiveFailures != 2 || own.Config().ConsecutiveFailures != 9 {
			t.Fatalf("agent %d, own %d; want 2 and 9", agent.Config().ConsecutiveFailures, own.Config().ConsecutiveFailures)
		}
	})
	t.Run("an invalid default changes nothing", func(t *testing.T) {
		r := newRegistry(t)
		b, _ := r.GetOrCreate("agent", breaker.Config{})
		if err := r.SetDefault(breaker.Config{WindowSize: -1}); !containsField(err, "window_size") {
			t.Fatalf("err = %v", err)
		}
		if b.Config().WindowSize != breaker.DefaultWindowSize || r.Default().WindowSize != 0 {
			t.Fatal("changed by a refused default")
		}
	})
	t.Run("a breaker created while the default changes ends up on the new one", func(t *testing.T) {
		r := newRegistry(t)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := r.SetDefault(breaker.Config{ConsecutiveFailures: 4}); err != nil {
				t.Error(err)
			}
		})
		names := []string{"a", "b", "c", "d", "e", "f"}
		for _, n := range names {
			wg.Go(func() {
				if _, err := r.GetOrCreate(n, breaker.Config{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, n := range names {
			if b, _ := r.Get(n); b.Config().ConsecutiveFailures != 4 {
				t.Errorf("%s: consecutive_failures = %d, want 4", n, b.Config().ConsecutiveFailures)
			}
		}
	})
}
