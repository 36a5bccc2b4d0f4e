package metering

import (
	"errors"
	"log/slog"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/backoff"
	"github.com/antifragile-go/antifragile/internal/codec"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
)

// ValidationError is the toolkit's validation error; a bad Config field is
// reported as one (errors.Is(err, antifragile.ErrInvalid) holds).
type ValidationError = antifragile.ValidationError

// Defaults of Config and RetryPolicy.
const (
	DefaultMaxQueueSize        = 10_000
	DefaultBatchSize           = 100
	DefaultFlushInterval       = time.Second
	DefaultAggregationInterval = 60 * time.Second
	DefaultRetryInitial        = 100 * time.Millisecond
	DefaultRetryMax            = 30 * time.Second
	DefaultRetryMultiplier     = 2.0
)

// Upper bounds of a Config, checked by Validate, so that no value can
// exhaust memory (the queue is allocated up front, rounded up to a power of
// two) or overflow the backoff arithmetic.
const (
	MaxMaxQueueSize  = 1 << 20 // events queued: about 170 MiB of slots
	MaxBatchSize     = 100_000
	MaxInterval      = 24 * time.Hour // flush and aggregation intervals, retry delays
	MaxRetryFactor   = 1000.0         // retry multiplier
	MaxRetryAttempts = 1_000_000
)

// Config configures a Meter. Its zero value is
// valid and gives the defaults below.
type Config struct {
	// Disabled turns the meter off: Record returns false and counts
	// nothing. Metering is enabled by default.
	Disabled bool `json:"disabled,omitempty"`
	// MaxQueueSize bounds the events accepted but not yet handed to the
	// sink; Record drops (and counts) beyond it. 0 means 10,000; negative or
	// above MaxMaxQueueSize (1,048,576) is invalid. The batch being delivered is held outside this bound.
	MaxQueueSize int `json:"max_queue_size,omitempty"`
	// BatchSize is how many events one sink Write carries at most; Run
	// flushes as soon as this many are queued. 0 means 100; negative or
	// above MaxBatchSize (100,000) is invalid.
	BatchSize int `json:"batch_size,omitempty"`
	// FlushInterval is how often Run flushes a partial batch. 0 means 1 s;
	// negative or above MaxInterval (24 h) is invalid.
	FlushInterval time.Duration `json:"flush_interval,omitempty"`
	// AggregationInterval is the window of the default memory sink (used
	// when Sink is nil). 0 means 60 s; negative or above MaxInterval is
	// invalid.
	AggregationInterval time.Duration `json:"aggregation_interval,omitempty"`
	// Retry governs re-sending a batch the sink refused. The zero value
	// retries from 100 ms, doubling up to 30 s, until delivered.
	Retry RetryPolicy `json:"retry,omitzero"`
	// ConstitutionalHash is stamped on events that carry none. Empty means
	// antifragile.ConstitutionalHash; any other value is refused.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`
	// Sink receives the batches. nil means a new MemorySink whose window is
	// AggregationInterval (reachable through Meter.Sink). A typed nil (such
	// as a nil *MemorySink, or a nil SinkFunc) is invalid.
	Sink Sink `json:"-"`
	// Logger receives at most one warning per FlushInterval while events
	// are being dropped or abandoned, never one per event. nil means no
	// logging.
	Logger *slog.Logger `json:"-"`
}

// RetryPolicy is the backoff for a batch the sink refused: the n-th retry
// waits Initial·Multiplierⁿ⁻¹, capped at Max. The batch is held (not
// re-queued) meanwhile; Record keeps accepting up to MaxQueueSize.
type RetryPolicy struct {
	// Initial is the first delay. 0 means 100 ms; negative or above
	// MaxInterval is invalid.
	Initial time.Duration `json:"initial,omitempty"`
	// Max caps the delay. 0 means 30 s; negative, below Initial or above
	// MaxInterval is invalid.
	Max time.Duration `json:"max,omitempty"`
	// Multiplier grows the delay. 0 means 2; below 1 (or NaN) or above
	// MaxRetryFactor (1000) is invalid.
	Multiplier float64 `json:"multiplier,omitempty"`
	// MaxAttempts abandons a batch after that many failed writes, counting
	// its events in Metrics.Failed. 0 means retry until delivered or until
	// the context of Run, Flush or Close ends; negative or above
	// MaxRetryAttempts is invalid.
	MaxAttempts int `json:"max_attempts,omitempty"`
}

