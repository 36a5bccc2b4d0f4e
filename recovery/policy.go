package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile"
)

// Policy defaults, applied to the zero fields of a Policy.
const (
	DefaultMaxRetryAttempts   = 5
	DefaultBackoffMultiplier  = 2.0
	DefaultInitialDelay       = time.Second
	DefaultMaxDelay           = 60 * time.Second
	DefaultHealthCheckTimeout = 5 * time.Second
	DefaultActionTimeout      = 30 * time.Second
)

// Policy says how a service is recovered: how often and how far apart the
// attempts are, what an attempt does, and — for recoveries the orchestrator
// schedules by itself (Config.Watch) — the strategy and priority. The zero
// value is usable: 5 attempts, exponential backoff from 1 s doubling up to
// 60 s, no action and no health check (an attempt then simply resets the
// service's breaker and succeeds).
//
// In JSON, durations are strings such as "1s" and the strategy is its text
// form; the functions are not encoded (decoding keeps the receiver's).
type Policy struct {
	// MaxRetryAttempts is the number of attempts allowed in total before the
	// task fails. 0 means 5; negative is invalid.
	MaxRetryAttempts int
	// BackoffMultiplier is the growth factor of ExponentialBackoff. 0 means
	// 2.0; below 1.0 is invalid.
	BackoffMultiplier float64
	// InitialDelay is the delay before the first attempt of the growing
	// strategies. 0 means 1 s; negative is invalid.
	InitialDelay time.Duration
	// MaxDelay caps every delay, jitter included. 0 means 60 s, or
	// InitialDelay if that is longer; below InitialDelay is invalid.
	MaxDelay time.Duration
	// Jitter spreads each delay uniformly by up to this fraction either way
	// (0.1 = ±10 %), drawn from the orchestrator's seeded generator. 0 means
	// none; it must be within [0, 1].
	Jitter float64

	// Action, if set, runs first in every attempt: reconnect a pool, restart
	// a worker. An error (or panic) fails the attempt without running the
	// health check.
	Action func(ctx context.Context) error
	// ActionTimeout bounds Action. 0 means 30 s; negative is invalid.
	ActionTimeout time.Duration
	// HealthCheck, if set, decides whether the attempt succeeded. nil means
	// every attempt whose action succeeds is a success.
	HealthCheck func(ctx context.Context) error
	// HealthCheckTimeout bounds HealthCheck. 0 means 5 s; negative is
	// invalid. A function (action or check) that ignores its context is
	// abandoned AbandonGrace after its timeout: the attempt fails, and the
	// abandoned function may still be running when the next attempt starts.
	HealthCheckTimeout time.Duration

	// Strategy is used when the orchestrator schedules the service by
	// itself; Schedule's argument takes precedence. The zero value is
	// ExponentialBackoff.
	Strategy Strategy
	// Priority is used when the orchestrator schedules the service by
	// itself; lower runs first. Schedule's argument takes precedence.
	Priority int

	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string
}

// DefaultPolicy returns the zero Policy with every default filled in.
func DefaultPolicy() Policy { return Policy{}.withDefaults() }

func (p Policy) withDefaults() Policy {
	if p.MaxRetryAttempts == 0 {
		p.MaxRetryAttempts = DefaultMaxRetryAttempts
	}
	if p.BackoffMultiplier == 0 {
		p.BackoffMultiplier = DefaultBackoffMultiplier
	}
	if p.InitialDelay == 0 {
		p.InitialDelay = DefaultInitialDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultMaxDelay, p.InitialDelay)
	}
	if p.HealthCheckTimeout == 0 {
		p.HealthCheckTimeout = DefaultHealthCheckTimeout
	}
	if p.ActionTimeout == 0 {
		p.ActionTimeout = DefaultActionTimeout
	}
	p.ConstitutionalHash = antifragile.HashOrDefault(p.ConstitutionalHash)
	return p
}

// Validate reports every invalid field of p, after defaults are applied, as
// a *ValidationError (a hash mismatch as a *antifragile.HashMismatchError),
// joined with errors.Join in this order: max_retry_attempts,
// backoff_multiplier, initial_delay, max_delay, jitter, action_timeout,
// health_check_timeout, strategy, constitutional hash. nil when p is valid.
func (p Policy) Validate() error { return p.validate("") }

