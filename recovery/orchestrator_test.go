package recovery_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/recovery"
)

const s = time.Second

func TestOrchestrator_Run_delays(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		strategy recovery.Strategy
		policy   recovery.Policy
		want     []time.Duration // schedule → attempt 1, then between attempts
	}{
		{"exponential doubles from 1s", recovery.ExponentialBackoff, recovery.Policy{}, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s}},
		{"exponential respects the cap", recovery.ExponentialBackoff, recovery.Policy{MaxDelay: 5 * s, MaxRetryAttempts: 6}, []time.Duration{s, 2 * s, 4 * s, 5 * s, 5 * s, 5 * s}},
		{"exponential with multiplier 3", recovery.ExponentialBackoff, recovery.Policy{InitialDelay: 100 * ms, BackoffMultiplier: 3}, []time.Duration{100 * ms, 300 * ms, 900 * ms, 2700 * ms, 8100 * ms}},
		{"linear grows by the initial delay", recovery.LinearBackoff, recovery.Policy{}, []time.Duration{s, 2 * s, 3 * s, 4 * s, 5 * s}},
		{"linear respects the cap", recovery.LinearBackoff, recovery.Policy{InitialDelay: 2 * s, MaxDelay: 5 * s}, []time.Duration{2 * s, 4 * s, 5 * s, 5 * s, 5 * s}},
		{"immediate never waits", recovery.Immediate, recovery.Policy{MaxRetryAttempts: 3}, []time.Duration{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec recorder
				o := mustNew(t, recovery.Config{}, nil)
				p := tt.policy
				p.HealthCheck = rec.check("db", errDown)
				origin := time.Now()
				if err := o.Schedule("db", tt.strategy, 0, &p); err != nil {
					t.Fatal(err)
				}
				stop := start(t, o)
				defer stop()
				time.Sleep(time.Hour)
				if got := rec.gaps(origin); !slices.Equal(got, tt.want) {
					t.Errorf("delays = %v, want %v", got, tt.want)
				}
			})
		})
	}
	t.Run("manual attempts once at once and never retries by itself", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			origin := time.Now()
			if err := o.Schedule("db", recovery.Manual, 0, &recovery.Policy{HealthCheck: rec.check("db", errDown)}); err != nil {
				t.Fatal(err)
			}
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Hour)
			if got := rec.gaps(origin); !slices.Equal(got, []time.Duration{0}) {
				t.Errorf("delays = %v, want [0s]", got)
			}
		})
	})
	t.Run("jitter spreads within the fraction and is reproducible", func(t *testing.T) {
		delays := func(seed uint64) []time.Duration {
			var got []time.Duration
			synctest.Test(t, func(t *testing.T) {
				var rec recorder
				o := mustNew(t, recovery.Config{Seed: seed}, nil)
				origin := time.Now()
				p := recovery.Policy{Jitter: 0.5, HealthCheck: rec.check("db", errDown)}
				if err := o.Schedule("db", recovery.LinearBackoff, 0, &p); err != nil {
					t.Fatal(err)
				}
				stop := start(t, o)
				defer stop()
				time.Sleep(time.Hour)
				got = rec.gaps(origin)
			})
			return got
		}
		a, b := delays(42), delays(42)
		if !slices.Equal(a, b) {
			t.Errorf("same seed, different delays: %v vs %v", a, b)
		}
		if len(a) != 5 {
			t.Fatalf("%d attempts, want 5", len(a))
		}
		exact := 0
		for i, d := range a {
			base := time.Duration(i+1) * s
			if d < base/2 || d > base*3/2 {
				t.Errorf("attempt %d delay %v outside [%v, %v]", i+1, d, base/2, base*3/2)
			}
			if d == base {
				exact++
			}
		}
		if exact == len(a) {
			t.Errorf("jitter changed nothing: %v", a)
		}
	})
}

func TestOrchestrator_Run_retriesExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		o := mustNew(t, recovery.Config{}, nil)
		sub := o.Subscribe(100)
		defer sub.Close()
		p := recovery.Policy{MaxRetryAttempts: 3, HealthCheck: rec.check("db", errDown)}
		if err := o.Schedule("db", recovery.Immediate, 0, &p); err != nil {
			t.Fatal(err)
		}
		stop := start(t, o)
		defer stop()
		time.Sleep(time.Minute)

		if n := rec.count(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		if _, ok := o.Task("db"); ok {
			t.Error("failed task is still tracked")
		}
		st := o.Status()
		if st.ActiveCount != 0 || st.QueuedCount != 0 || len(st.Services) != 0 {
			t.Errorf("status = %+v, want nothing active", st)
		}
		h := o.History()
		var got []string
		for _, r := range h {
			got = append(got, r.State.String())
			if r.Success || r.Error != "health check: db down" || r.TotalAttempts != 3 {
				t.Errorf("result %+v", r)
			}
		}
		if want := []string{"scheduled", "scheduled", "failed"}; !slices.Equal(got, want) {
			t.Errorf("result states = %v, want %v", got, want)
		}
		if h[2].AttemptNumber != 3 {
			t.Errorf("last attempt number = %d", h[2].AttemptNumber)
		}
		want := []string{"db:scheduled", "db:in_progress", "db:scheduled", "db:in_progress", "db:scheduled", "db:in_progress", "db:failed"}
		evs := drain(sub)
		if got := states(evs); !slices.Equal(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
		if last := evs[len(evs)-1]; last.Detail != "health check: db down" || last.Attempt != 3 {
			t.Errorf("failed event = %+v", last)
		}
	})
}

