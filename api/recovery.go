package api

import (
	"errors"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/recovery"
)

// ScheduleRequest is the body of POST /recovery/{name}, which schedules the
// recovery of a service. Every field is optional; an empty body is the zero
// request.
//
//	{"strategy":"linear_backoff","priority":1,"policy":{"max_retry_attempts":3,"initial_delay":"500ms"}}
type ScheduleRequest struct {
	// Strategy is "exponential_backoff", "linear_backoff", "immediate",
	// "manual" or "learned". Empty means the policy's strategy: Policy.Strategy when
	// the request has a policy that names one, else the strategy of the
	// service's policy on the server.
	Strategy string `json:"strategy,omitempty"`
	// Priority orders due tasks: lower runs first. 0 by default.
	Priority int `json:"priority,omitempty"`
	// Policy, if set, is the policy of this recovery; its zero fields take
	// the recovery package's defaults. Absent means the service's policy
	// on the server.
	Policy *Policy `json:"policy,omitempty"`
}

// Args returns the arguments of recovery.Orchestrator.Schedule that r asks
// for: the strategy (dflt when neither r nor its policy names one), the
// priority, and the policy (nil when r has none). An invalid strategy or
// policy is a *ValidationError whose Field is the JSON path of the field
// ("strategy", "policy.initial_delay"), several of them joined with
// errors.Join; a wrong policy hash is a *antifragile.HashMismatchError.
func (r ScheduleRequest) Args(dflt recovery.Strategy) (strategy recovery.Strategy, priority int, policy *recovery.Policy, err error) {
	var errs []error
	strategy = dflt
	if r.Strategy != "" {
		s, perr := recovery.ParseStrategy(r.Strategy)
		if perr != nil {
			errs = append(errs, antifragile.Invalid("strategy", r.Strategy, "must be exponential_backoff, linear_backoff, immediate, manual or learned"))
		}
		strategy = s
	}
	if r.Policy != nil {
		p, perr := r.Policy.ToPolicy()
		if perr != nil {
			errs = append(errs, perr)
		} else {
			policy = &p
			if r.Strategy == "" && r.Policy.Strategy != "" {
				strategy = p.Strategy
			}
		}
	}
	if len(errs) > 0 {
		return 0, 0, nil, errors.Join(errs...)
	}
	return strategy, r.Priority, policy, nil
}

// Policy is the wire form of a recovery.Policy: the same snake_case fields
// as recovery.Policy's own JSON, durations as strings such as "1s", every
// field optional (absent or zero means the default). It exists so that a
// request body can be decoded strictly, field by field, with errors that
// name the field.
type Policy struct {
	MaxRetryAttempts   int     `json:"max_retry_attempts,omitempty"`
	BackoffMultiplier  float64 `json:"backoff_multiplier,omitempty"`
	InitialDelay       string  `json:"initial_delay,omitempty"`
	MaxDelay           string  `json:"max_delay,omitempty"`
	Jitter             float64 `json:"jitter,omitempty"`
	ActionTimeout      string  `json:"action_timeout,omitempty"`
	HealthCheckTimeout string  `json:"health_check_timeout,omitempty"`
	Strategy           string  `json:"strategy,omitempty"`
	Priority           int     `json:"priority,omitempty"`
	Fallback           string  `json:"fallback,omitempty"`
	ConstitutionalHash string  `json:"constitutional_hash,omitempty"`
}

// PolicyFrom returns the wire form of p's data fields (its functions have
// none). Zero durations are left out.
func PolicyFrom(p recovery.Policy) Policy {
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	var fallback string
	if p.Fallback != recovery.ExponentialBackoff {
		fallback = p.Fallback.String()
	}
	return Policy{
		Fallback:           fallback,
		MaxRetryAttempts:   p.MaxRetryAttempts,
		BackoffMultiplier:  p.BackoffMultiplier,
		InitialDelay:       dur(p.InitialDelay),
		MaxDelay:           dur(p.MaxDelay),
		Jitter:             p.Jitter,
		ActionTimeout:      dur(p.ActionTimeout),
		HealthCheckTimeout: dur(p.HealthCheckTimeout),
		Strategy:           p.Strategy.String(),
		Priority:           p.Priority,
		ConstitutionalHash: p.ConstitutionalHash,
	}
}

// ToPolicy converts p to a validated recovery.Policy. Every problem is a
// *ValidationError whose Field starts with "policy." (a wrong hash is a
// *antifragile.HashMismatchError), joined with errors.Join.
func (p Policy) ToPolicy() (recovery.Policy, error) {
	var errs []error
	dur := func(field, s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, antifragile.Invalid("policy."+field, s, "must be a duration such as \"250ms\" or \"1s\""))
		}
		return d
	}
	out := recovery.Policy{
		MaxRetryAttempts:   p.MaxRetryAttempts,
		BackoffMultiplier:  p.BackoffMultiplier,
		InitialDelay:       dur("initial_delay", p.InitialDelay),
		MaxDelay:           dur("max_delay", p.MaxDelay),
		Jitter:             p.Jitter,
		ActionTimeout:      dur("action_timeout", p.ActionTimeout),
		HealthCheckTimeout: dur("health_check_timeout", p.HealthCheckTimeout),
		Priority:           p.Priority,
		ConstitutionalHash: p.ConstitutionalHash,
	}
	if p.Strategy != "" {
		s, err := recovery.ParseStrategy(p.Strategy)
		if err != nil {
			errs = append(errs, antifragile.Invalid("policy.strategy", p.Strategy, "must be exponential_backoff, linear_backoff, immediate, manual or learned"))
		}
		out.Strategy = s
	}
	if p.Fallback != "" {
		s, err := recovery.ParseStrategy(p.Fallback)
		if err != nil {
			errs = append(errs, antifragile.Invalid("policy.fallback", p.Fallback, "must be exponential_backoff, linear_backoff or immediate"))
		}
		out.Fallback = s
	}
	if len(errs) > 0 {
		return recovery.Policy{}, errors.Join(errs...)
	}
	if err := out.Validate(); err != nil {
		return recovery.Policy{}, prefixFields("policy.", err)
	}
	return out, nil
}

// prefixFields returns err with the Field of every *ValidationError it
// joins prefixed; other errors are kept as they are.
func prefixFields(prefix string, err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var v *ValidationError
		if errors.As(e, &v) && !errors.Is(e, antifragile.ErrHashMismatch) {
			c := *v
			c.Field = prefix + c.Field
			out = append(out, &c)
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}
