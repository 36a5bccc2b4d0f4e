package health

import (
	"math"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/latency"
)

// Defaults applied to the zero fields of an AnomalyConfig.
const (
	DefaultAnomalyAlpha       = 0.1
	DefaultAnomalyMargin      = 3.0
	DefaultAnomalyMinDuration = 2 * time.Second
	DefaultAnomalyWarmup      = 10
	DefaultAnomalyMinCalls    = 10
	DefaultErrorRateFloor     = 0.05
	DefaultLatencyFloor       = 0.5
	DefaultAnomalyAdapt       = 10 * time.Minute
	// MinLatencyIncrease is the least rise of the mean latency over its
	// baseline that is ever an anomaly, whatever the baseline's spread: a
	// 40 µs call that takes 70 µs is not trouble.
	MinLatencyIncrease = time.Millisecond
)

// Upper bounds of an AnomalyConfig, checked by Validate.
const (
	MaxAnomalyMargin   = 100.0
	MaxAnomalyWarmup   = 10_000
	MaxAnomalyMinCalls = 1 << 30
	MaxLatencyFloor    = 100.0
)

// AnomalyConfig turns on and tunes anomaly detection: a streaming baseline
// of each breaker's error rate and mean latency, and an "at risk" signal
// when the current values depart from it for a while — before a trip rule
// fires. It is off by default; when on, it adds nothing to a call through a
// breaker: it reads the counters the breakers keep anyway, once per
// recorded collection (Collect and Run's periodic collections, every
// Config.CheckInterval).
//
// # The statistics
//
// Each recorded collection closes an interval. For every closed breaker
// that made at least MinCalls calls in it, the interval's error rate
// (failures / (successes + failures)) and, when the breaker's calls are
// timed, its mean latency are compared with an exponentially weighted
// moving mean μ and variance σ² of past intervals (Roberts' EWMA control
// chart, Technometrics 1959; the incremental update of Finch, "Incremental
// calculation of weighted mean and variance", 2009):
//
//	d = x − μ;  μ += α·d;  σ² = (1 − α)·(σ² + α·d²)
//
// An interval departs when x > μ + max(Margin·σ, floor), the floor being
// ErrorRateFloor for the error rate and LatencyFloor·μ (at least
// MinLatencyIncrease) for latency, so that a baseline with no spread does
// not flag noise. EWMA keeps two numbers per metric and costs O(1) per
// interval; each interval already averages many calls, so its values are
// near-normal and a σ band is meaningful (a median/MAD baseline would need
// buckets of past values for little gain at this granularity).
//
// A departure that lasts MinDuration raises the signal (since: the start of
// its first departing interval); intervals within the band for MinDuration
// clear it. Departing intervals do not feed the baseline, so an outage
// does not teach the detector that it is normal; a departure that lasts
// Adapt with the breaker closed is a new normal: the baseline starts over.
// Intervals with fewer than MinCalls calls (an open breaker makes none)
// decide nothing and are merged into the next.
type AnomalyConfig struct {
	// Enabled turns detection on. The default, false, detects nothing and
	// costs nothing.
	Enabled bool `json:"enabled"`
	// Alpha is the weight of the newest interval in the baseline. 0 means
	// 0.1 (about the last 10 intervals); it must be within (0, 1].
	Alpha float64 `json:"alpha"`
	// Margin is how many standard deviations above the baseline mean an
	// interval departs at. 0 means 3; negative or above 100 is invalid.
	Margin float64 `json:"margin"`
	// MinDuration is how long a departure (or a return within the band)
	// must last to raise (or clear) the signal. 0 means 2 s; negative or
	// above MaxCheckInterval (1 h) is invalid.
	MinDuration time.Duration `json:"min_duration"`
	// Warmup is how many intervals a baseline learns from before it
	// judges. 0 means 10; negative or above 10,000 is invalid.
	Warmup int `json:"warmup"`
	// MinCalls is the fewest calls an interval needs to be judged. 0 means
	// 10; negative is invalid.
	MinCalls int `json:"min_calls"`
	// ErrorRateFloor is the least rise of the error rate over its baseline
	// that departs (an absolute fraction: 0.05 is five points). 0 means
	// 0.05; it must be within [0, 1].
	ErrorRateFloor float64 `json:"error_rate_floor"`
	// LatencyFloor is the least rise of the mean latency that departs, as a
	// fraction of the baseline mean (0.5: 1.5× the baseline). 0 means 0.5;
	// negative or above 100 is invalid.
	LatencyFloor float64 `json:"latency_floor"`
	// Adapt is how long a departure may last, the breaker closed, before
	// it is taken as the new normal. 0 means 10 minutes; negative or above
	// MaxHistoryWindow (24 h) is invalid.
	Adapt time.Duration `json:"adapt"`
	// Weight is how much of an at-risk closed breaker's share the score
	// loses: 0, the default, keeps the score what it is without detection;
	// 0.25 counts an at-risk breaker as 0.75 of a healthy one. It must be
	// within [0, 1].
	Weight float64 `json:"weight"`
	// Latency, if set, gives the latency histogram of a breaker whose own
	// calls are not timed, such as a bus agent's deliveries (the bus's
	// Latency method). nil: only timed breakers (a slow-call threshold or
	// a time window) have a latency baseline. It must not block.
	Latency func(name string) (latency.Snapshot, bool) `json:"-"`
}