// WithDefaults returns c with every zero field set to the default New
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.MaxQueueSize == 0 {
		c.MaxQueueSize = DefaultMaxQueueSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.AggregationInterval == 0 {
		c.AggregationInterval = DefaultAggregationInterval
	}
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	c.Retry = c.Retry.withDefaults()
	return c
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Initial == 0 {
		p.Initial = DefaultRetryInitial
	}
	if p.Max == 0 {
		p.Max = max(DefaultRetryMax, p.Initial)
	}
	if p.Multiplier == 0 {
		p.Multiplier = DefaultRetryMultiplier
	}
	return p
}

// Validate reports every invalid field of c, with defaults applied first,
// as *ValidationError values joined with errors.Join; nil when c is valid.
// A wrong constitutional hash is a *ValidationError for
// "constitutional_hash" that wraps the *antifragile.HashMismatchError, so
// errors.Is(err, antifragile.ErrHashMismatch) holds too.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.MaxQueueSize < 0 {
		errs = append(errs, antifragile.Invalid("max_queue_size", c.MaxQueueSize, "must not be negative"))
	}
	if c.BatchSize < 0 {
		errs = append(errs, antifragile.Invalid("batch_size", c.BatchSize, "must not be negative"))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, antifragile.Invalid("flush_interval", c.FlushInterval, "must not be negative"))
	}
	if c.AggregationInterval < 0 {
		errs = append(errs, antifragile.Invalid("aggregation_interval", c.AggregationInterval, "must not be negative"))
	}
	if err := antifragile.ValidateHashFor(c.ConstitutionalHash, "metering config"); err != nil {
		errs = append(errs, &ValidationError{Field: "constitutional_hash", Value: c.ConstitutionalHash, Err: err})
	}
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "max_queue_size", c.MaxQueueSize, MaxMaxQueueSize)
	antifragile.AtMost(&bounds, "batch_size", c.BatchSize, MaxBatchSize)
	antifragile.AtMost(&bounds, "flush_interval", c.FlushInterval, MaxInterval)
	antifragile.AtMost(&bounds, "aggregation_interval", c.AggregationInterval, MaxInterval)
	antifragile.AtMost(&bounds, "retry.initial", c.Retry.Initial, MaxInterval)
	antifragile.AtMost(&bounds, "retry.max", c.Retry.Max, MaxInterval)
	antifragile.AtMost(&bounds, "retry.multiplier", c.Retry.Multiplier, MaxRetryFactor)
	antifragile.AtMost(&bounds, "retry.max_attempts", c.Retry.MaxAttempts, MaxRetryAttempts)
	errs = append(errs, bounds.Err())
	errs = append(errs, c.Retry.validate()...)
	if err := nilcheck.Optional("sink", c.Sink); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p RetryPolicy) validate() []error {
	var errs []error
	if p.Initial < 0 {
		errs = append(errs, antifragile.Invalid("retry.initial", p.Initial, "must not be negative"))
	}
	if p.Max < 0 || p.Max < p.Initial {
		errs = append(errs, antifragile.Invalid("retry.max", p.Max, "must be at least retry.initial (%v)", p.Initial))
	}
	if !(p.Multiplier >= 1) {
		errs = append(errs, antifragile.Invalid("retry.multiplier", p.Multiplier, "must be at least 1"))
	}
	if p.MaxAttempts < 0 {
		errs = append(errs, antifragile.Invalid("retry.max_attempts", p.MaxAttempts, "must not be negative"))
	}
	return errs
}

// delay returns the wait before retry number n (n ≥ 1): the toolkit's
// exponential backoff (package backoff), capped at Max.
func (p RetryPolicy) delay(n int) time.Duration {
	d, _ := backoff.Delay(backoff.Exponential, n, p.Initial, p.Max, p.Multiplier)
	return d
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the Config's JSON form, durations as strings such as
// "30s".
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }

// plainRetryPolicy is RetryPolicy without its JSON methods, for the codec.
type plainRetryPolicy RetryPolicy

// MarshalJSON writes the RetryPolicy's JSON form, durations as strings such as
// "30s".
func (c RetryPolicy) MarshalJSON() ([]byte, error) { return codec.Encode(plainRetryPolicy(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *RetryPolicy) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainRetryPolicy)(c)) }
