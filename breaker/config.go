package breaker

import (
	"fmt"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// ValidationError reports an invalid Config field. It is the toolkit-wide
// antifragile.ValidationError; errors.Is(err, antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// WindowKind selects how the failure-rate and slow-call-rate rules remember
// recent calls.
type WindowKind uint8

const (
	// CountWindow remembers the last WindowSize calls.
	CountWindow WindowKind = iota
	// TimeWindow remembers the calls of the last WindowDuration, in Buckets
	// rolling buckets.
	TimeWindow
)

// String returns "count" or "time".
func (k WindowKind) String() string {
	if k == TimeWindow {
		return "time"
	}
	return "count"
}

// MarshalText encodes the kind as "count" or "time".
func (k WindowKind) MarshalText() ([]byte, error) {
	if k > TimeWindow {
		return nil, fmt.Errorf("breaker: unknown window kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes "count" or "time"; empty means count.
func (k *WindowKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "count", "":
		*k = CountWindow
	case "time":
		*k = TimeWindow
	default:
		return fmt.Errorf("unknown window %q: want count or time", b)
	}
	return nil
}

// Defaults applied to the zero fields of a Config.
const (
	DefaultConsecutiveFailures = 5
	DefaultOpenTimeout         = 30 * time.Second
	DefaultMinimumCalls        = 10
	DefaultWindowSize          = 100
	DefaultWindowDuration      = 60 * time.Second
	DefaultBuckets             = 10
)

// Upper bounds of a Config, checked by Validate, so that no value can exhaust
// memory or overflow the timeout arithmetic.
const (
	MaxWindowSize       = 1 << 20 // calls a count window remembers (4 MiB of slots)
	MaxBuckets          = 3600    // buckets of a time window
	MaxHalfOpenMaxCalls = 1 << 20 // trial calls of one half-open state
	MaxDuration         = 24 * time.Hour
)

// Config configures a Breaker. The zero value is usable: it trips after 5
// consecutive failures, stays open for 30 s, then admits one trial call.
// Every rate rule is off unless set; setting one turns the default
// consecutive-failure rule off (set ConsecutiveFailures to keep both).
// Rules lists the rules a Config puts in force. Every duration is at most
// MaxDuration.
type Config struct {
	// Name identifies the breaker in events, metrics and errors. A Registry
	// sets it to the registered name.
	Name string `json:"-"`

	// ConsecutiveFailures trips the breaker after this many failures in a row
	// (ignored outcomes neither extend nor break a run). 0 means 5 when no
	// rate rule is set and off when FailureRate or SlowCallRate is, so that a
	// rate-based config trips on its rates alone; a negative value turns the
	// rule off.
	ConsecutiveFailures int `json:"consecutive_failures"`

	// FailureRate trips the breaker when the share of failed calls in the
	// window is at least this value, once MinimumCalls calls are in the
	// window. It is checked after every recorded outcome, successes
	// included. 0 turns the rule off; otherwise it must be within (0, 1].
	FailureRate float64 `json:"failure_rate"`

	// SlowCallRate trips the breaker when the share of calls slower than
	// SlowCallThreshold is at least this value (with MinimumCalls as above).
	// 0 turns the rule off; otherwise it must be within (0, 1] and
	// SlowCallThreshold must be positive. Timing a call costs a clock read at
	// Allow and at Done.
	SlowCallRate float64 `json:"slow_call_rate"`

	// SlowCallThreshold is the duration above which a call counts as slow.
	// 0 turns slow-call counting off; negative is invalid. A positive
	// threshold times every call, which also gives the breaker its
	// Latency histogram (even with SlowCallRate off: then slow calls are
	// only counted).
	SlowCallThreshold time.Duration `json:"slow_call_threshold"`

	// MinimumCalls is how many calls the window must hold before a rate rule
	// may trip. 0 means 10; negative is invalid. It must not exceed
	// WindowSize for a count window (the rule could never fire).
	MinimumCalls int `json:"minimum_calls"`

	// Window selects a count-based (default) or time-based window for the
	// rate rules.
	Window WindowKind `json:"window"`

	// WindowSize is the number of calls a count window remembers. 0 means
	// 100; negative or above MaxWindowSize is invalid.
	WindowSize int `json:"window_size"`

	// WindowDuration is the span a time window remembers. 0 means 60 s;
	// negative is invalid.
	WindowDuration time.Duration `json:"window_duration"`

	// Buckets is the number of rolling buckets of a time window. 0 means 10;
	// negative or above MaxBuckets is invalid.
	Buckets int `json:"buckets"`

	// OpenTimeout is how long the breaker stays open before it admits trial
	// calls (half-open). 0 means 30 s; negative is invalid.
	OpenTimeout time.Duration `json:"open_timeout"`

	// OpenTimeoutMultiplier grows the open timeout on every trip that follows
	// a failed probe: timeout = OpenTimeout·multiplier^(trips−1), capped at
	// MaxOpenTimeout. 0 means 1 (constant); a value below 1 is invalid.
	OpenTimeoutMultiplier float64 `json:"open_timeout_multiplier"`

	// MaxOpenTimeout caps the grown open timeout. 0 means 10×OpenTimeout
	// (at most MaxDuration); a value below OpenTimeout is invalid.
	MaxOpenTimeout time.Duration `json:"max_open_timeout"`

	// HalfOpenMaxCalls is how many trial calls the half-open state admits at
	// once. 0 means 1; negative or above MaxHalfOpenMaxCalls is invalid.
	HalfOpenMaxCalls int `json:"half_open_max_calls"`

	// HalfOpenSuccesses is how many trial calls must succeed to close the
	// breaker; any failed trial opens it again, and so does a slow trial
	// when the slow-call rule is on. 0 means HalfOpenMaxCalls; it must not
	// exceed HalfOpenMaxCalls.
	HalfOpenSuccesses int `json:"half_open_successes"`

	// HalfOpenTimeout bounds how long a trial call may go unreported: when
	// the breaker has been half-open this long and a trial permit is still
	// out (its Done never came), the breaker opens again (reason
	// half_open_timeout) and a Done that comes later counts only as Late.
	// With no trial out, the breaker stays half-open and the limit starts
	// over. 0 means OpenTimeout; negative is invalid.
	HalfOpenTimeout time.Duration `json:"half_open_timeout"`

	// Classify tells how a call's non-nil error counts: Success, Failure or
	// Ignored (a nil error is always a success and is not passed to it). nil
	// means DefaultClassify: context.Canceled is ignored, any other error is
	// a failure. It must be safe for concurrent use and should be fast: it
	// runs on every failed call.
	Classify func(error) Outcome `json:"-"`

	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`
}

// WithDefaults returns c with every zero field set to the default New
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.ConsecutiveFailures == 0 {
		c.ConsecutiveFailures = DefaultConsecutiveFailures
		if c.rateRules() {
			c.ConsecutiveFailures = -1
		}
	}
	if c.MinimumCalls == 0 {
		c.MinimumCalls = DefaultMinimumCalls
	}
	if c.WindowSize == 0 {
		c.WindowSize = DefaultWindowSize
	}
	if c.WindowDuration == 0 {
		c.WindowDuration = DefaultWindowDuration
	}
	if c.Buckets == 0 {
		c.Buckets = DefaultBuckets
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	if c.OpenTimeoutMultiplier == 0 {
		c.OpenTimeoutMultiplier = 1
	}
	if c.MaxOpenTimeout == 0 && c.OpenTimeout > 0 {
		c.MaxOpenTimeout = max(c.OpenTimeout, min(10*c.OpenTimeout, MaxDuration))
		if c.OpenTimeout > MaxDuration/10 {
			c.MaxOpenTimeout = max(c.OpenTimeout, MaxDuration)
		}
	}
	if c.HalfOpenMaxCalls == 0 {
		c.HalfOpenMaxCalls = 1
	}
	if c.HalfOpenSuccesses == 0 {
		c.HalfOpenSuccesses = c.HalfOpenMaxCalls
	}
	if c.HalfOpenTimeout == 0 {
		c.HalfOpenTimeout = c.OpenTimeout
	}
	if c.Classify == nil {
		c.Classify = DefaultClassify
	}
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	return c
}

// Validate reports every invalid field of c (after defaults are applied) as
// a *ValidationError, joined with errors.Join; nil when c is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	var p antifragile.Problems
	if err := antifragile.ValidateHashFor(c.ConstitutionalHash, "breaker "+quote(c.Name)); err != nil {
		p.Add(err)
	}
	c.validateRules(&p)
	c.validateWindow(&p)
	c.validateStates(&p)
	return p.Err()
}

// checkDuration reports d below 0 or above MaxDuration.
func checkDuration(p *antifragile.Problems, field string, d time.Duration) {
	switch {
	case d < 0:
		p.Invalid(field, d, "must not be negative")
	case d > MaxDuration:
		p.Invalid(field, d, "must not exceed %s", MaxDuration)
	}
}

// validateRules checks the trip rules' rates and thresholds.
func (c Config) validateRules(p *antifragile.Problems) {
	rate := func(field string, v float64) {
		if v < 0 || v > 1 || v != v {
			p.Invalid(field, v, "must be within [0, 1] (0 turns the rule off)")
		}
	}
	rate("failure_rate", c.FailureRate)
	rate("slow_call_rate", c.SlowCallRate)
	checkDuration(p, "slow_call_threshold", c.SlowCallThreshold)
	if c.SlowCallRate > 0 && c.SlowCallThreshold <= 0 {
		p.Invalid("slow_call_threshold", c.SlowCallThreshold, "must be positive when slow_call_rate is set")
	}
	if c.MinimumCalls < 0 {
		p.Invalid("minimum_calls", c.MinimumCalls, "must not be negative")
	}
}

// validateWindow checks the window the rate rules read.
func (c Config) validateWindow(p *antifragile.Problems) {
	switch c.Window {
	case CountWindow:
		if c.WindowSize < 0 || c.WindowSize > MaxWindowSize {
			p.Invalid("window_size", c.WindowSize, "must be within [0, %d]", MaxWindowSize)
		} else if c.rateRules() && c.MinimumCalls > c.WindowSize {
			p.Invalid("minimum_calls", c.MinimumCalls, "must not exceed window_size %d: the rate rules could never trip", c.WindowSize)
		}
	case TimeWindow:
		checkDuration(p, "window_duration", c.WindowDuration)
		if c.Buckets < 0 || c.Buckets > MaxBuckets {
			p.Invalid("buckets", c.Buckets, "must be within [0, %d]", MaxBuckets)
		} else if c.WindowDuration > 0 && c.Buckets > 0 && c.WindowDuration/time.Duration(c.Buckets) <= 0 {
			p.Invalid("buckets", c.Buckets, "too many buckets for window_duration %s", c.WindowDuration)
		}
	default:
		p.Invalid("window", c.Window, "must be count (0) or time (1)")
	}
}

// validateStates checks the open and half-open settings.
func (c Config) validateStates(p *antifragile.Problems) {
	checkDuration(p, "open_timeout", c.OpenTimeout)
	if c.OpenTimeoutMultiplier < 1 || c.OpenTimeoutMultiplier != c.OpenTimeoutMultiplier {
		p.Invalid("open_timeout_multiplier", c.OpenTimeoutMultiplier, "must be at least 1")
	}
	if c.MaxOpenTimeout < c.OpenTimeout {
		p.Invalid("max_open_timeout", c.MaxOpenTimeout, "must not be below open_timeout %s", c.OpenTimeout)
	} else {
		checkDuration(p, "max_open_timeout", c.MaxOpenTimeout)
	}
	checkDuration(p, "half_open_timeout", c.HalfOpenTimeout)
	if c.HalfOpenMaxCalls < 0 || c.HalfOpenMaxCalls > MaxHalfOpenMaxCalls {
		p.Invalid("half_open_max_calls", c.HalfOpenMaxCalls, "must be within [0, %d]", MaxHalfOpenMaxCalls)
	}
	if c.HalfOpenSuccesses < 0 {
		p.Invalid("half_open_successes", c.HalfOpenSuccesses, "must not be negative")
	} else if c.HalfOpenSuccesses > c.HalfOpenMaxCalls {
		p.Invalid("half_open_successes", c.HalfOpenSuccesses, "must not exceed half_open_max_calls %d", c.HalfOpenMaxCalls)
	}
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the config's JSON form: the fields by their json names,
// durations as strings such as "30s", the window as "count" or "time".
// Name and Classify have no JSON form.
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// It reports every problem as a *ValidationError whose Field is the JSON
// path; it does not validate values (Validate does).
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }

func (c Config) rateRules() bool { return c.FailureRate > 0 || c.SlowCallRate > 0 }

// Rules describes the trip rules c puts in force (after defaults), one
// sentence each, such as "5 consecutive failures" or "failure rate ≥ 50% of
// the last 100 calls (at least 10 calls)". It is what `antifragile breakers`
// and the ops API show.
func (c Config) Rules() []string {
	c = c.withDefaults()
	rules := []string{}
	if c.ConsecutiveFailures > 0 {
		rules = append(rules, fmt.Sprintf("%d consecutive failures", c.ConsecutiveFailures))
	}
	var over string
	if c.Window == TimeWindow {
		over = fmt.Sprintf("the last %s", c.WindowDuration)
	} else {
		over = fmt.Sprintf("the last %d calls", c.WindowSize)
	}
	least := fmt.Sprintf("(at least %d calls)", c.MinimumCalls)
	if c.FailureRate > 0 {
		rules = append(rules, fmt.Sprintf("failure rate ≥ %s of %s %s", percent(c.FailureRate), over, least))
	}
	if c.SlowCallRate > 0 {
		rules = append(rules, fmt.Sprintf("slow-call rate ≥ %s (slower than %s) of %s %s", percent(c.SlowCallRate), c.SlowCallThreshold, over, least))
	}
	return rules
}

// percent formats a rate in [0, 1] as a percentage without needless decimals.
func percent(r float64) string {
	s := fmt.Sprintf("%.2f", r*100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// timed reports whether calls must be timed (slow-call counting).
func (c Config) timed() bool { return c.SlowCallThreshold > 0 }

func quote(s string) string { return `"` + s + `"` }