// withDefaults returns c with every zero field set to its default.
func (c AnomalyConfig) withDefaults() AnomalyConfig {
	c.Alpha = orFloat(c.Alpha, DefaultAnomalyAlpha)
	c.Margin = orFloat(c.Margin, DefaultAnomalyMargin)
	c.ErrorRateFloor = orFloat(c.ErrorRateFloor, DefaultErrorRateFloor)
	c.LatencyFloor = orFloat(c.LatencyFloor, DefaultLatencyFloor)
	if c.MinDuration == 0 {
		c.MinDuration = DefaultAnomalyMinDuration
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultAnomalyWarmup
	}
	if c.MinCalls == 0 {
		c.MinCalls = DefaultAnomalyMinCalls
	}
	if c.Adapt == 0 {
		c.Adapt = DefaultAnomalyAdapt
	}
	return c
}

func orFloat(v, dflt float64) float64 {
	if v == 0 {
		return dflt
	}
	return v
}

// validate adds the problems of c, after defaults, to p, naming the fields
// under "anomaly.".
func (c AnomalyConfig) validate(p *antifragile.Problems) {
	c = c.withDefaults()
	bad := func(field string, v any, format string, args ...any) {
		p.Invalid("anomaly."+field, v, format, args...)
	}
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		bad("alpha", c.Alpha, "must be within (0, 1] (0 means %v)", DefaultAnomalyAlpha)
	}
	if !(c.Margin >= 0 && c.Margin <= MaxAnomalyMargin) {
		bad("margin", c.Margin, "must be within [0, %v] (0 means %v)", MaxAnomalyMargin, DefaultAnomalyMargin)
	}
	if c.MinDuration < 0 || c.MinDuration > MaxCheckInterval {
		bad("min_duration", c.MinDuration, "must be within [0, %s] (0 means %s)", MaxCheckInterval, DefaultAnomalyMinDuration)
	}
	if c.Warmup < 0 || c.Warmup > MaxAnomalyWarmup {
		bad("warmup", c.Warmup, "must be within [1, %d] (0 means %d)", MaxAnomalyWarmup, DefaultAnomalyWarmup)
	}
	if c.MinCalls < 0 || c.MinCalls > MaxAnomalyMinCalls {
		bad("min_calls", c.MinCalls, "must be within [1, %d] (0 means %d)", MaxAnomalyMinCalls, DefaultAnomalyMinCalls)
	}
	if !(c.ErrorRateFloor >= 0 && c.ErrorRateFloor <= 1) {
		bad("error_rate_floor", c.ErrorRateFloor, "must be within [0, 1] (0 means %v)", DefaultErrorRateFloor)
	}
	if !(c.LatencyFloor >= 0 && c.LatencyFloor <= MaxLatencyFloor) {
		bad("latency_floor", c.LatencyFloor, "must be within [0, %v] (0 means %v)", MaxLatencyFloor, DefaultLatencyFloor)
	}
	if c.Adapt < 0 || c.Adapt > MaxHistoryWindow {
		bad("adapt", c.Adapt, "must be within [0, %s] (0 means %s)", MaxHistoryWindow, DefaultAnomalyAdapt)
	}
	if !(c.Weight >= 0 && c.Weight <= 1) {
		bad("weight", c.Weight, "must be within [0, 1] (0 leaves the score alone)")
	}
}

// Metric names what an anomaly departs in.
type Metric string

// The metrics anomaly detection watches.
const (
	// ErrorRate is failures / (successes + failures) per interval, a
	// fraction in [0, 1].
	ErrorRate Metric = "error_rate"
	// MeanLatency is the mean duration of an interval's calls, in seconds.
	MeanLatency Metric = "latency"
)

// Anomaly is a breaker found at risk: one of its metrics has departed from
// its baseline for at least AnomalyConfig.MinDuration.
type Anomaly struct {
	// Breaker is the breaker's name.
	Breaker string `json:"breaker"`
	// Metric is what departed.
	Metric Metric `json:"metric"`
	// Baseline is the metric's baseline mean and StdDev its standard
	// deviation, in the metric's unit (a fraction, or seconds).
	Baseline float64 `json:"baseline"`
	StdDev   float64 `json:"stddev"`
	// Threshold is the value above which an interval departs.
	Threshold float64 `json:"threshold"`
	// Current is the value of the last departing interval.
	Current float64 `json:"current"`
	// Since is when the departure began: the start of its first departing
	// interval.
	Since time.Time `json:"since"`
}

// AnomalyEvent is an at-risk signal raised or cleared.
type AnomalyEvent struct {
	// Kind is "at_risk" when the signal is raised, "cleared" when the
	// metric has been back within its band for MinDuration, "adapted" when
	// a lasting departure became the new baseline, or "removed" when the
	// breaker left the aggregator.
	Kind string `json:"kind"`
	// Anomaly is the departure, as last seen.
	Anomaly Anomaly `json:"anomaly"`
	// Time is when the collection that decided it was taken, in UTC.
	Time time.Time `json:"time"`
	// ConstitutionalHash is the aggregator's validated hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// baseline is an exponentially weighted mean and variance.
type baseline struct {
	mean, variance float64
	n              int // intervals learned
}

// add learns x with weight alpha (the first value is the mean).
func (b *baseline) add(x, alpha float64) {
	if b.n == 0 {
		b.mean, b.variance = x, 0
	} else {
		d := x - b.mean
		b.mean += alpha * d
		b.variance = (1 - alpha) * (b.variance + alpha*d*d)
	}
	b.n++
}

func (b *baseline) stddev() float64 { return math.Sqrt(b.variance) }

// signal is the detector's state for one metric of one breaker.
type signal struct {
	base        baseline
	departSince time.Time     // the start of the current departure; zero when none
	departFor   time.Duration // how long the current departure's judged intervals last
	normalSince time.Time     // at risk: the start of the current return within the band
	atRisk      bool
	since       time.Time // at risk: when the departure that raised it began
	last        Anomaly   // at risk: the departure as last seen
}