func TestOrchestrator_Run_success(t *testing.T) {
	t.Run("a passing health check ends the task", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			p := recovery.Policy{HealthCheck: rec.check("db", errDown, nil)}
			if err := o.Schedule("db", recovery.ExponentialBackoff, 0, &p); err != nil {
				t.Fatal(err)
			}
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			h := o.History()
			if len(h) != 2 || !h[1].Success || h[1].State != recovery.Succeeded || !h[1].HealthCheckPassed || h[1].Error != "" {
				t.Fatalf("history = %+v", h)
			}
			if h[1].Timestamp.Location() != time.UTC || h[1].ConstitutionalHash != antifragile.ConstitutionalHash {
				t.Errorf("result stamp = %v %q", h[1].Timestamp, h[1].ConstitutionalHash)
			}
			if _, ok := o.Task("db"); ok {
				t.Error("succeeded task is still tracked")
			}
		})
	})
	t.Run("no health check succeeds without one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			if err := o.Schedule("db", recovery.Immediate, 0, nil); err != nil {
				t.Fatal(err)
			}
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			h := o.History()
			if len(h) != 1 || !h[0].Success || h[0].HealthCheckPassed {
				t.Fatalf("history = %+v", h)
			}
		})
	})
	t.Run("the action runs before the health check", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls []string
			p := recovery.Policy{
				Action:      func(context.Context) error { calls = append(calls, "action"); return nil },
				HealthCheck: func(context.Context) error { calls = append(calls, "check"); return nil },
			}
			o := mustNew(t, recovery.Config{}, nil)
			if err := o.Schedule("db", recovery.Immediate, 0, &p); err != nil {
				t.Fatal(err)
			}
			res, err := o.Execute(t.Context(), "db")
			if err != nil || !res.Success {
				t.Fatalf("Execute = %+v, %v", res, err)
			}
			if !slices.Equal(calls, []string{"action", "check"}) {
				t.Errorf("calls = %v", calls)
			}
		})
	})
}

func TestOrchestrator_Run_attemptErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy recovery.Policy
		want   string
		passed bool
	}{
		{"health check error", recovery.Policy{HealthCheck: func(context.Context) error { return errDown }}, "health check: db down", false},
		{"health check panic", recovery.Policy{HealthCheck: func(context.Context) error { panic("boom") }}, "health check panicked: boom", false},
		{"action error skips the check", recovery.Policy{
			Action:      func(context.Context) error { return errors.New("restart refused") },
			HealthCheck: func(context.Context) error { panic("must not run") },
		}, "action: restart refused", false},
		{"action panic", recovery.Policy{Action: func(context.Context) error { panic(errDown) }}, "action panicked: db down", false},
		{"health check honouring its timeout", recovery.Policy{HealthCheckTimeout: 3 * s, HealthCheck: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}, "health check timed out after 3s", false},
		{"slow action cut off", recovery.Policy{ActionTimeout: 2 * s, Action: func(ctx context.Context) error {
			select {
			case <-time.After(time.Minute):
			case <-ctx.Done():
			}
			return ctx.Err()
		}}, "action timed out after 2s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := mustNew(t, recovery.Config{}, nil)
				p := tt.policy
				p.MaxRetryAttempts = 1
				if err := o.Schedule("db", recovery.Immediate, 0, &p); err != nil {
					t.Fatal(err)
				}
				stop := start(t, o)
				defer stop()
				time.Sleep(time.Minute)
				h := o.History()
				if len(h) != 1 {
					t.Fatalf("history = %+v", h)
				}
				if h[0].Error != tt.want || h[0].Success || h[0].HealthCheckPassed != tt.passed || h[0].State != recovery.Failed {
					t.Errorf("result = %+v, want error %q", h[0], tt.want)
				}
			})
		})
	}
}

func TestOrchestrator_Run_hangingHealthCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		p := recovery.Policy{
			MaxRetryAttempts:   2,
			HealthCheckTimeout: 2 * s,
			HealthCheck: func(context.Context) error { // ignores its context
				calls.Add(1)
				<-release
				return nil
			},
		}
		o := mustNew(t, recovery.Config{}, nil)
		if err := o.Schedule("db", recovery.Immediate, 0, &p); err != nil {
			t.Fatal(err)
		}
		stop := start(t, o)
		defer stop()
		defer close(release) // lets the abandoned checks return
		time.Sleep(2*s + recovery.AbandonGrace - time.Nanosecond)
		synctest.Wait()
		if len(o.History()) != 0 {
			t.Fatal("attempt ended before its timeout and grace")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		h := o.History()
		if len(h) != 1 || h[0].Error != "health check timed out after 2s" || h[0].Elapsed.D() != 2*s+recovery.AbandonGrace {
			t.Fatalf("history = %+v", h)
		}
		if h[0].State != recovery.Scheduled {
			t.Errorf("state after a timed-out attempt = %v, want scheduled", h[0].State)
		}
		time.Sleep(time.Minute)
		if n := calls.Load(); n != 2 {
			t.Errorf("%d checks ran, want 2 (the hung one did not block the retry)", n)
		}
		if h := o.History(); len(h) != 2 || h[1].State != recovery.Failed {
			t.Errorf("history = %+v", h)
		}
	})
}

