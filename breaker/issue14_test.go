package breaker_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
)

// TestIssue14 is the regression test of issue 14: a breaker's lifetime
// counters survive the resets that recovery and operators do, while the
// counters since the reset start over.
func TestIssue14(t *testing.T) {
	t.Run("lifetime counters survive a reset", func(t *testing.T) {
		b, err := breaker.New(breaker.Config{Name: "db", ConsecutiveFailures: 3})
		if err != nil {
			t.Fatal(err)
		}
		calls(t, b, 4, nil)
		calls(t, b, 3, errBoom) // trips
		if _, err := b.Allow(); err == nil {
			t.Fatal("open breaker admitted a call")
		}
		b.Reset()
		calls(t, b, 2, nil)
		calls(t, b, 1, errBoom)
		m := b.Metrics()
		if m.Calls != 3 || m.Successes != 2 || m.Failures != 1 || m.Trips != 0 || m.Rejections != 0 {
			t.Errorf("since reset: %+v, want 3 calls, 2 successes, 1 failure, no trip, no rejection", m)
		}
		want := breaker.Lifetime{Calls: 10, Successes: 6, Failures: 4, Rejections: 1, Trips: 1, Resets: 1}
		if m.Lifetime != want {
			t.Errorf("lifetime %+v, want %+v", m.Lifetime, want)
		}
		if s := b.Summary(); s.Successes != 2 || s.Failures != 1 {
			t.Errorf("summary %d successes %d failures, want the counts since the reset (2, 1)", s.Successes, s.Failures)
		}
		b.Reset()
		if m := b.Metrics(); m.Calls != 0 || m.Lifetime.Calls != 10 || m.Lifetime.Resets != 2 {
			t.Errorf("after a second reset: calls %d, lifetime %+v", m.Calls, m.Lifetime)
		}
	})

	t.Run("the JSON carries the lifetime counters", func(t *testing.T) {
		b, err := breaker.New(breaker.Config{Name: "db"})
		if err != nil {
			t.Fatal(err)
		}
		calls(t, b, 2, errBoom)
		b.Reset()
		js, err := json.Marshal(b.Metrics())
		if err != nil {
			t.Fatal(err)
		}
		if want := `"lifetime":{"calls":2,"successes":0,"failures":2,"ignored":0,"late":0,"slow_calls":0,"rejections":0,"trips":0,"resets":1}`; !strings.Contains(string(js), want) {
			t.Errorf("JSON %s lacks %s", js, want)
		}
	})

	t.Run("Metrics allocates nothing after a reset", func(t *testing.T) {
		b, err := breaker.New(breaker.Config{Name: "db"})
		if err != nil {
			t.Fatal(err)
		}
		calls(t, b, 5, nil)
		b.Reset()
		if n := testing.AllocsPerRun(100, func() { _ = b.Metrics() }); n != 0 {
			t.Errorf("Metrics allocates %v times", n)
		}
	})
}
