package recovery_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/recovery"
)

// epoch is the opening of the first outage of the histories written by
// writeHistory: before any synctest clock (which starts in 2000).
var epoch = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)

// healed returns an outage of service that its breaker closed by itself
// heal after opening: its heal time is exactly heal. The i-th outage opens
// an hour after the (i−1)-th.
func healed(service string, i int, heal time.Duration) recovery.Outage {
	at := epoch.Add(time.Duration(i) * time.Hour)
	return recovery.Outage{Service: service, OpenedAt: at, EndedAt: at.Add(heal), HealedAt: at.Add(heal),
		Strategy: recovery.ExponentialBackoff, Delays: []antifragile.Duration{}, Outcome: recovery.ClosedByItself}
}

// writeHistory writes a history file of outages with a heal time each, as
// FileStore writes them, and returns its path.
func writeHistory(t *testing.T, service string, heals ...time.Duration) string {
	t.Helper()
	return writeHistoryB(t, service, heals...)
}

// writeHistoryB is writeHistory for a test or a benchmark.
func writeHistoryB(t testing.TB, service string, heals ...time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outages.jsonl")
	var b []byte
	for i, h := range heals {
		line, err := json.Marshal(healed(service, i, h))
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// attemptGaps schedules service with the Learned strategy under policy
// (whose health check always fails, recorded in rec) and returns the gaps
// between its attempts, the first measured from the scheduling.
func attemptGaps(t *testing.T, o *recovery.Orchestrator, rec *recorder, policy recovery.Policy) []time.Duration {
	t.Helper()
	policy.HealthCheck = rec.check("db", errDown)
	stop := start(t, o)
	defer stop()
	origin := time.Now()
	if err := o.Schedule("db", recovery.Learned, 0, &policy); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Hour)
	return rec.gaps(origin)
}

func TestLearned_decisions(t *testing.T) {
	const s = time.Second
	t.Run("attempts aim at the quantiles of past heal times", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// sorted 2 4 4 5 9: median (3rd) 4 s, upper quartile (4th) 5 s,
			// 90th percentile (5th) 9 s, longest 9 s.
			path := writeHistory(t, "db", 5*s, 2*s, 9*s, 4*s, 4*s)
			o := mustNew(t, recovery.Config{HistoryPath: path}, nil)
			var rec recorder
			got := attemptGaps(t, o, &rec, recovery.Policy{MaxRetryAttempts: 6, InitialDelay: s / 2})
			// 4 s; 5 s; 9 s; the 4th target (9 s) is past: the minimum
			// 0.5 s; then 9 s·2 = 18 s and 36 s from the opening.
			want := []time.Duration{4 * s, s, 4 * s, s / 2, 8*s + s/2, 18 * s}
			if !slices.Equal(got, want) {
				t.Errorf("gaps = %v, want %v", got, want)
			}
			if l := o.Learning("db"); !l.Learned || l.Outages != 5 || l.MedianHeal.D() != 4*s || l.FirstAttempt.D() != 4*s {
				t.Errorf("Learning = %+v", l)
			}
		})
	})
	t.Run("the policy's bounds hold", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path := writeHistory(t, "db", 5*s, 2*s, 9*s, 4*s, 4*s)
			o := mustNew(t, recovery.Config{HistoryPath: path}, nil)
			var rec recorder
			got := attemptGaps(t, o, &rec, recovery.Policy{MaxRetryAttempts: 5, InitialDelay: 3 * s, MaxDelay: 4 * s})
			// 4 s; 5 s is 1 s away: the minimum 3 s (at 7 s); 9 s is 2 s
			// away: 3 s (at 10 s); 9 s again is past: 3 s (at 13 s); 9 s·2 =
			// 18 s is 5 s away: the cap 4 s.
			want := []time.Duration{4 * s, 3 * s, 3 * s, 3 * s, 4 * s}
			if !slices.Equal(got, want) {
				t.Errorf("gaps = %v, want %v", got, want)
			}
		})
	})
	t.Run("too little history falls back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path := writeHistory(t, "db", 5*s, 2*s)
			o := mustNew(t, recovery.Config{HistoryPath: path}, nil)
			var rec recorder
			got := attemptGaps(t, o, &rec, recovery.Policy{MaxRetryAttempts: 3, Fallback: recovery.LinearBackoff})
			if want := []time.Duration{s, 2 * s, 3 * s}; !slices.Equal(got, want) {
				t.Errorf("gaps = %v, want the linear %v", got, want)
			}
			if u := o.Outages("db"); len(u) != 3 || u[2].Learned || u[2].Strategy != recovery.Learned {
				t.Errorf("outages = %+v, want a third one, learned strategy, not learned", u)
			}
		})
	})
	t.Run("LearnMinOutages sets the minimum", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path := writeHistory(t, "db", 5*s, 2*s)
			o := mustNew(t, recovery.Config{HistoryPath: path, LearnMinOutages: 2}, nil)
			var rec recorder
			got := attemptGaps(t, o, &rec, recovery.Policy{MaxRetryAttempts: 2})
			// sorted 2 5: median (1st) 2 s, upper quartile (2nd) 5 s.
			if want := []time.Duration{2 * s, 3 * s}; !slices.Equal(got, want) {
				t.Errorf("gaps = %v, want %v", got, want)
			}
		})
	})
}