func TestOrchestrator_Manual(t *testing.T) {
	setup := func(t *testing.T, rec *recorder, outcomes ...error) (*recovery.Orchestrator, func()) {
		o := mustNew(t, recovery.Config{}, nil)
		p := recovery.Policy{MaxRetryAttempts: 1, HealthCheck: rec.check("db", outcomes...)}
		if err := o.Schedule("db", recovery.Manual, 0, &p); err != nil {
			t.Fatal(err)
		}
		stop := start(t, o)
		time.Sleep(time.Hour)
		task, ok := o.Task("db")
		if !ok || task.State != recovery.AwaitingManual || task.AttemptCount != 1 || task.LastError != "health check: db down" {
			t.Fatalf("task = %+v, %v; want awaiting_manual after 1 attempt", task, ok)
		}
		if !task.NextAttemptAt.IsZero() {
			t.Errorf("awaiting task has a next attempt at %v", task.NextAttemptAt)
		}
		if rec.count() != 1 {
			t.Fatalf("%d attempts while awaiting an operator, want 1", rec.count())
		}
		return o, stop
	}
	t.Run("resume tries again now", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o, stop := setup(t, &rec, errDown, nil)
			defer stop()
			resumed := time.Now()
			if err := o.Resume("db"); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if g := rec.gaps(resumed); len(g) != 2 || g[1] != time.Hour {
				t.Fatalf("gaps = %v after resume, want a second attempt at once", g)
			}
			if _, ok := o.Task("db"); ok {
				t.Error("recovered task still tracked")
			}
		})
	})
	t.Run("a failed resumed attempt waits again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o, stop := setup(t, &rec, errDown)
			defer stop()
			if err := o.Resume("db"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Hour)
			if task, _ := o.Task("db"); task.State != recovery.AwaitingManual || rec.count() != 2 {
				t.Errorf("task = %+v after %d attempts", task, rec.count())
			}
		})
	})
	t.Run("resolve marks it idle and removes it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o, stop := setup(t, &rec, errDown)
			defer stop()
			sub := o.Subscribe(10)
			defer sub.Close()
			if err := o.Resolve("db"); err != nil {
				t.Fatal(err)
			}
			if _, ok := o.Task("db"); ok {
				t.Error("resolved task still tracked")
			}
			if evs := drain(sub); len(evs) != 1 || evs[0].State != recovery.Idle {
				t.Errorf("events = %+v, want one idle", evs)
			}
			time.Sleep(time.Hour)
			if rec.count() != 1 {
				t.Errorf("resolved service was attempted again")
			}
		})
	})
	t.Run("resume and resolve need a task awaiting an operator", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			if err := o.Resume("nope"); !errors.Is(err, recovery.ErrNotFound) {
				t.Errorf("Resume(unknown) = %v", err)
			}
			if err := o.Schedule("db", recovery.ExponentialBackoff, 0, nil); err != nil {
				t.Fatal(err)
			}
			err := o.Resume("db")
			var se *recovery.StateError
			if !errors.Is(err, recovery.ErrNotAwaitingManual) || !errors.As(err, &se) || se.State != recovery.Scheduled {
				t.Errorf("Resume(scheduled) = %v", err)
			}
			if want := `recovery: cannot resume "db": it is scheduled, not awaiting_manual`; err.Error() != want {
				t.Errorf("message = %q, want %q", err, want)
			}
			if err := o.Resolve("db"); !errors.Is(err, recovery.ErrNotAwaitingManual) {
				t.Errorf("Resolve(scheduled) = %v", err)
			}
		})
	})
}

