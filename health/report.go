package health

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

// Snapshot is the point-in-time summary of a collection that the history
// keeps. Its slices are shared with the Report it came from: treat them as
// read-only.
type Snapshot struct {
	// Timestamp is when the snapshot was taken, in UTC.
	Timestamp time.Time `json:"timestamp"`
	// Status is the status the score maps to (after hysteresis).
	Status Status `json:"status"`
	// Score is Σ wᵢ·vᵢ / Σ wᵢ with v = 1 closed, 0.5 half-open, 0 open or
	// forced open, over the breakers that are not disabled; 1 when there
	// are none. It is 0 in an UNKNOWN report.
	Score Score `json:"health_score"`
	// Total counts every breaker, disabled ones included:
	// Total = Closed + HalfOpen + Open + Disabled.
	Total int `json:"total_breakers"`
	// Closed counts the closed breakers.
	Closed int `json:"closed_breakers"`
	// HalfOpen counts the half-open breakers.
	HalfOpen int `json:"half_open_breakers"`
	// Open counts the open and forced-open breakers (and any source that
	// reports a state this package does not know).
	Open int `json:"open_breakers"`
	// Disabled counts the disabled breakers, which the score leaves out.
	Disabled int `json:"disabled_breakers"`
	// Degraded names the half-open breakers, sorted.
	Degraded []string `json:"degraded_services"`
	// Critical names the open and forced-open breakers, sorted.
	Critical []string `json:"critical_services"`
	// Thresholds are the scores at which the status changes, so that a
	// reader can tell why a score is the status it is.
	Thresholds Thresholds `json:"thresholds"`
	// ConstitutionalHash is the aggregator's validated hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Thresholds are an aggregator's status thresholds: a score at or above
// Degraded is HEALTHY, at or above Critical DEGRADED, below it CRITICAL
// (Hysteresis widens each boundary for the status already in force).
type Thresholds struct {
	Degraded   float64 `json:"degraded"`
	Critical   float64 `json:"critical"`
	Hysteresis float64 `json:"hysteresis,omitempty"`
}

// Report is a Snapshot with per-breaker details. Reports returned by an
// Aggregator are shared and immutable: callers must not modify them or
// their slices, which successive reports may share (Degraded, Critical and
// TopOffenders, when they are unchanged). Circuits is each report's own.
type Report struct {
	Snapshot
	// Circuits holds one entry per breaker, sorted by name.
	Circuits []Circuit `json:"circuit_details"`
	// TopOffenders lists the breakers that pulled the score down most,
	// largest loss first (ties by name), at most Config.TopOffenders.
	TopOffenders []Offender `json:"top_offenders"`
	// Anomalies lists the breakers at risk (see AnomalyConfig), sorted by
	// breaker and metric; left out of the JSON when there are none or
	// detection is off.
	Anomalies []Anomaly `json:"anomalies,omitempty"`
}

// Circuit is one breaker's line in a Report. The counters are those of the
// breaker's Metrics; a custom source that is only a breaker.StateSource
// reports zero counters and a zero Since.
type Circuit struct {
	// Name is the breaker's name in the registry or custom source's name.
	Name string `json:"name"`
	// State is the breaker's state when the report was taken.
	State breaker.State `json:"state"`
	// Custom is true for a source added with Aggregator.Register.
	Custom bool `json:"custom,omitempty"`
	// Weight is the breaker's weight in the score (default 1).
	Weight float64 `json:"weight"`
	// Failures counts failed calls since the breaker was created or reset.
	Failures uint64 `json:"failures"`
	// Successes counts successful calls since the breaker was created or reset.
	Successes uint64 `json:"successes"`
	// ConsecutiveFailures is the current run of failures.
	ConsecutiveFailures int64 `json:"consecutive_failures"`
	// Since is when the breaker entered its state (its last transition).
	Since time.Time `json:"since,omitzero"`
	// AtRisk is true when one of the breaker's metrics has departed from
	// its baseline (see Report.Anomalies).
	AtRisk bool `json:"at_risk,omitempty"`
}

// Offender is a breaker that lowered the score.
type Offender struct {
	// Name is the breaker's name.
	Name string `json:"name"`
	// State is its state: half-open or open, or closed for a breaker at
	// risk when AnomalyConfig.Weight is set.
	State breaker.State `json:"state"`
	// Loss is the part of the score it took away: wᵢ·(1−vᵢ) / Σ w (for a
	// closed breaker at risk, vᵢ = 1 − AnomalyConfig.Weight). The losses of
	// all breakers add up to 1 − Score.
	Loss Score `json:"loss"`
}

// Circuit returns the entry of the breaker named name. It is safe for
// concurrent use and runs in O(log n).
func (r *Report) Circuit(name string) (Circuit, bool) {
	i := sort.Search(len(r.Circuits), func(i int) bool { return r.Circuits[i].Name >= name })
	if i < len(r.Circuits) && r.Circuits[i].Name == name {
		return r.Circuits[i], true
	}
	return Circuit{}, false
}

// classify maps score to a status given the previous one and the
// thresholds of cfg. See Config.Hysteresis.
func classify(score float64, prev Status, degraded, critical, h float64) Status {
	raw := Critical
	switch {
	case score >= degraded:
		raw = Healthy
	case score >= critical:
		raw = Degraded
	}
	if h == 0 || prev == Unknown || raw == prev {
		return raw
	}
	// The band edges t±h carry rounding errors (0.05+0.1 > 0.15), which
	// eps absorbs so that a score exactly on an edge counts as reaching it.
	const eps = 1e-9
	up := func(t float64) float64 { return min(t+h, 1) - eps }
	down := func(t float64) bool { return score < t-h-eps || (score <= 0 && t > 0) }
	switch prev {
	case Healthy:
		switch {
		case !down(degraded):
			return Healthy
		case !down(critical):
			return Degraded
		}
		return Critical
	case Degraded:
		switch {
		case score >= up(degraded):
			return Healthy
		case !down(critical):
			return Degraded
		}
		return Critical
	default: // Critical
		switch {
		case score >= up(degraded):
			return Healthy
		case score >= up(critical):
			return Degraded
		}
		return Critical
	}
}

// build reads every member of v and returns the report. It takes no lock
// of the aggregator; it reads the breakers with atomic loads only. It makes
// one pass over the members, writing each one's Circuit in the report's
// single Circuits allocation. The name lists and top offenders are those of
// the last report over v when it found the same half-open and open members
// (see badSet); otherwise a second pass over the circuits builds them.
func (a *Aggregator) build(v *view, now time.Time, prev Status) *Report {
	r := emptyReport(now, a.cfg.ConstitutionalHash)
	if n := len(v.members); n > 0 {
		r.Circuits = make([]Circuit, n)
	}
	last := a.bad.Load()
	if last != nil && last.view != v {
		last = nil
	}
	sumW, sumWV, same := scan(v, r, last)
	risky := 0 // closed breakers at risk that lose score
	if a.det != nil {
		r.Anomalies = *a.det.current.Load()
		risky, sumWV = a.markAtRisk(r, sumWV)
	}
	r.Total = len(v.members)
	score := 1.0
	if sumW > 0 {
		score = min(sumWV/sumW, 1)
	}
	r.Score = Score(score)
	r.Thresholds = Thresholds{Degraded: a.cfg.DegradedThreshold, Critical: a.cfg.CriticalThreshold, Hysteresis: a.cfg.Hysteresis}
	r.Status = classify(score, prev, a.cfg.DegradedThreshold, a.cfg.CriticalThreshold, a.cfg.Hysteresis)
	switch {
	case risky > 0:
		a.bad.Store(a.offenders(v, r, sumW, risky))
	case r.HalfOpen+r.Open == 0:
		if a.bad.Load() != nil {
			a.bad.Store(nil) // let go of the old view
		}
	case same && last.risky == 0 && last.holds(r, sumW):
		r.Degraded, r.Critical, r.TopOffenders = last.degraded, last.critical, last.top
	default:
		a.bad.Store(a.offenders(v, r, sumW, 0))
	}
	return r
}

// markAtRisk marks the circuits of r's anomalies at risk and takes the
// anomaly weight off sumWV for each closed one; it returns how many closed
// circuits lost score and the new sumWV.
func (a *Aggregator) markAtRisk(r *Report, sumWV float64) (int, float64) {
	risky := 0
	for i, an := range r.Anomalies {
		if i > 0 && r.Anomalies[i-1].Breaker == an.Breaker {
			continue // both metrics of one breaker: count it once
		}
		j, ok := slices.BinarySearchFunc(r.Circuits, an.Breaker, func(c Circuit, name string) int { return strings.Compare(c.Name, name) })
		if !ok {
			continue
		}
		c := &r.Circuits[j]
		c.AtRisk = true
		if w := a.cfg.Anomaly.Weight; w > 0 && c.State == breaker.Closed {
			sumWV -= w * c.Weight
			risky++
		}
	}
	return risky, sumWV
}

// readMember reads the state and the counters of m's source. It is the one
// place where the aggregator calls a breaker, so that a cheaper accessor
// than Metrics is a change of this function only. A source that is only a
// breaker.StateSource reports zero counters and a zero since.
func readMember(m *member) (state breaker.State, failures, successes uint64, consecutive int64, since time.Time) {
	var met breaker.Metrics
	switch {
	case m.b != nil:
		sm := m.b.Summary() // the few counters a report needs, not the whole Metrics
		return sm.State, sm.Failures, sm.Successes, sm.ConsecutiveFailures, sm.LastTransition
	case m.ms != nil:
		met = m.ms.Metrics()
	default:
		met.State = m.src.State()
	}
	return met.State, met.Failures, met.Successes, met.ConsecutiveFailures, met.LastTransition
}

// scan reads every member of v into r.Circuits (which has one entry per
// member), counts the states into r and returns the weight sums of the
// score. same reports whether the half-open and the open members are, by
// name, last's Degraded and Critical (false when last is nil).
func scan(v *view, r *Report, last *badSet) (sumW, sumWV float64, same bool) {
	var degraded, critical []string
	if last != nil {
		degraded, critical, same = last.degraded, last.critical, true
	}
	d, c := 0, 0 // how many of each list were matched
	for i := range v.members {
		m := &v.members[i]
		ci := &r.Circuits[i]
		ci.Name, ci.Weight, ci.Custom = m.name, m.weight, m.custom
		ci.State, ci.Failures, ci.Successes, ci.ConsecutiveFailures, ci.Since = readMember(m)
		switch ci.State {
		case breaker.Closed:
			r.Closed++
			sumW += m.weight
			sumWV += m.weight
		case breaker.Disabled:
			r.Disabled++
		case breaker.HalfOpen:
			r.HalfOpen++
			sumW += m.weight
			sumWV += 0.5 * m.weight
			same = same && d < len(degraded) && degraded[d] == m.name
			d++
		default: // open, forced open, or a state we do not know
			r.Open++
			sumW += m.weight
			same = same && c < len(critical) && critical[c] == m.name
			c++
		}
	}
	return sumW, sumWV, same && d == len(degraded) && c == len(critical)
}

// badSet is what a report over a view found wrong: the names of its
// half-open and open members, the score's total weight, and its top
// offenders. It is immutable, and so are its slices, which later reports
// share (reports are never modified): a report over the same view whose
// half-open and open members have the same names, whose total weight is
// the same and whose top offenders are in the same states has the same
// lists (an offender's loss depends on its weight, on whether it is
// half-open, and on the total weight only).
type badSet struct {
	view     *view
	sumW     float64
	risky    int // closed offenders at risk: such a set is never reused
	degraded []string
	critical []string
	top      []Offender
}

// holds reports whether the lists of b are those of r, whose half-open and
// open members have b's names and whose total weight is sumW: whether each
// top offender is still in the state it was listed with.
func (b *badSet) holds(r *Report, sumW float64) bool {
	if b.sumW != sumW {
		return false
	}
	for _, o := range b.top {
		if c, _ := r.Circuit(o.Name); c.State != o.State {
			return false
		}
	}
	return true
}

// offenders fills r's Degraded and Critical (one allocation for both) and
// TopOffenders from its circuits, and returns them as the badSet of v;
// risky closed circuits at risk lose score too.
func (a *Aggregator) offenders(v *view, r *Report, sumW float64, risky int) *badSet {
	names := make([]string, r.HalfOpen+r.Open)
	r.Degraded = names[:0:r.HalfOpen]
	r.Critical = names[r.HalfOpen:r.HalfOpen]
	k := a.cfg.TopOffenders
	if k > 0 {
		r.TopOffenders = make([]Offender, 0, min(k, len(names)+risky))
	}
	for i := range r.Circuits {
		c := &r.Circuits[i]
		var loss float64
		switch c.State {
		case breaker.Closed:
			if risky == 0 || !c.AtRisk {
				continue
			}
			loss = a.cfg.Anomaly.Weight * c.Weight / sumW
		case breaker.Disabled:
			continue
		case breaker.HalfOpen:
			r.Degraded = append(r.Degraded, c.Name)
			loss = 0.5 * c.Weight / sumW
		default:
			r.Critical = append(r.Critical, c.Name)
			loss = c.Weight / sumW
		}
		if k > 0 {
			r.TopOffenders = addOffender(r.TopOffenders, Offender{Name: c.Name, State: c.State, Loss: Score(loss)})
		}
	}
	return &badSet{view: v, sumW: sumW, risky: risky, degraded: r.Degraded, critical: r.Critical, top: r.TopOffenders}
}

// emptyReport returns a report with no breakers, an UNKNOWN status and a
// score of 0. Its slices are empty rather than nil so that JSON shows [].
func emptyReport(now time.Time, hash string) *Report {
	return &Report{
		Snapshot: Snapshot{
			Timestamp:          now,
			Degraded:           []string{},
			Critical:           []string{},
			ConstitutionalHash: hash,
		},
		Circuits:     []Circuit{},
		TopOffenders: []Offender{},
	}
}

// addOffender inserts o into top, kept sorted by loss descending, holding
// at most cap(top) entries. Entries arrive in name order, so an equal loss
// goes after the ones already there.
func addOffender(top []Offender, o Offender) []Offender {
	i := len(top)
	for i > 0 && top[i-1].Loss < o.Loss {
		i--
	}
	if i == cap(top) {
		return top
	}
	if len(top) < cap(top) {
		top = append(top, Offender{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = o
	return top
}