func TestOrchestrator_Learning(t *testing.T) {
	const s = time.Second
	synctest.Test(t, func(t *testing.T) {
		path := writeHistory(t, "db", 3800*time.Millisecond, 4200*time.Millisecond, 4300*time.Millisecond, 4*s)
		o := mustNew(t, recovery.Config{HistoryPath: path, DefaultPolicy: recovery.Policy{InitialDelay: 250 * time.Millisecond}}, nil)
		want := recovery.Learning{Learned: true, Outages: 4, MinOutages: 3, MedianHeal: antifragile.Duration(4 * s),
			Targets:      []antifragile.Duration{antifragile.Duration(4 * s), antifragile.Duration(4200 * time.Millisecond), antifragile.Duration(4300 * time.Millisecond), antifragile.Duration(4300 * time.Millisecond)},
			FirstAttempt: antifragile.Duration(4 * s), Fallback: recovery.ExponentialBackoff,
			Reason: "learned from 4 outages: median heal 4s → first attempt at 4s"}
		b, _ := json.Marshal(o.Learning("db"))
		wb, _ := json.Marshal(want)
		if string(b) != string(wb) {
			t.Errorf("Learning =\n%s\nwant\n%s", b, wb)
		}
		none := o.Learning("cache")
		if none.Learned || none.Reason != "too little history (0 of 3 healed outages): exponential_backoff, first attempt at 250ms" {
			t.Errorf("Learning(cache) = %+v", none)
		}
		_ = o.Schedule("db", recovery.Learned, 0, nil)
		_ = o.Schedule("cache", recovery.ExponentialBackoff, 0, nil)
		task, _ := o.Task("db")
		if task.Learning == nil || task.Learning.Reason != want.Reason || !task.NextAttemptAt.Equal(time.Now().Add(4*s)) {
			t.Errorf("task = %+v", task)
		}
		if task, _ := o.Task("cache"); task.Learning != nil {
			t.Errorf("an exponential task has learning %+v", task.Learning)
		}
	})
}

// TestLearned_bounds checks, over random histories and policies, that no
// learned wait leaves [InitialDelay, MaxDelay] and that MaxRetryAttempts
// holds.
func TestLearned_bounds(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 18))
	for i := range 40 {
		heals := make([]time.Duration, 3+r.IntN(20))
		for j := range heals {
			heals[j] = time.Duration(r.Int64N(int64(10 * time.Minute)))
		}
		minD := time.Duration(r.Int64N(int64(5 * time.Second)))
		maxD := minD + time.Duration(r.Int64N(int64(2*time.Minute)))
		attempts := 1 + r.IntN(8)
		jitter := r.Float64() / 2
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{HistoryPath: writeHistory(t, "db", heals...), Seed: uint64(i + 1)}, nil)
			var rec recorder
			origin := time.Now()
			p := recovery.Policy{MaxRetryAttempts: attempts, InitialDelay: minD, MaxDelay: maxD, Jitter: jitter, HealthCheck: rec.check("db", errDown)}
			stop := start(t, o)
			if err := o.Schedule("db", recovery.Learned, 0, &p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(24 * time.Hour)
			stop()
			gaps := rec.gaps(origin)
			if len(gaps) != attempts {
				t.Errorf("case %d: %d attempts, want %d", i, len(gaps), attempts)
			}
			for _, g := range gaps {
				if g < minD || g > maxD {
					t.Errorf("case %d: wait %v outside [%v, %v] (heals %v)", i, g, minD, maxD, heals)
				}
			}
		})
	}
}

