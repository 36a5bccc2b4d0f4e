package recovery

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/backoff"
)

// LearnLevels are the quantiles of a service's past heal times (see
// Outage.HealTime) at which the Learned strategy aims its attempts, counted
// from the opening of the outage: attempt 1 at the median, attempt 2 at the
// upper quartile, attempt 3 at the 90th percentile, attempt 4 at the
// longest heal seen; attempt 4+k at that longest heal times
// BackoffMultiplier^k. Each wait is clamped to [InitialDelay, MaxDelay] of
// the policy, and MaxRetryAttempts still ends the task.
//
// Why quantiles, and the median first: heal times are skewed and have
// outliers (one outage that took an hour). The median is the most robust
// location estimate — its breakdown point is 50 %: half the sample must be
// corrupted before it moves arbitrarily far (Huber, Robust Statistics,
// 1981; Rousseeuw & Croux, JASA 1993) — where the mean moves with a single
// outlier. Aiming the first attempt at it means that about half the
// outages heal by the first attempt, and none is tried long before it
// could have healed. The later quantiles space the retries the way this
// service's long outages actually ran, so a service whose outages run long
// backs off faster than a fixed multiplier would, and one that heals in a
// narrow band retries within that band. Nearest-rank quantiles (the
// ⌈p·n⌉-th smallest) are exact sample values: known inputs give exact
// decisions.
var LearnLevels = [...]float64{0.5, 0.75, 0.9, 1}

// plan is what learning makes of one service's history.
type plan struct {
	healed  int                             // healed outages learned from
	median  time.Duration                   // median heal time
	targets [len(LearnLevels)]time.Duration // attempt times from the opening
	ok      bool                            // healed ≥ the minimum
}

// learn computes the plan of the outages, needing min healed ones. It
// allocates a scratch slice: it runs once per ended outage, not per
// decision.
func learn(outages []Outage, min int) plan {
	heals := make([]time.Duration, 0, len(outages))
	for _, u := range outages {
		if d, ok := u.HealTime(); ok {
			heals = append(heals, d)
		}
	}
	p := plan{healed: len(heals)}
	if len(heals) == 0 || len(heals) < min {
		return p
	}
	slices.Sort(heals)
	for i, level := range LearnLevels {
		p.targets[i] = nearestRank(heals, level)
	}
	p.median, p.ok = p.targets[0], true
	return p
}

// nearestRank returns the ⌈level·n⌉-th smallest of sorted (at least the
// first).
func nearestRank(sorted []time.Duration, level float64) time.Duration {
	i := int(math.Ceil(level*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// learnedDelayLocked returns the wait before attempt n of a Learned task whose
// wait begins elapsed after its outage opened, under policy p, and whether
// it was learned (false: too little history, p.Fallback's delay). Jitter,
// if any, spreads the learned wait, which stays within [InitialDelay,
// MaxDelay].
func (o *Orchestrator) learnedDelayLocked(name string, n int, elapsed time.Duration, p *Policy) (time.Duration, bool) {
	h := o.book.services[name]
	if h == nil || !h.plan.ok {
		s := backoff.Schedule{Strategy: p.Fallback, Initial: p.InitialDelay, Max: p.MaxDelay, Multiplier: p.BackoffMultiplier, Jitter: p.Jitter}
		d, _ := s.Delay(n, o.rng)
		return d, false
	}
	d := backoff.LadderDelay(n, elapsed, h.plan.targets[:], p.BackoffMultiplier, p.InitialDelay, p.MaxDelay)
	if p.Jitter > 0 {
		d = min(max(backoff.Jitter(d, p.Jitter, o.rng), p.InitialDelay), p.MaxDelay)
	}
	return d, true
}

// Learning says what the Learned strategy makes of a service's history, in
// Task.Learning and Orchestrator.Learning. In JSON durations are strings
// such as "4.2s".
type Learning struct {
	// Learned reports whether there was enough history; false means the
	// policy's Fallback strategy schedules the attempts.
	Learned bool `json:"learned"`
	// Outages is the number of healed outages learned from; MinOutages
	// the number needed (Config.LearnMinOutages).
	Outages    int `json:"outages"`
	MinOutages int `json:"min_outages"`
	// MedianHeal is the median heal time; zero unless Learned.
	MedianHeal antifragile.Duration `json:"median_heal"`
	// Targets are the times, from the opening of an outage, that the
	// attempts aim at (see LearnLevels), before the policy's bounds; empty
	// unless Learned.
	Targets []antifragile.Duration `json:"targets"`
	// FirstAttempt is the wait before the first attempt under the policy:
	// the first target clamped to [InitialDelay, MaxDelay], or the
	// fallback's first delay (before jitter).
	FirstAttempt antifragile.Duration `json:"first_attempt"`
	// Fallback is the strategy used without enough history.
	Fallback Strategy `json:"fallback"`
	// Reason says it in words: "learned from 12 outages: median heal 4.2s
	// → first attempt at 3.8s".
	Reason string `json:"reason"`
}

// learningLocked describes the plan of name under policy p.
func (o *Orchestrator) learningLocked(name string, p *Policy) Learning {
	var pl plan
	if h := o.book.services[name]; h != nil {
		pl = h.plan
	}
	l := Learning{Learned: pl.ok, Outages: pl.healed, MinOutages: o.cfg.LearnMinOutages, Fallback: p.Fallback, Targets: []antifragile.Duration{}}
	if !pl.ok {
		d, _ := backoff.Delay(p.Fallback, 1, p.InitialDelay, p.MaxDelay, p.BackoffMultiplier)
		l.FirstAttempt = antifragile.Duration(d)
		l.Reason = fmt.Sprintf("too little history (%d of %d healed outages): %s, first attempt at %s", pl.healed, l.MinOutages, p.Fallback, d)
		return l
	}
	first := backoff.LadderDelay(1, 0, pl.targets[:], p.BackoffMultiplier, p.InitialDelay, p.MaxDelay)
	l.MedianHeal, l.FirstAttempt = antifragile.Duration(pl.median), antifragile.Duration(first)
	for _, d := range pl.targets {
		l.Targets = append(l.Targets, antifragile.Duration(d))
	}
	l.Reason = fmt.Sprintf("learned from %d outages: median heal %s → first attempt at %s", pl.healed, roundDur(pl.median), roundDur(first))
	return l
}

// roundDur rounds d for reading: to 0.1 s above a second, 1 ms above a
// millisecond.
func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d
}

// Learning returns what the Learned strategy makes of the history of
// service name under its service policy (SetPolicy or the default),
// whatever strategy the service uses now. It is safe for concurrent use.
func (o *Orchestrator) Learning(name string) Learning {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.learningLocked(name, o.servicePolicyLocked(name))
}

// Outages returns the kept outages of service name, oldest first; empty
// for a service without history. It is safe for concurrent use.
func (o *Orchestrator) Outages(name string) []Outage {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.book.services[name]
	if h == nil {
		return []Outage{}
	}
	out := make([]Outage, len(h.outages))
	for i, u := range h.outages {
		out[i] = u
		out[i].Delays = slices.Clone(u.Delays)
	}
	return out
}
