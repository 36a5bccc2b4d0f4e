package breaker_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

func TestBreaker_Trip(t *testing.T) {
	t.Run("a closed breaker opens with the reason, then probes as after a rule trip", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{Name: "payments", OpenTimeout: 10 * time.Second})
			sub := b.Subscribe(8)
			defer sub.Close()
			if !b.Trip("quorum") {
				t.Fatal("Trip of a closed breaker reported no change")
			}
			if b.State() != breaker.Open {
				t.Fatalf("state = %v after Trip", b.State())
			}
			if err := call(b, nil); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("a tripped breaker admitted a call: %v", err)
			}
			m := b.Metrics()
			if m.Trips != 1 || m.OpenTimeout.D() != 10*time.Second || m.Rejections != 1 {
				t.Fatalf("metrics after Trip: %+v", m)
			}
			ev := <-sub.C
			if ev.Breaker != "payments" || ev.From != breaker.Closed || ev.To != breaker.Open || ev.Reason != "quorum" {
				t.Fatalf("event = %+v", ev)
			}
			if ev.Reason.Tripped() {
				t.Fatal("a reason from elsewhere must not read as the breaker's own rule")
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v after the open timeout", b.State())
			}
			calls(t, b, 1, nil) // the trial succeeds
			if b.State() != breaker.Closed {
				t.Fatalf("state = %v after a successful probe", b.State())
			}
		})
	})
	t.Run("a half-open breaker opens again and the timeout grows", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second, OpenTimeoutMultiplier: 2})
			calls(t, b, 1, errBoom)
			time.Sleep(time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v", b.State())
			}
			trial, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			if !b.Trip("") {
				t.Fatal("Trip of a half-open breaker reported no change")
			}
			m := b.Metrics()
			if m.State != breaker.Open || m.OpenTimeout.D() != 2*time.Second {
				t.Fatalf("second trip since the last close: %+v, want open for 2s", m)
			}
			trial.Done(nil) // admitted before the trip: late, decides nothing
			if b.State() != breaker.Open || b.Metrics().Late != 1 {
				t.Fatalf("a trial admitted before Trip changed the state: %+v", b.Metrics())
			}
			time.Sleep(2*time.Second - time.Nanosecond)
			if b.State() != breaker.Open {
				t.Fatal("the grown timeout ended early")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state = %v after the grown timeout", b.State())
			}
		})
	})
	t.Run("an empty reason is recorded as trip", func(t *testing.T) {
		b := mustNew(t, breaker.Config{})
		sub := b.Subscribe(4)
		defer sub.Close()
		b.Trip("")
		if ev := <-sub.C; ev.Reason != "trip" {
			t.Fatalf("reason = %q", ev.Reason)
		}
	})
	t.Run("open, forced-open and disabled breakers are left alone", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			set  func(*breaker.Breaker)
			want breaker.State
		}{
			{"open", func(b *breaker.Breaker) { b.Trip("first") }, breaker.Open},
			{"forced open", func(b *breaker.Breaker) { b.ForceOpen() }, breaker.ForcedOpen},
			{"disabled", func(b *breaker.Breaker) { b.Disable() }, breaker.Disabled},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := mustNew(t, breaker.Config{})
				tc.set(b)
				trips := b.Metrics().Trips
				sub := b.Subscribe(4)
				defer sub.Close()
				if b.Trip("quorum") {
					t.Fatal("Trip reported a change")
				}
				if b.State() != tc.want || b.Metrics().Trips != trips || len(sub.C) != 0 {
					t.Fatalf("state %v, trips %d→%d, %d events", b.State(), trips, b.Metrics().Trips, len(sub.C))
				}
			})
		}
	})
	t.Run("a registry's subscribers see the trip", func(t *testing.T) {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := reg.GetOrCreate("db", breaker.Config{})
		sub := reg.Subscribe(4)
		defer sub.Close()
		b.Trip("quorum")
		if ev := <-sub.C; ev.Breaker != "db" || ev.To != breaker.Open || ev.Reason != "quorum" {
			t.Fatalf("event = %+v", ev)
		}
	})
}
