package recovery

import (
	"context"
	"errors"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// Upper bounds of a Policy, checked by Validate: every delay and timeout at
// most a day, so that no schedule overflows.
const (
	MaxRetryAttempts     = 1_000_000
	MaxBackoffMultiplier = 1000.0
	MaxPolicyDuration    = 24 * time.Hour
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
// form; the functions are not encoded (decoding keeps the receiver's). Every
// count, factor and duration has an upper bound (MaxRetryAttempts,
// MaxBackoffMultiplier, MaxPolicyDuration).
type Policy struct {
	// MaxRetryAttempts is the number of attempts allowed in total before the
	// task fails. 0 means 5; negative is invalid.
	MaxRetryAttempts int `json:"max_retry_attempts"`
	// BackoffMultiplier is the growth factor of ExponentialBackoff. 0 means
	// 2.0; below 1.0 is invalid.
	BackoffMultiplier float64 `json:"backoff_multiplier"`
	// InitialDelay is the delay before the first attempt of the growing
	// strategies. 0 means 1 s; negative is invalid.
	InitialDelay time.Duration `json:"initial_delay"`
	// MaxDelay caps every delay, jitter included. 0 means 60 s, or
	// InitialDelay if that is longer; below InitialDelay is invalid.
	MaxDelay time.Duration `json:"max_delay"`
	// Jitter spreads each delay uniformly by up to this fraction either way
	// (0.1 = ±10 %), drawn from the orchestrator's seeded generator. 0 means
	// none; it must be within [0, 1].
	Jitter float64 `json:"jitter"`

	// Action, if set, runs first in every attempt: reconnect a pool, restart
	// a worker. An error (or panic) fails the attempt without running the
	// health check.
	Action func(ctx context.Context) error `json:"-"`
	// ActionTimeout bounds Action. 0 means 30 s; negative is invalid.
	ActionTimeout time.Duration `json:"action_timeout"`
	// HealthCheck, if set, decides whether the attempt succeeded. nil means
	// every attempt whose action succeeds is a success.
	HealthCheck func(ctx context.Context) error `json:"-"`
	// HealthCheckTimeout bounds HealthCheck. 0 means 5 s; negative is
	// invalid. A function (action or check) that ignores its context is
	// abandoned AbandonGrace after its timeout: the attempt fails, and the
	// abandoned function may still be running when the next attempt starts.
	HealthCheckTimeout time.Duration `json:"health_check_timeout"`

	// Strategy is used when the orchestrator schedules the service by
	// itself; Schedule's argument takes precedence. The zero value is
	// ExponentialBackoff.
	Strategy Strategy `json:"strategy"`
	// Priority is used when the orchestrator schedules the service by
	// itself; lower runs first. Schedule's argument takes precedence.
	Priority int `json:"priority"`
	// Fallback is the strategy of a Learned task while its service has
	// too little history (Config.LearnMinOutages). The zero value is
	// ExponentialBackoff; Manual and Learned are invalid. Left out of
	// JSON when zero.
	Fallback Strategy `json:"fallback,omitempty"`

	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// DefaultPolicy returns the zero Policy with every default filled in.
func DefaultPolicy() Policy { return Policy{}.withDefaults() }

// WithDefaults returns p with every zero field set to its default, as the
// orchestrator applies them. It does not validate.
func (p Policy) WithDefaults() Policy { return p.withDefaults() }

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
// health_check_timeout, strategy, fallback, constitutional hash. nil when p is valid.
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
		bad("strategy", p.Strategy, "must be one of exponential_backoff, linear_backoff, immediate, manual, learned")
	}
	switch p.Fallback {
	case ExponentialBackoff, LinearBackoff, Immediate:
	default:
		bad("fallback", p.Fallback, "must be one of exponential_backoff, linear_backoff, immediate")
	}
	upper := func(field string, v, max float64) {
		if v > max {
			bad(field, v, "must not exceed %v", max)
		}
	}
	upper("max_retry_attempts", float64(p.MaxRetryAttempts), MaxRetryAttempts)
	upper("backoff_multiplier", p.BackoffMultiplier, MaxBackoffMultiplier)
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"initial_delay", p.InitialDelay}, {"max_delay", p.MaxDelay}, {"action_timeout", p.ActionTimeout}, {"health_check_timeout", p.HealthCheckTimeout}} {
		if d.v > MaxPolicyDuration {
			bad(d.field, d.v, "must not exceed %s", MaxPolicyDuration)
		}
	}
	if err := antifragile.ValidateHashFor(p.ConstitutionalHash, "recovery policy"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// plainPolicy is Policy without its JSON methods, for the codec.
type plainPolicy Policy

// MarshalJSON encodes the policy's data fields as they are (zero fields stay
// zero, meaning their defaults), durations as strings such as "1s"; the
// functions are left out.
func (p Policy) MarshalJSON() ([]byte, error) { return codec.Encode(plainPolicy(p)) }

// UnmarshalJSON decodes the data fields strictly (unknown and duplicated
// fields are refused, every problem a *ValidationError naming its JSON
// path); a field missing from the input keeps its current value, and Action
// and HealthCheck are kept. It does not validate: call Validate.
func (p *Policy) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainPolicy)(p)) }
