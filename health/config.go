package health

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// ValidationError reports an invalid Config field or argument. It is the
// toolkit-wide antifragile.ValidationError; errors.Is(err,
// antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// Defaults applied to the zero fields of a Config.
const (
	DefaultHistoryWindow     = 5 * time.Minute
	DefaultMaxHistory        = 300
	DefaultCheckInterval     = time.Second
	DefaultDegradedThreshold = 0.7
	DefaultCriticalThreshold = 0.5
	DefaultMinEventInterval  = 10 * time.Millisecond
	DefaultCallbackQueue     = 16
	DefaultTopOffenders      = 5
)

// Upper bounds of a Config, checked by Validate.
const (
	MaxHistoryWindow = 24 * time.Hour
	MaxMaxHistory    = 100_000 // snapshots kept
	MaxCheckInterval = time.Hour
	MaxCallbackQueue = 1 << 16 // reports waiting for callbacks
	MaxTopOffenders  = 1000
)

// Config configures an Aggregator. The zero value is usable: enabled,
// collecting every second, HEALTHY at a score ≥ 0.7, DEGRADED at ≥ 0.5,
// CRITICAL below, keeping at most 300 snapshots of at most the last 5
// minutes, no hysteresis.
type Config struct {
	// Disabled turns the aggregator off: Run
	// returns at once, and Report, Collect and Current give an UNKNOWN
	// report. The default, false, means enabled.
	Disabled bool `json:"disabled"`

	// HistoryWindow is the age beyond which snapshots are evicted from the
	// history. 0 means 5 minutes; negative or above MaxHistoryWindow (24 h) is
	// invalid.
	HistoryWindow time.Duration `json:"history_window"`

	// MaxHistory is the most snapshots the history keeps; the oldest are
	// evicted first. 0 means 300; negative or above MaxMaxHistory (100,000) is
	// invalid.
	MaxHistory int `json:"max_history"`

	// CheckInterval is the period of Run's collections. 0 means 1 s;
	// negative or above MaxCheckInterval (1 h) is invalid.
	CheckInterval time.Duration `json:"check_interval"`

	// DegradedThreshold is the lowest score that is HEALTHY (inclusive).
	// 0 means 0.7; it must be within [0, 1] and not below
	// CriticalThreshold.
	DegradedThreshold float64 `json:"degraded_threshold"`

	// CriticalThreshold is the lowest score that is DEGRADED (inclusive);
	// below it the status is CRITICAL. 0 means 0.5; it must be within
	// [0, 1]. (An exact 0 cannot be asked for; a tiny positive value makes
	// only a score of 0 CRITICAL.)
	CriticalThreshold float64 `json:"critical_threshold"`

	// Hysteresis keeps a score hovering on a threshold from flapping the
	// status: once in a status, the aggregator leaves it for a worse one
	// only when the score falls below the threshold minus Hysteresis, and
	// for a better one only when the score reaches the threshold plus
	// Hysteresis (capped at 1). 0, the default, turns it off; it must be
	// within [0, 0.5]. The first collection is classified without it.
	Hysteresis float64 `json:"hysteresis"`

	// Weights sets the weight of breakers by name (default 1.0 each); a
	// weight must be positive and finite. SetWeight changes them later.
	Weights map[string]float64 `json:"weights"`

	// MinEventInterval is the least time between two collections caused by
	// breaker events: the first event after a quiet spell is collected at
	// once, and the events that follow within this span are gathered into
	// one collection at its end. 0 means 10 ms; a negative value collects
	// after every burst of events with no spacing; at most MaxCheckInterval.
	MinEventInterval time.Duration `json:"min_event_interval"`

	// CallbackQueue is how many status-change reports may wait for the
	// OnChange callbacks; when it is full a report is dropped and counted.
	// 0 means 16; negative or above MaxCallbackQueue (65,536) is invalid.
	CallbackQueue int `json:"callback_queue"`

	// TopOffenders is how many breakers Report.TopOffenders lists. 0 means
	// 5; a negative value turns the list off; at most MaxTopOffenders (1000).
	TopOffenders int `json:"top_offenders"`

	// Anomaly turns on and tunes anomaly detection (off by default): each
	// breaker's error rate and latency against a learned baseline, and an
	// at-risk signal before a trip rule fires. See AnomalyConfig.
	Anomaly AnomalyConfig `json:"anomaly"`

	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash. A wrong hash is refused by New.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`

	// Logger receives a line per status change (keys status, previous,
	// score; Warn when the status becomes CRITICAL, Info otherwise), logged
	// by the collection that saw it once its lock is released. nil means no
	// logging.
	Logger *slog.Logger `json:"-"`
}

// WithDefaults returns c with every zero field set to the default New
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.HistoryWindow == 0 {
		c.HistoryWindow = DefaultHistoryWindow
	}
	if c.MaxHistory == 0 {
		c.MaxHistory = DefaultMaxHistory
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.DegradedThreshold == 0 {
		c.DegradedThreshold = DefaultDegradedThreshold
	}
	if c.CriticalThreshold == 0 {
		c.CriticalThreshold = DefaultCriticalThreshold
	}
	if c.MinEventInterval == 0 {
		c.MinEventInterval = DefaultMinEventInterval
	}
	if c.CallbackQueue == 0 {
		c.CallbackQueue = DefaultCallbackQueue
	}
	if c.TopOffenders == 0 {
		c.TopOffenders = DefaultTopOffenders
	}
	c.Anomaly = c.Anomaly.withDefaults()
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	return c
}

// Validate reports every invalid field of c (after defaults are applied),
// each as a *ValidationError naming the field as spelled in JSON, joined
// with errors.Join; a wrong hash is a *antifragile.HashMismatchError. It
// returns nil when c is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	var problems antifragile.Problems
	bad := problems.Invalid
	if err := antifragile.ValidateHashFor(c.ConstitutionalHash, "health aggregator"); err != nil {
		problems.Add(err)
	}
	if c.HistoryWindow < 0 {
		bad("history_window", c.HistoryWindow, "must not be negative")
	}
	if c.MaxHistory < 0 {
		bad("max_history", c.MaxHistory, "must be at least 1 (0 means %d)", DefaultMaxHistory)
	}
	if c.CheckInterval < 0 {
		bad("check_interval", c.CheckInterval, "must be positive (0 means %s)", DefaultCheckInterval)
	}
	unit := func(v float64) bool { return v >= 0 && v <= 1 }
	dOK, cOK := unit(c.DegradedThreshold), unit(c.CriticalThreshold)
	if !dOK {
		bad("degraded_threshold", c.DegradedThreshold, "must be within [0, 1]")
	}
	if !cOK {
		bad("critical_threshold", c.CriticalThreshold, "must be within [0, 1]")
	}
	if dOK && cOK && c.CriticalThreshold > c.DegradedThreshold {
		bad("critical_threshold", c.CriticalThreshold, "must not exceed degraded_threshold %v", c.DegradedThreshold)
	}
	if !(c.Hysteresis >= 0 && c.Hysteresis <= 0.5) {
		bad("hysteresis", c.Hysteresis, "must be within [0, 0.5] (0 turns it off)")
	}
	for name, w := range c.Weights {
		if err := checkWeight(name, w); err != nil {
			problems.Add(err)
		}
	}
	if c.CallbackQueue < 0 {
		bad("callback_queue", c.CallbackQueue, "must be at least 1 (0 means %d)", DefaultCallbackQueue)
	}
	c.Anomaly.validate(&problems)
	antifragile.AtMost(&problems, "history_window", c.HistoryWindow, MaxHistoryWindow)
	antifragile.AtMost(&problems, "max_history", c.MaxHistory, MaxMaxHistory)
	antifragile.AtMost(&problems, "check_interval", c.CheckInterval, MaxCheckInterval)
	antifragile.AtMost(&problems, "min_event_interval", c.MinEventInterval, MaxCheckInterval)
	antifragile.AtMost(&problems, "callback_queue", c.CallbackQueue, MaxCallbackQueue)
	antifragile.AtMost(&problems, "top_offenders", c.TopOffenders, MaxTopOffenders)
	return problems.Err()
}

// checkWeight returns a *ValidationError unless w is positive and finite.
func checkWeight(name string, w float64) error {
	if w > 0 && !math.IsInf(w, 1) {
		return nil
	}
	return antifragile.Invalid(fmt.Sprintf("weights[%q]", name), w, "must be positive and finite")
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the Config's JSON form: the fields by their json names,
// durations as strings such as "30s".
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }
