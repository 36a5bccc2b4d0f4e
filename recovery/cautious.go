package recovery

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

// Cautious mode defaults and bounds.
const (
	DefaultCautiousDuration         = time.Minute
	DefaultCautiousMinTruePositives = 1
	MaxCautiousMinTruePositives     = 1_000_000
)

// CautiousConfig turns on the cautious mode: when AtRisk predicts an
// outage of a service whose past at-risk signals have led up to its
// outages before (at least MinTruePositives of its predictions were
// followed by one), the orchestrator tightens the service's breaker for
// Duration — half its run of consecutive failures (rounded up), half its
// failure- and slow-call-rate thresholds (at least 0.01), one trial call in
// half-open state — so that the outage, if it comes, is cut short sooner
// and probed more gently; then it puts the breaker's configuration back
// (unless someone reconfigured it meanwhile). A reconfigured breaker starts
// a new generation: its failure run and window start empty. Off by
// default.
type CautiousConfig struct {
	// Enabled turns the cautious mode on.
	Enabled bool `json:"enabled"`
	// Duration is how long a breaker stays cautious. 0 means 1 minute;
	// negative or above MaxPolicyDuration (24 h) is invalid.
	Duration time.Duration `json:"duration"`
	// MinTruePositives is how many of a service's predictions must have
	// been followed by an outage before its predictions make its breaker
	// cautious. 0 means 1; negative is invalid.
	MinTruePositives int `json:"min_true_positives"`
}

func (c CautiousConfig) withDefaults() CautiousConfig {
	if c.Duration == 0 {
		c.Duration = DefaultCautiousDuration
	}
	if c.MinTruePositives == 0 {
		c.MinTruePositives = DefaultCautiousMinTruePositives
	}
	return c
}

// validate adds the problems of c to p, under "cautious.".
func (c CautiousConfig) validate(p *antifragile.Problems) {
	if c.Duration < 0 {
		p.Invalid("cautious.duration", c.Duration, "must not be negative (0 means %s)", DefaultCautiousDuration)
	}
	if c.MinTruePositives < 0 {
		p.Invalid("cautious.min_true_positives", c.MinTruePositives, "must not be negative (0 means %d)", DefaultCautiousMinTruePositives)
	}
	antifragile.AtMost(p, "cautious.duration", c.Duration, MaxPolicyDuration)
	antifragile.AtMost(p, "cautious.min_true_positives", c.MinTruePositives, MaxCautiousMinTruePositives)
}