func TestOrchestrator_Cancel(t *testing.T) {
	t.Run("during a backoff wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			sub := o.Subscribe(100)
			defer sub.Close()
			p := recovery.Policy{HealthCheck: rec.check("db", errDown)}
			if err := o.Schedule("db", recovery.ExponentialBackoff, 0, &p); err != nil {
				t.Fatal(err)
			}
			stop := start(t, o)
			defer stop()
			time.Sleep(2 * s) // attempt 1 at 1s failed; attempt 2 is due at 3s
			if rec.count() != 1 {
				t.Fatalf("%d attempts, want 1", rec.count())
			}
			if !o.Cancel("db") {
				t.Fatal("Cancel = false")
			}
			time.Sleep(time.Hour)
			if rec.count() != 1 {
				t.Errorf("cancelled task ran again: %d attempts", rec.count())
			}
			if _, ok := o.Task("db"); ok || o.Status().QueuedCount != 0 {
				t.Error("cancelled task still tracked")
			}
			evs := drain(sub)
			if last := evs[len(evs)-1]; last.State != recovery.Cancelled {
				t.Errorf("last event %+v, want cancelled", last)
			}
			if o.Cancel("db") {
				t.Error("second Cancel = true")
			}
		})
	})
	t.Run("unknown service", func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		if o.Cancel("nope") {
			t.Error("Cancel(unknown) = true")
		}
	})
	t.Run("before Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			_ = o.Schedule("db", recovery.Immediate, 0, &recovery.Policy{HealthCheck: rec.check("db")})
			if !o.Cancel("db") {
				t.Fatal("Cancel = false")
			}
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			if rec.count() != 0 {
				t.Error("cancelled task ran")
			}
		})
	})
	t.Run("cuts a running attempt short and never retries", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			p := recovery.Policy{HealthCheckTimeout: time.Hour, HealthCheck: func(ctx context.Context) error {
				calls.Add(1)
				<-ctx.Done()
				return ctx.Err()
			}}
			o := mustNew(t, recovery.Config{}, nil)
			_ = o.Schedule("db", recovery.Immediate, 0, &p)
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			if task, _ := o.Task("db"); task.State != recovery.InProgress {
				t.Fatalf("state = %v, want in_progress", task.State)
			}
			if !o.Cancel("db") {
				t.Fatal("Cancel = false")
			}
			synctest.Wait()
			h := o.History()
			if len(h) != 1 || h[0].State != recovery.Cancelled || h[0].Success {
				t.Fatalf("history = %+v", h)
			}
			time.Sleep(time.Minute)
			if calls.Load() != 1 {
				t.Errorf("%d attempts, want 1", calls.Load())
			}
		})
	})
	t.Run("a cancelled attempt is abandoned and the service can be scheduled again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			p := recovery.Policy{MaxRetryAttempts: 1, HealthCheckTimeout: time.Hour, HealthCheck: func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					time.Sleep(10 * s) // ignores cancellation
				}
				return nil
			}}
			o := mustNew(t, recovery.Config{MaxConcurrent: 4}, nil)
			_ = o.Schedule("db", recovery.Immediate, 0, &p)
			stop := start(t, o)
			defer stop()
			time.Sleep(s)
			o.Cancel("db")
			_ = o.Schedule("db", recovery.Immediate, 0, &p)
			synctest.Wait()
			if task, _ := o.Task("db"); task.State != recovery.Scheduled {
				t.Errorf("new task %v while the cancelled attempt winds down, want scheduled", task.State)
			}
			cancelledAt := time.Now()
			time.Sleep(s)
			h := o.History()
			if len(h) != 2 || h[0].State != recovery.Cancelled || h[1].State != recovery.Succeeded {
				t.Fatalf("history = %+v", h)
			}
			// The new attempt started only once the old one was abandoned.
			if want := cancelledAt.Add(recovery.AbandonGrace); !h[0].Timestamp.Equal(want) || !h[1].Timestamp.Equal(want) {
				t.Errorf("ended at %v and %v, want both at %v", h[0].Timestamp, h[1].Timestamp, want)
			}
			time.Sleep(time.Minute) // let the abandoned check return
		})
	})
}

