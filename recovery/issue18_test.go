package recovery_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

// dependency is a simulated service: down from each trip until its heal
// time, drawn from a seeded distribution; its health check says so and
// counts the failures.
type dependency struct {
	mu     sync.Mutex
	healAt time.Time
	failed int
}

func (d *dependency) check(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Now().Before(d.healAt) {
		d.failed++
		return errDown
	}
	return nil
}

// proofRun is what one strategy did over the outages of one scenario.
type proofRun struct {
	below  time.Duration // total time the breaker was not closed
	failed int           // failed recovery attempts
	worst  time.Duration // longest outage
}

// runOutages trips breaker "db" n times, each outage healing after
// typical ± spread (uniform, from seed), recovered by a watching
// orchestrator whose service policy uses strategy, and measures the time
// from each trip to the breaker closing again.
func runOutages(t *testing.T, strategy recovery.Strategy, seed uint64, n int, typical, spread time.Duration) proofRun {
	var run proofRun
	synctest.Test(t, func(t *testing.T) {
		reg, b := newBreaker(t, 24*time.Hour) // never probes by itself: recovery closes it
		dep := &dependency{}
		o := mustNew(t, recovery.Config{Watch: true, DefaultPolicy: recovery.Policy{Strategy: strategy, MaxRetryAttempts: 20, HealthCheck: dep.check}}, reg)
		sub := reg.Subscribe(16)
		defer sub.Close()
		stop := start(t, o)
		defer stop()
		rng := rand.New(rand.NewPCG(seed, seed))
		for i := range n {
			heal := typical + time.Duration((2*rng.Float64()-1)*float64(spread))
			dep.mu.Lock()
			dep.healAt = time.Now().Add(heal)
			dep.mu.Unlock()
			outcome(t, b, errDown)
			opened := (<-sub.C).At
			var closed time.Time
			for ev := range sub.C {
				if ev.To == breaker.Closed {
					closed = ev.At
					break
				}
			}
			down := closed.Sub(opened)
			if down < heal {
				t.Fatalf("outage %d: closed after %v, before the dependency healed (%v)", i, down, heal)
			}
			run.below += down
			run.worst = max(run.worst, down)
			time.Sleep(10 * time.Minute)
		}
		run.failed = dep.failed
	})
	return run
}

// TestIssue18_learnedBeatsFixed is the proof of issue 18: over the same
// seeded outages, the learned strategy keeps the service below healthy for
// less time, with fewer failed attempts, than fixed exponential backoff
// with the same policy (1 s initial delay, doubling, 60 s cap). The
// numbers are reported in docs/recovery-learning.md (go test -run
// TestIssue18 -v ./recovery).
func TestIssue18_learnedBeatsFixed(t *testing.T) {
	const n = 50
	for _, sc := range []struct {
		name            string
		typical, spread time.Duration
	}{
		{"heals in 4s±1s", 4 * time.Second, time.Second},
		{"heals in 30s±10s", 30 * time.Second, 10 * time.Second},
	} {
		t.Run(sc.name, func(t *testing.T) {
			for _, seed := range []uint64{1, 2, 3} {
				fixed := runOutages(t, recovery.ExponentialBackoff, seed, n, sc.typical, sc.spread)
				learned := runOutages(t, recovery.Learned, seed, n, sc.typical, sc.spread)
				t.Logf("seed %d, %d outages: below healthy fixed %v (mean %v, worst %v), learned %v (mean %v, worst %v): %.1f %% less; failed attempts fixed %d, learned %d",
					seed, n, fixed.below, fixed.below/n, fixed.worst, learned.below, learned.below/n, learned.worst,
					100*(1-float64(learned.below)/float64(fixed.below)), fixed.failed, learned.failed)
				if learned.below >= fixed.below || learned.failed >= fixed.failed {
					t.Errorf("seed %d: learned (%v, %d failed) is not better than fixed (%v, %d failed)", seed, learned.below, learned.failed, fixed.below, fixed.failed)
				}
			}
		})
	}
}