// CautiousStatus is one breaker in cautious mode (Status.Cautious).
type CautiousStatus struct {
	Service string    `json:"service"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	// Rules are the trip rules in force while cautious.
	Rules []string `json:"rules"`
	// Why says what made it cautious.
	Why string `json:"why"`
}

// caution is one breaker in cautious mode; guarded by Orchestrator.mu.
type caution struct {
	status  CautiousStatus
	prev    breaker.Config // its configuration before
	follows bool           // it followed the registry's default before
	tight   breaker.Config // what the orchestrator put in force
	timer   *time.Timer    // ends it
}

// Tighten returns the cautious form of c (see CautiousConfig): half its
// consecutive failures, half its rate thresholds, one half-open trial.
func Tighten(c breaker.Config) breaker.Config {
	t := c
	t.HalfOpenMaxCalls = 1
	if t.HalfOpenSuccesses > 1 {
		t.HalfOpenSuccesses = 1
	}
	if c.ConsecutiveFailures > 1 {
		t.ConsecutiveFailures = (c.ConsecutiveFailures + 1) / 2
	}
	if c.FailureRate > 0 {
		t.FailureRate = max(c.FailureRate/2, 0.01)
	}
	if c.SlowCallRate > 0 {
		t.SlowCallRate = max(c.SlowCallRate/2, 0.01)
	}
	return t
}

// maybeCaution puts the breaker of name in cautious mode when the config
// asks for it and its predictions have come true before. Called by AtRisk
// without the lock.
func (o *Orchestrator) maybeCaution(name string) {
	cc := o.cfg.Cautious
	if !cc.Enabled || o.reg == nil {
		return
	}
	b, ok := o.reg.Get(name)
	if !ok {
		return
	}
	if st, ok := o.caution(name, b, cc); ok {
		o.logCaution("recovery: breaker cautious", name, st)
	}
}

// caution is maybeCaution under the lock: it reports the cautious mode it
// started, or false.
func (o *Orchestrator) caution(name string, b *breaker.Breaker, cc CautiousConfig) (CautiousStatus, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.pred.per[name]
	if o.closed || c == nil || c.TruePositives < uint64(cc.MinTruePositives) {
		return CautiousStatus{}, false
	}
	now := o.wall(o.now())
	if cur := o.cautious[name]; cur != nil { // already cautious: last longer
		cur.status.Until = now.Add(cc.Duration)
		cur.timer.Reset(cc.Duration)
		return CautiousStatus{}, false
	}
	prev, follows := b.Config(), o.reg.Follows(name)
	tight := Tighten(prev)
	if err := b.Reconfigure(tight); err != nil {
		return CautiousStatus{}, false // a config Tighten cannot make invalid; nothing changed
	}
	why := "at risk, and " + strconv.FormatUint(c.TruePositives, 10) + " of its past predictions were followed by an outage"
	cu := &caution{prev: prev, follows: follows, tight: b.Config(),
		status: CautiousStatus{Service: name, Since: now, Until: now.Add(cc.Duration), Rules: tight.Rules(), Why: why}}
	cu.timer = time.AfterFunc(cc.Duration, func() { o.endCaution(name, cu) })
	if o.cautious == nil {
		o.cautious = make(map[string]*caution)
	}
	o.cautious[name] = cu
	return cu.status, true
}

// endCaution puts back the configuration cu replaced, if nobody changed it
// meanwhile. It runs on cu's timer, or from Close.
func (o *Orchestrator) endCaution(name string, cu *caution) {
	o.mu.Lock()
	if o.cautious[name] != cu {
		o.mu.Unlock()
		return
	}
	delete(o.cautious, name)
	o.mu.Unlock()
	b, ok := o.reg.Get(name)
	if !ok || !sameRules(b.Config(), cu.tight) {
		return
	}
	if cu.follows {
		_ = o.reg.Reconfigure(name, breaker.Config{})
	} else {
		_ = b.Reconfigure(cu.prev)
	}
	o.logCaution("recovery: breaker no longer cautious", name, cu.status)
}

// sameRules reports whether a and b trip alike: the fields Tighten
// changes.
func sameRules(a, b breaker.Config) bool {
	return a.ConsecutiveFailures == b.ConsecutiveFailures && a.FailureRate == b.FailureRate &&
		a.SlowCallRate == b.SlowCallRate && a.HalfOpenMaxCalls == b.HalfOpenMaxCalls && a.HalfOpenSuccesses == b.HalfOpenSuccesses
}

// endCautions ends every cautious mode at once (Close).
func (o *Orchestrator) endCautions() {
	o.mu.Lock()
	all := make(map[string]*caution, len(o.cautious))
	for name, cu := range o.cautious {
		cu.timer.Stop()
		all[name] = cu
	}
	o.mu.Unlock()
	for name, cu := range all {
		o.endCaution(name, cu)
	}
}

// cautiousLocked lists the breakers in cautious mode, by name.
func (o *Orchestrator) cautiousLocked() []CautiousStatus {
	out := make([]CautiousStatus, 0, len(o.cautious))
	for _, cu := range o.cautious {
		out = append(out, cu.status)
	}
	slices.SortFunc(out, func(a, b CautiousStatus) int { return strings.Compare(a.Service, b.Service) })
	return out
}

func (o *Orchestrator) logCaution(msg, name string, st CautiousStatus) {
	if l := o.cfg.Logger; l != nil {
		l.LogAttrs(context.Background(), slog.LevelInfo, msg, slog.String("service", name),
			slog.String("rules", strings.Join(st.Rules, " or ")), slog.Time("until", st.Until))
	}
}