func TestOrchestrator_Schedule(t *testing.T) {
	t.Run("rescheduling updates in place and never duplicates", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			p := recovery.Policy{HealthCheck: rec.check("db")}
			origin := time.Now()
			for i := range 5 {
				if err := o.Schedule("db", recovery.ExponentialBackoff, 10-i, &p); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.Schedule("db", recovery.Immediate, 3, &p); err != nil {
				t.Fatal(err)
			}
			st := o.Status()
			if st.ActiveCount != 1 || st.QueuedCount != 1 || len(st.Services) != 1 {
				t.Fatalf("status = %+v, want one task", st)
			}
			task := st.Services[0]
			if task.Service != "db" || task.Priority != 3 || task.Strategy != recovery.Immediate || !task.NextAttemptAt.Equal(origin) || task.State != recovery.Scheduled {
				t.Errorf("task = %+v, want priority 3, immediate, due now", task)
			}
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			if rec.count() != 1 {
				t.Errorf("%d attempts, want 1", rec.count())
			}
		})
	})
	t.Run("scheduling during an attempt starts a new round after it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			p := &recovery.Policy{HealthCheck: func(context.Context) error {
				calls.Add(1)
				time.Sleep(s)
				return nil
			}}
			o := mustNew(t, recovery.Config{}, nil)
			_ = o.Schedule("db", recovery.Immediate, 0, p)
			stop := start(t, o)
			defer stop()
			time.Sleep(s / 2)
			_ = o.Schedule("db", recovery.Immediate, 0, p)
			if st := o.Status(); st.ActiveCount != 1 || st.Services[0].State != recovery.InProgress {
				t.Fatalf("status = %+v", st)
			}
			time.Sleep(time.Minute)
			h := o.History()
			if calls.Load() != 2 || len(h) != 2 || !h[0].Success || h[0].State != recovery.Scheduled || h[1].State != recovery.Succeeded || h[1].AttemptNumber != 1 {
				t.Errorf("%d calls, history = %+v", calls.Load(), h)
			}
		})
	})
	t.Run("an update recomputes the wait from when it began", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			origin := time.Now()
			_ = o.Schedule("db", recovery.ExponentialBackoff, 0, &recovery.Policy{InitialDelay: 10 * s, HealthCheck: rec.check("db")})
			time.Sleep(2 * s)
			_ = o.Schedule("db", recovery.ExponentialBackoff, 0, &recovery.Policy{InitialDelay: 5 * s, HealthCheck: rec.check("db")})
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			if got := rec.gaps(origin); !slices.Equal(got, []time.Duration{5 * s}) {
				t.Errorf("attempts at %v, want [5s]", got)
			}
		})
	})
	t.Run("priority order with ties in FIFO order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{MaxConcurrent: 1}, nil)
			for _, x := range []struct {
				name string
				prio int
			}{{"c1", 2}, {"b1", 1}, {"c2", 2}, {"a", 0}, {"b2", 1}, {"c3", 2}, {"z", -1}} {
				if err := o.Schedule(x.name, recovery.Immediate, x.prio, &recovery.Policy{HealthCheck: rec.check(x.name)}); err != nil {
					t.Fatal(err)
				}
			}
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			want := []string{"z", "a", "b1", "b2", "c1", "c2", "c3"}
			if got := rec.order(); !slices.Equal(got, want) {
				t.Errorf("order = %v, want %v", got, want)
			}
		})
	})
	t.Run("scheduling while running wakes Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Hour)
			origin := time.Now()
			_ = o.Schedule("db", recovery.ExponentialBackoff, 0, &recovery.Policy{InitialDelay: 3 * s, HealthCheck: rec.check("db")})
			time.Sleep(time.Minute)
			if got := rec.gaps(origin); !slices.Equal(got, []time.Duration{3 * s}) {
				t.Errorf("attempts at %v, want [3s]", got)
			}
			if !o.Status().Running {
				t.Error("Status.Running = false while Run runs")
			}
		})
	})
	t.Run("invalid arguments", func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		for _, tc := range []struct {
			name     string
			service  string
			strategy recovery.Strategy
			policy   *recovery.Policy
			field    string
		}{
			{"empty name", "", recovery.Immediate, nil, "service"},
			{"unknown strategy", "db", recovery.Strategy(9), nil, "strategy"},
			{"invalid policy", "db", recovery.Immediate, &recovery.Policy{MaxRetryAttempts: -1}, "max_retry_attempts"},
		} {
			err := o.Schedule(tc.service, tc.strategy, 0, tc.policy)
			var ve *recovery.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("%s: Schedule = %v, want a validation error for %s", tc.name, err, tc.field)
			}
		}
		if o.Status().ActiveCount != 0 {
			t.Error("an invalid Schedule created a task")
		}
	})
}

func TestOrchestrator_SetPolicy(t *testing.T) {
	o := mustNew(t, recovery.Config{DefaultPolicy: recovery.Policy{MaxRetryAttempts: 4}}, nil)
	maxOf := func(name string) int {
		task, ok := o.Task(name)
		if !ok {
			t.Fatalf("no task %s", name)
		}
		return task.MaxAttempts
	}
	_ = o.Schedule("a", recovery.ExponentialBackoff, 0, nil)
	if got := maxOf("a"); got != 4 {
		t.Errorf("default policy: max attempts %d, want 4", got)
	}
	if err := o.SetPolicy("a", recovery.Policy{MaxRetryAttempts: 3}); err != nil {
		t.Fatal(err)
	}
	if got := maxOf("a"); got != 3 {
		t.Errorf("service policy picked up by the waiting task: %d, want 3", got)
	}
	_ = o.Schedule("a", recovery.ExponentialBackoff, 0, &recovery.Policy{MaxRetryAttempts: 7})
	if got := maxOf("a"); got != 7 {
		t.Errorf("argument: %d, want 7", got)
	}
	_ = o.SetPolicy("a", recovery.Policy{MaxRetryAttempts: 2})
	if got := maxOf("a"); got != 7 {
		t.Errorf("SetPolicy overrode the argument's policy: %d", got)
	}
	if got := o.Policy("a").MaxRetryAttempts; got != 2 {
		t.Errorf("Policy(a) = %d, want 2", got)
	}
	if got := o.Policy("other"); got.MaxRetryAttempts != 4 || got.InitialDelay != time.Second {
		t.Errorf("Policy(other) = %+v, want the default with defaults applied", got)
	}
	if err := o.SetPolicy("a", recovery.Policy{BackoffMultiplier: 0.5}); !errors.Is(err, antifragile.ErrInvalid) {
		t.Errorf("SetPolicy(invalid) = %v", err)
	}
}

