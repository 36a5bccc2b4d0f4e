package recovery_test

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

// newBreaker returns a registry with breaker "db" that trips on the first
// failure and half-opens after openTimeout.
func newBreaker(t *testing.T, openTimeout time.Duration) (*breaker.Registry, *breaker.Breaker) {
	t.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 1, OpenTimeout: openTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return reg, b
}

// outcome makes one call through b that ends with err.
func outcome(t *testing.T, b *breaker.Breaker, err error) {
	t.Helper()
	tk, aerr := b.Allow()
	if aerr != nil {
		t.Fatalf("Allow: %v", aerr)
	}
	tk.Done(err)
}

func TestOrchestrator_Watch(t *testing.T) {
	t.Run("a breaker that opens by itself is recovered and closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Hour)
			var rec recorder
			o := mustNew(t, recovery.Config{Watch: true, DefaultPolicy: recovery.Policy{HealthCheck: rec.check("db")}}, reg)
			sub := o.Subscribe(100)
			defer sub.Close()
			stop := start(t, o)
			defer stop()
			synctest.Wait()

			tripped := time.Now()
			outcome(t, b, errDown)
			if b.State() != breaker.Open {
				t.Fatalf("breaker %v, want open", b.State())
			}
			synctest.Wait()
			task, ok := o.Task("db")
			if !ok || task.State != recovery.Scheduled || !task.NextAttemptAt.Equal(tripped.Add(time.Second)) {
				t.Fatalf("task = %+v, %v; want scheduled 1s after the trip", task, ok)
			}
			time.Sleep(time.Minute)
			if b.State() != breaker.Closed {
				t.Errorf("breaker %v after recovery, want closed", b.State())
			}
			if got := rec.gaps(tripped); !slices.Equal(got, []time.Duration{time.Second}) {
				t.Errorf("attempts at %v, want [1s]", got)
			}
			want := []string{"db:scheduled", "db:in_progress", "db:succeeded"}
			if got := states(drain(sub)); !slices.Equal(got, want) {
				t.Errorf("events = %v, want %v", got, want)
			}
			if st := o.Status(); st.ActiveCount != 0 || st.DroppedBreakerEvents != 0 {
				t.Errorf("status = %+v", st)
			}
		})
	})
	t.Run("a forced-open breaker is left alone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Hour)
			var rec recorder
			o := mustNew(t, recovery.Config{Watch: true, DefaultPolicy: recovery.Policy{HealthCheck: rec.check("db")}}, reg)
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			b.ForceOpen()
			time.Sleep(time.Hour)
			if o.Status().ActiveCount != 0 || rec.count() != 0 {
				t.Errorf("a forced-open breaker was recovered: %+v", o.Status())
			}
			if b.State() != breaker.ForcedOpen {
				t.Errorf("breaker %v, want forced_open", b.State())
			}
		})
	})
	t.Run("a recovery scheduled by hand does not close a forced-open breaker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Hour)
			o := mustNew(t, recovery.Config{}, reg)
			b.ForceOpen()
			_ = o.Schedule("db", recovery.Immediate, 0, nil)
			res, err := o.Execute(t.Context(), "db")
			if err != nil || !res.Success {
				t.Fatalf("Execute = %+v, %v", res, err)
			}
			if b.State() != breaker.ForcedOpen {
				t.Errorf("breaker %v, want forced_open", b.State())
			}
		})
	})
	t.Run("a breaker that closes by itself ends the task as succeeded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, 2*time.Second)
			var rec recorder
			o := mustNew(t, recovery.Config{Watch: true, DefaultPolicy: recovery.Policy{InitialDelay: 10 * time.Second, HealthCheck: rec.check("db")}}, reg)
			sub := o.Subscribe(100)
			defer sub.Close()
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			outcome(t, b, errDown)
			time.Sleep(2 * time.Second)
			synctest.Wait() // the breaker's own timer runs at the same instant
			if b.State() != breaker.HalfOpen {
				t.Fatalf("breaker %v, want half_open", b.State())
			}
			outcome(t, b, nil) // the probe succeeds
			synctest.Wait()
			if _, ok := o.Task("db"); ok {
				t.Error("task still tracked after the breaker closed by itself")
			}
			evs := drain(sub)
			if got := states(evs); !slices.Equal(got, []string{"db:scheduled", "db:succeeded"}) {
				t.Errorf("events = %v", got)
			} else if evs[1].Detail != "breaker closed by itself" {
				t.Errorf("detail = %q", evs[1].Detail)
			}
			time.Sleep(time.Minute)
			if rec.count() != 0 {
				t.Errorf("%d attempts, want none", rec.count())
			}
		})
	})
	t.Run("the service policy gives strategy and priority", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Hour)
			var rec recorder
			o := mustNew(t, recovery.Config{Watch: true}, reg)
			if err := o.SetPolicy("db", recovery.Policy{Strategy: recovery.Manual, Priority: 3, HealthCheck: rec.check("db", errDown)}); err != nil {
				t.Fatal(err)
			}
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			outcome(t, b, errDown)
			time.Sleep(time.Minute)
			task, ok := o.Task("db")
			if !ok || task.Strategy != recovery.Manual || task.Priority != 3 || task.State != recovery.AwaitingManual {
				t.Errorf("task = %+v, %v", task, ok)
			}
		})
	})
	t.Run("a breaker already open when Run starts is recovered", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Hour)
			o := mustNew(t, recovery.Config{Watch: true}, reg)
			outcome(t, b, errDown)
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			if b.State() != breaker.Closed {
				t.Errorf("breaker %v, want closed", b.State())
			}
		})
	})
	t.Run("a failed probe does not queue a second task", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Second)
			var rec recorder
			o := mustNew(t, recovery.Config{Watch: true, DefaultPolicy: recovery.Policy{InitialDelay: 10 * time.Second, HealthCheck: rec.check("db")}}, reg)
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			tripped := time.Now()
			outcome(t, b, errDown)
			time.Sleep(time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("breaker %v, want half_open", b.State())
			}
			outcome(t, b, errDown) // probe fails: open again by itself
			synctest.Wait()
			if st := o.Status(); st.ActiveCount != 1 || st.QueuedCount != 1 {
				t.Errorf("status = %+v, want one task", st)
			}
			time.Sleep(time.Minute)
			if got := rec.gaps(tripped); !slices.Equal(got, []time.Duration{10 * time.Second}) {
				t.Errorf("attempts at %v, want one at 10s", got)
			}
			if b.State() != breaker.Closed {
				t.Errorf("breaker %v, want closed", b.State())
			}
		})
	})
	t.Run("without Watch breaker events are ignored", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, b := newBreaker(t, time.Hour)
			o := mustNew(t, recovery.Config{}, reg)
			stop := start(t, o)
			defer stop()
			outcome(t, b, errDown)
			time.Sleep(time.Minute)
			if o.Status().ActiveCount != 0 {
				t.Error("a recovery was scheduled without Watch")
			}
		})
	})
}