func (p Policy) validate(prefix string) error {
	p = p.withDefaults()
	var errs []error
	bad := func(field string, value any, format string, args ...any) {
		errs = append(errs, antifragile.Invalid(prefix+field, value, format, args...))
	}
	if p.MaxRetryAttempts < 1 {
		bad("max_retry_attempts", p.MaxRetryAttempts, "must be at least 1 (0 means %d)", DefaultMaxRetryAttempts)
	}
	if !(p.BackoffMultiplier >= 1) { // also NaN
		bad("backoff_multiplier", p.BackoffMultiplier, "must be at least 1.0 (0 means %.1f)", DefaultBackoffMultiplier)
	}
	if p.InitialDelay < 0 {
		bad("initial_delay", p.InitialDelay, "must not be negative")
	}
	if p.MaxDelay < p.InitialDelay {
		bad("max_delay", p.MaxDelay, "must not be below initial_delay %s", p.InitialDelay)
	}
	if !(p.Jitter >= 0 && p.Jitter <= 1) {
		bad("jitter", p.Jitter, "must be within [0, 1]")
	}
	if p.ActionTimeout < 0 {
		bad("action_timeout", p.ActionTimeout, "must not be negative")
	}
	if p.HealthCheckTimeout < 0 {
		bad("health_check_timeout", p.HealthCheckTimeout, "must not be negative")
	}
	if !p.Strategy.Valid() {
		bad("strategy", p.Strategy, "must be one of exponential_backoff, linear_backoff, immediate, manual")
	}
	if err := antifragile.ValidateHashFor(p.ConstitutionalHash, "recovery policy"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// duration is a time.Duration that is a string such as "1.5s" in JSON.
type duration time.Duration

func (d duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("recovery: duration %q: want a string such as \"1s\" or \"250ms\"", b)
	}
	*d = duration(v)
	return nil
}

type policyJSON struct {
	MaxRetryAttempts   int      `json:"max_retry_attempts"`
	BackoffMultiplier  float64  `json:"backoff_multiplier"`
	InitialDelay       duration `json:"initial_delay"`
	MaxDelay           duration `json:"max_delay"`
	Jitter             float64  `json:"jitter"`
	ActionTimeout      duration `json:"action_timeout"`
	HealthCheckTimeout duration `json:"health_check_timeout"`
	Strategy           Strategy `json:"strategy"`
	Priority           int      `json:"priority"`
	ConstitutionalHash string   `json:"constitutional_hash"`
}

// MarshalJSON encodes the policy's data fields as they are (zero fields stay
// zero, meaning their defaults); the functions are left out.
func (p Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(policyJSON{
		MaxRetryAttempts:   p.MaxRetryAttempts,
		BackoffMultiplier:  p.BackoffMultiplier,
		InitialDelay:       duration(p.InitialDelay),
		MaxDelay:           duration(p.MaxDelay),
		Jitter:             p.Jitter,
		ActionTimeout:      duration(p.ActionTimeout),
		HealthCheckTimeout: duration(p.HealthCheckTimeout),
		Strategy:           p.Strategy,
		Priority:           p.Priority,
		ConstitutionalHash: p.ConstitutionalHash,
	})
}

// UnmarshalJSON decodes the data fields; a field missing from the input
// keeps its current value, and Action and HealthCheck are kept. It does not
// validate: call Validate.
func (p *Policy) UnmarshalJSON(b []byte) error {
	v := policyJSON{
		MaxRetryAttempts:   p.MaxRetryAttempts,
		BackoffMultiplier:  p.BackoffMultiplier,
		InitialDelay:       duration(p.InitialDelay),
		MaxDelay:           duration(p.MaxDelay),
		Jitter:             p.Jitter,
		ActionTimeout:      duration(p.ActionTimeout),
		HealthCheckTimeout: duration(p.HealthCheckTimeout),
		Strategy:           p.Strategy,
		Priority:           p.Priority,
		ConstitutionalHash: p.ConstitutionalHash,
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p.MaxRetryAttempts = v.MaxRetryAttempts
	p.BackoffMultiplier = v.BackoffMultiplier
	p.InitialDelay = time.Duration(v.InitialDelay)
	p.MaxDelay = time.Duration(v.MaxDelay)
	p.Jitter = v.Jitter
	p.ActionTimeout = time.Duration(v.ActionTimeout)
	p.HealthCheckTimeout = time.Duration(v.HealthCheckTimeout)
	p.Strategy = v.Strategy
	p.Priority = v.Priority
	p.ConstitutionalHash = v.ConstitutionalHash
	return nil
}