func TestOrchestrator_ClearPolicy(t *testing.T) {
	o := mustNew(t, recovery.Config{DefaultPolicy: recovery.Policy{MaxRetryAttempts: 4},
		Policies: map[string]recovery.Policy{"b": {MaxRetryAttempts: 9}}}, nil)
	if !o.HasPolicy("b") || o.HasPolicy("a") {
		t.Fatal("HasPolicy: b is named in the config, a is not")
	}
	_ = o.Schedule("a", recovery.ExponentialBackoff, 0, nil)
	_ = o.SetPolicy("a", recovery.Policy{MaxRetryAttempts: 3})
	if !o.ClearPolicy("a") || o.HasPolicy("a") {
		t.Fatal("ClearPolicy(a) did not remove its policy")
	}
	if task, _ := o.Task("a"); task.MaxAttempts != 4 || o.Policy("a").MaxRetryAttempts != 4 {
		t.Errorf("after ClearPolicy the waiting task has %d attempts, the policy %d; want the default's 4", task.MaxAttempts, o.Policy("a").MaxRetryAttempts)
	}
	if o.ClearPolicy("a") {
		t.Error("ClearPolicy reported a policy that was already gone")
	}
	if !o.ClearPolicy("b") || o.Policy("b").MaxRetryAttempts != 4 {
		t.Error("ClearPolicy(b): a policy from the config is cleared too")
	}
}

func TestOrchestrator_Execute(t *testing.T) {
	t.Run("unknown service is a typed not-found error", func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		_, err := o.Execute(t.Context(), "nope")
		var nf *recovery.NotFoundError
		if !errors.Is(err, recovery.ErrNotFound) || !errors.As(err, &nf) || nf.Service != "nope" {
			t.Errorf("Execute = %v", err)
		}
	})
	t.Run("runs one attempt now, without Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			o := mustNew(t, recovery.Config{}, nil)
			_ = o.Schedule("db", recovery.ExponentialBackoff, 0, &recovery.Policy{HealthCheck: rec.check("db", errDown, nil)})
			res, err := o.Execute(t.Context(), "db")
			if err != nil || res.Success || res.State != recovery.Scheduled || res.AttemptNumber != 1 || res.Error != "health check: db down" {
				t.Fatalf("Execute = %+v, %v", res, err)
			}
			task, _ := o.Task("db")
			if want := time.Now().Add(2 * s); !task.NextAttemptAt.Equal(want) {
				t.Errorf("next attempt at %v, want %v", task.NextAttemptAt, want)
			}
			res, err = o.Execute(t.Context(), "db")
			if err != nil || !res.Success || res.AttemptNumber != 2 {
				t.Fatalf("Execute = %+v, %v", res, err)
			}
		})
	})
	t.Run("refused while an attempt runs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			_ = o.Schedule("db", recovery.Immediate, 0, &recovery.Policy{HealthCheck: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}})
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			if _, err := o.Execute(t.Context(), "db"); !errors.Is(err, recovery.ErrInProgress) {
				t.Errorf("Execute = %v, want ErrInProgress", err)
			}
		})
	})
}

func TestOrchestrator_Run(t *testing.T) {
	t.Run("at most MaxConcurrent attempts at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var running, most atomic.Int32
			check := func(context.Context) error {
				n := running.Add(1)
				defer running.Add(-1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(s)
				return nil
			}
			o := mustNew(t, recovery.Config{MaxConcurrent: 2}, nil)
			for _, name := range []string{"a", "b", "c", "d", "e"} {
				_ = o.Schedule(name, recovery.Immediate, 0, &recovery.Policy{HealthCheck: check})
			}
			origin := time.Now()
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			if most.Load() != 2 {
				t.Errorf("at most %d at once, want 2", most.Load())
			}
			h := o.History()
			if took := h[len(h)-1].Timestamp.Sub(origin); len(h) != 5 || took != 3*s {
				t.Errorf("5 one-second attempts two at a time took %v, want 3s", took)
			}
		})
	})
	t.Run("twice at once is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			stop := start(t, o)
			defer stop()
			synctest.Wait()
			if err := o.Run(t.Context()); !errors.Is(err, recovery.ErrRunning) {
				t.Errorf("second Run = %v", err)
			}
		})
	})
	t.Run("stopping waits for attempts and does not count them", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ended atomic.Bool
			o := mustNew(t, recovery.Config{}, nil)
			_ = o.Schedule("db", recovery.Immediate, 0, &recovery.Policy{HealthCheck: func(ctx context.Context) error {
				defer ended.Store(true)
				<-ctx.Done()
				return ctx.Err()
			}})
			stop := start(t, o)
			synctest.Wait()
			stop()
			if !ended.Load() {
				t.Fatal("Run returned before its attempt ended")
			}
			task, ok := o.Task("db")
			if !ok || task.State != recovery.Scheduled || task.AttemptCount != 0 {
				t.Errorf("task = %+v, want scheduled with no attempts counted", task)
			}
			if o.Status().Running {
				t.Error("Status.Running after Run returned")
			}
			if len(o.History()) != 0 {
				t.Errorf("interrupted attempt in history: %+v", o.History())
			}
		})
	})
}