func TestOrchestrator_Outages(t *testing.T) {
	const s = time.Second
	t.Run("an outage records its attempts, delays and outcome", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			var rec recorder
			stop := start(t, o)
			defer stop()
			opened := time.Now()
			p := recovery.Policy{HealthCheck: rec.check("db", errDown, errDown, nil)}
			_ = o.Schedule("db", recovery.ExponentialBackoff, 0, &p)
			time.Sleep(time.Minute)
			got := o.Outages("db")
			want := recovery.Outage{Service: "db", OpenedAt: opened.UTC(), EndedAt: opened.Add(7 * s).UTC(), HealedAt: opened.Add(7 * s).UTC(),
				LastFailureAt: opened.Add(3 * s).UTC(), Attempts: 3, Strategy: recovery.ExponentialBackoff,
				Delays: []antifragile.Duration{antifragile.Duration(s), antifragile.Duration(2 * s), antifragile.Duration(4 * s)}, Outcome: recovery.Recovered}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal([]recovery.Outage{want})
			if string(gb) != string(wb) {
				t.Errorf("outages =\n%s\nwant\n%s", gb, wb)
			}
			if h, ok := got[0].HealTime(); !ok || h != 5*s {
				t.Errorf("HealTime = %v, %v; want the midpoint of (3s, 7s]", h, ok)
			}
		})
	})
	t.Run("every end is an outcome", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{}, nil)
			stop := start(t, o)
			defer stop()
			fail := recovery.Policy{MaxRetryAttempts: 2, HealthCheck: func(context.Context) error { return errDown }}
			_ = o.Schedule("gave-up", recovery.Immediate, 0, &fail)
			_ = o.Schedule("cancelled", recovery.ExponentialBackoff, 0, nil)
			_ = o.Schedule("resolved", recovery.Manual, 0, &fail)
			synctest.Wait()
			o.Cancel("cancelled")
			if err := o.Resolve("resolved"); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]recovery.Outcome{"gave-up": recovery.GaveUp, "cancelled": recovery.Abandoned, "resolved": recovery.Abandoned} {
				if u := o.Outages(name); len(u) != 1 || u[0].Outcome != want {
					t.Errorf("%s: outages %+v, want one %v", name, u, want)
				} else if _, ok := u[0].HealTime(); ok {
					t.Errorf("%s: an unhealed outage has a heal time", name)
				}
			}
		})
	})
	t.Run("the caps drop the oldest", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := mustNew(t, recovery.Config{MaxOutagesPerService: 2, MaxOutages: 3}, nil)
			stop := start(t, o)
			defer stop()
			for _, name := range []string{"a", "a", "a", "b", "c"} {
				_ = o.Schedule(name, recovery.Immediate, 0, nil)
				time.Sleep(time.Second)
			}
			// a keeps its last 2 (1 evicted); b makes 3; c drops a's oldest.
			if a, b, c := len(o.Outages("a")), len(o.Outages("b")), len(o.Outages("c")); a != 1 || b != 1 || c != 1 {
				t.Errorf("kept a %d, b %d, c %d; want 1 each", a, b, c)
			}
			if h := o.Status().History; h.Outages != 3 || h.Services != 3 || h.Evicted != 2 || h.Persistent {
				t.Errorf("history status = %+v", h)
			}
		})
	})
}

// TestLearned_persistence restarts an orchestrator on its history file:
// the new one makes the same decisions.
func TestLearned_persistence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "outages.jsonl")
		cfg := recovery.Config{HistoryPath: path, DefaultPolicy: recovery.Policy{Strategy: recovery.Learned, InitialDelay: 100 * time.Millisecond, MaxRetryAttempts: 20}}
		first := mustNew(t, cfg, nil)
		stop := start(t, first)
		heals := []time.Duration{3 * time.Second, 5 * time.Second, 4 * time.Second, 6 * time.Second}
		for _, heal := range heals {
			opened := time.Now()
			p := first.Policy("db")
			p.HealthCheck = func(context.Context) error {
				if time.Since(opened) < heal {
					return errDown
				}
				return nil
			}
			_ = first.Schedule("db", recovery.Learned, 0, &p)
			time.Sleep(time.Minute)
		}
		stop()
		learned := first.Learning("db")
		if !learned.Learned || learned.Outages != len(heals) {
			t.Fatalf("Learning = %+v", learned)
		}
		second := mustNew(t, cfg, nil)
		if got := second.Learning("db"); got.Reason != learned.Reason || !slices.Equal(got.Targets, learned.Targets) {
			t.Errorf("after a restart\n%+v\nwant\n%+v", got, learned)
		}
		gb, _ := json.Marshal(second.Outages("db"))
		wb, _ := json.Marshal(first.Outages("db"))
		if string(gb) != string(wb) {
			t.Errorf("outages after a restart\n%s\nwant\n%s", gb, wb)
		}
		_ = second.Schedule("db", recovery.Learned, 0, nil)
		task, _ := second.Task("db")
		if !task.NextAttemptAt.Equal(time.Now().Add(learned.FirstAttempt.D())) {
			t.Errorf("next attempt %v, want %v from now", task.NextAttemptAt, learned.FirstAttempt)
		}
		if h := second.Status().History; !h.Persistent || h.Outages != len(heals) || h.Skipped != 0 {
			t.Errorf("history status = %+v", h)
		}
	})
}
