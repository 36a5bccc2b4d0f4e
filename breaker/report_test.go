package breaker_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

// report makes one call through b and records o with Ticket.Report.
func report(t *testing.T, b *breaker.Breaker, o breaker.Outcome) {
	t.Helper()
	allow(t, b).Report(o)
}

func TestTicket_Report(t *testing.T) {
	t.Run("each outcome lands in its own total", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 10})
		report(t, b, breaker.Success)
		report(t, b, breaker.Failure)
		report(t, b, breaker.Failure)
		report(t, b, breaker.Ignored)
		m := b.Metrics()
		if m.Successes != 1 || m.Failures != 2 || m.Ignored != 1 || m.Calls != 4 {
			t.Fatalf("metrics %+v, want 1 success, 2 failures, 1 ignored", m)
		}
		if m.ConsecutiveFailures != 2 {
			t.Fatalf("consecutive failures %d, want 2 (ignored breaks no run)", m.ConsecutiveFailures)
		}
	})
	t.Run("failures trip the breaker", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 2})
		report(t, b, breaker.Failure)
		report(t, b, breaker.Failure)
		if b.State() != breaker.Open {
			t.Fatalf("state %v after 2 reported failures, want open", b.State())
		}
	})
	t.Run("a success resets the run of failures", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 2})
		report(t, b, breaker.Failure)
		report(t, b, breaker.Success)
		report(t, b, breaker.Failure)
		if b.State() != breaker.Closed {
			t.Fatalf("state %v, want closed", b.State())
		}
	})
	t.Run("the classifier is not asked", func(t *testing.T) {
		asked := 0
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, Classify: func(error) breaker.Outcome {
			asked++
			return breaker.Ignored
		}})
		report(t, b, breaker.Failure)
		if asked != 0 || b.State() != breaker.Open {
			t.Fatalf("classifier asked %d times, state %v; want 0 and open", asked, b.State())
		}
	})
	t.Run("an unknown outcome is a failure", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
		report(t, b, breaker.Outcome(7))
		if m := b.Metrics(); m.Failures != 1 || b.State() != breaker.Open {
			t.Fatalf("metrics %+v, state %v", m, b.State())
		}
	})
	t.Run("the zero ticket does nothing", func(t *testing.T) {
		var tk breaker.Ticket
		tk.Report(breaker.Failure) // must not panic
	})
	t.Run("a report after a transition is late", func(t *testing.T) {
		b := mustNew(t, breaker.Config{ConsecutiveFailures: 1})
		tk := allow(t, b)
		b.ForceOpen()
		tk.Report(breaker.Failure)
		if m := b.Metrics(); m.Late != 1 || m.Failures != 0 {
			t.Fatalf("metrics %+v, want one late call and no failure", m)
		}
	})
	t.Run("in half-open state", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second})
			report(t, b, breaker.Failure)
			time.Sleep(time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("state %v, want half-open", b.State())
			}
			tk := allow(t, b)
			if _, err := b.Allow(); !errors.Is(err, breaker.ErrTooManyRequests) {
				t.Fatalf("second trial: %v", err)
			}
			tk.Report(breaker.Ignored)
			if b.State() != breaker.HalfOpen {
				t.Fatalf("an ignored trial moved the breaker to %v", b.State())
			}
			report(t, b, breaker.Failure) // the permit came back
			if b.State() != breaker.Open {
				t.Fatalf("a failed trial left the breaker %v", b.State())
			}
			time.Sleep(time.Second)
			synctest.Wait()
			report(t, b, breaker.Success)
			if b.State() != breaker.Closed {
				t.Fatalf("a successful trial left the breaker %v", b.State())
			}
		})
	})
}

// BenchmarkTicket_Report measures one call reported with Report.
func BenchmarkTicket_Report(b *testing.B) {
	for _, o := range []breaker.Outcome{breaker.Success, breaker.Ignored} {
		br, _ := breaker.New(breaker.Config{})
		b.Run(o.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := br.Allow()
				if err != nil {
					b.Fatal(err)
				}
				t.Report(o)
			}
		})
	}
}