func TestOrchestrator_restartIntensity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		o := mustNew(t, recovery.Config{MaxRestarts: 2, RestartWindow: time.Minute}, nil)
		stop := start(t, o)
		defer stop()
		p := &recovery.Policy{HealthCheck: rec.check("db")}
		recoverOnce := func() recovery.State {
			_ = o.Schedule("db", recovery.Immediate, 0, p)
			synctest.Wait()
			if task, ok := o.Task("db"); ok {
				return task.State
			}
			return recovery.Succeeded
		}
		for i := range 2 {
			if st := recoverOnce(); st != recovery.Succeeded {
				t.Fatalf("recovery %d: %v", i+1, st)
			}
			time.Sleep(10 * s)
		}
		if st := recoverOnce(); st != recovery.AwaitingManual {
			t.Fatalf("third recovery within a minute: %v, want awaiting_manual", st)
		}
		task, _ := o.Task("db")
		if want := "restart intensity exceeded: more than 2 recoveries within 1m0s"; task.LastError != want {
			t.Errorf("reason = %q, want %q", task.LastError, want)
		}
		if rec.count() != 2 {
			t.Errorf("%d attempts, want 2", rec.count())
		}
		if err := o.Resolve("db"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if st := recoverOnce(); st != recovery.Succeeded {
			t.Errorf("recovery after the window: %v", st)
		}
	})
}

func TestOrchestrator_History(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := mustNew(t, recovery.Config{MaxHistory: 3}, nil)
		p := &recovery.Policy{MaxRetryAttempts: 5, HealthCheck: func(context.Context) error { return errDown }}
		_ = o.Schedule("db", recovery.Immediate, 0, p)
		stop := start(t, o)
		defer stop()
		time.Sleep(time.Minute)
		h := o.History()
		var nums []int
		for _, r := range h {
			nums = append(nums, r.AttemptNumber)
		}
		if !slices.Equal(nums, []int{3, 4, 5}) {
			t.Errorf("history attempts = %v, want the last three [3 4 5]", nums)
		}
		if rr := o.Status().RecentResults; len(rr) != 3 {
			t.Errorf("recent results = %d", len(rr))
		}
	})
	t.Run("status keeps the last ten", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			p := &recovery.Policy{MaxRetryAttempts: 12, HealthCheck: func(context.Context) error { return errDown }}
			_ = o.Schedule("db", recovery.Immediate, 0, p)
			stop := start(t, o)
			defer stop()
			time.Sleep(time.Minute)
			rr := o.Status().RecentResults
			if len(rr) != 10 || rr[0].AttemptNumber != 3 || rr[9].AttemptNumber != 12 {
				t.Errorf("recent results %d, first %d", len(rr), rr[0].AttemptNumber)
			}
			if len(o.History()) != 12 {
				t.Errorf("history %d, want 12", len(o.History()))
			}
		})
	})
}

func TestOrchestrator_Subscribe(t *testing.T) {
	t.Run("a full buffer drops and counts", func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		sub := o.Subscribe(2)
		defer sub.Close()
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			_ = o.Schedule(name, recovery.ExponentialBackoff, 0, nil)
		}
		if got := states(drain(sub)); !slices.Equal(got, []string{"a:scheduled", "b:scheduled"}) {
			t.Errorf("events = %v", got)
		}
		if sub.Dropped() != 3 {
			t.Errorf("Dropped = %d, want 3", sub.Dropped())
		}
	})
	t.Run("closed subscriptions receive nothing", func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		sub := o.Subscribe(10)
		sub.Close()
		sub.Close()
		_ = o.Schedule("a", recovery.ExponentialBackoff, 0, nil)
		if len(drain(sub)) != 0 || sub.Dropped() != 0 {
			t.Error("closed subscription got an event")
		}
	})
}

func TestNew(t *testing.T) {
	t.Run("hash mismatch refused", func(t *testing.T) {
		_, err := recovery.New(recovery.Config{ConstitutionalHash: "deadbeef"}, nil)
		var he *antifragile.HashMismatchError
		if !errors.Is(err, antifragile.ErrHashMismatch) || !errors.As(err, &he) || he.Got != "deadbeef" {
			t.Errorf("New = %v", err)
		}
	})
	t.Run("policy hash mismatch refused by Schedule and SetPolicy", func(t *testing.T) {
		o := mustNew(t, recovery.Config{ConstitutionalHash: antifragile.ConstitutionalHash}, nil)
		bad := recovery.Policy{ConstitutionalHash: "deadbeef"}
		if err := o.Schedule("db", recovery.Immediate, 0, &bad); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Errorf("Schedule = %v", err)
		}
		if err := o.SetPolicy("db", bad); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Errorf("SetPolicy = %v", err)
		}
		if _, err := recovery.New(recovery.Config{DefaultPolicy: bad}, nil); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Errorf("New(default policy) = %v", err)
		}
		if o.ConstitutionalHash() != antifragile.ConstitutionalHash {
			t.Errorf("hash = %q", o.ConstitutionalHash())
		}
	})
	t.Run("invalid config fields", func(t *testing.T) {
		for _, tc := range []struct {
			cfg   recovery.Config
			field string
		}{
			{recovery.Config{MaxConcurrent: -1}, "max_concurrent"},
			{recovery.Config{MaxHistory: -1}, "max_history"},
			{recovery.Config{MaxRestarts: -1}, "max_restarts"},
			{recovery.Config{RestartWindow: -s}, "restart_window"},
			{recovery.Config{DefaultPolicy: recovery.Policy{Jitter: 2}}, "default_policy.jitter"},
			{recovery.Config{Watch: true}, "watch"},
		} {
			_, err := recovery.New(tc.cfg, nil)
			var ve *recovery.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("New(%+v) = %v, want a validation error for %s", tc.cfg, err, tc.field)
			}
		}
	})
}

func TestPolicy_Validate(t *testing.T) {
	tests := []struct {
		name   string
		policy recovery.Policy
		want   string
	}{
		{"max retry attempts below 1", recovery.Policy{MaxRetryAttempts: -1}, "invalid max_retry_attempts -1: must be at least 1 (0 means 5)"},
		{"multiplier below 1", recovery.Policy{BackoffMultiplier: 0.5}, "invalid backoff_multiplier 0.5: must be at least 1.0 (0 means 2.0)"},
		{"negative initial delay", recovery.Policy{InitialDelay: -s}, "invalid initial_delay -1s: must not be negative"},
		{"max delay below initial delay", recovery.Policy{InitialDelay: 2 * s, MaxDelay: s}, "invalid max_delay 1s: must not be below initial_delay 2s"},
		{"jitter above 1", recovery.Policy{Jitter: 1.5}, "invalid jitter 1.5: must be within [0, 1]"},
		{"negative action timeout", recovery.Policy{ActionTimeout: -s}, "invalid action_timeout -1s: must not be negative"},
		{"negative health check timeout", recovery.Policy{HealthCheckTimeout: -s}, "invalid health_check_timeout -1s: must not be negative"},
		{"unknown strategy", recovery.Policy{Strategy: 7}, "invalid strategy strategy(7): must be one of exponential_backoff, linear_backoff, immediate, manual, learned"},
		{"fallback must retry by itself", recovery.Policy{Strategy: recovery.Learned, Fallback: recovery.Manual}, "invalid fallback manual: must be one of exponential_backoff, linear_backoff, immediate"},
		{"in the issue's order", recovery.Policy{MaxRetryAttempts: -2, BackoffMultiplier: 0.9, InitialDelay: -s, MaxDelay: -2 * s},
			"invalid max_retry_attempts -2: must be at least 1 (0 means 5)\n" +
				"invalid backoff_multiplier 0.9: must be at least 1.0 (0 means 2.0)\n" +
				"invalid initial_delay -1s: must not be negative\n" +
				"invalid max_delay -2s: must not be below initial_delay -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate() = %v\nwant %s", err, tt.want)
			}
			var ve *recovery.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("%v is not a *ValidationError", err)
			}
		})
	}
	t.Run("zero value is valid with the documented defaults", func(t *testing.T) {
		if err := (recovery.Policy{}).Validate(); err != nil {
			t.Fatal(err)
		}
		d := recovery.DefaultPolicy()
		if d.MaxRetryAttempts != 5 || d.BackoffMultiplier != 2 || d.InitialDelay != s || d.MaxDelay != 60*s ||
			d.HealthCheckTimeout != 5*s || d.ActionTimeout != 30*s || d.ConstitutionalHash != antifragile.ConstitutionalHash {
			t.Errorf("DefaultPolicy = %+v", d)
		}
	})
	t.Run("max delay defaults to at least the initial delay", func(t *testing.T) {
		if err := (recovery.Policy{InitialDelay: 2 * time.Minute}).Validate(); err != nil {
			t.Error(err)
		}
	})
	t.Run("hash mismatch", func(t *testing.T) {
		err := recovery.Policy{ConstitutionalHash: "nope"}.Validate()
		if !errors.Is(err, antifragile.ErrHashMismatch) || !strings.Contains(err.Error(), "recovery policy") {
			t.Errorf("Validate = %v", err)
		}
	})
}

func TestOrchestrator_Close(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		ran := make(chan error, 1)
		go func() { ran <- o.Run(t.Context()) }()
		synctest.Wait()
		if err := o.Schedule("db", recovery.ExponentialBackoff, 1, nil); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := <-ran; err != nil {
			t.Fatalf("Run = %v after Close, want nil", err)
		}
		if err := o.Run(t.Context()); !errors.Is(err, recovery.ErrClosed) {
			t.Fatalf("Run after Close = %v, want ErrClosed", err)
		}
		if err := o.Schedule("cache", recovery.Immediate, 1, nil); !errors.Is(err, recovery.ErrClosed) {
			t.Fatalf("Schedule after Close = %v, want ErrClosed", err)
		}
		if err := o.Close(t.Context()); err != nil {
			t.Fatalf("a second Close = %v", err)
		}
		if st := o.Status(); st.ActiveCount != 1 {
			t.Fatalf("reads stop working after Close: %+v", st)
		}
	})
}
