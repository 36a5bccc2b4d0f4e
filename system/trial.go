package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
)

// trials holds the tuning trial of a System (see StartTrial): at most one
// at a time.
type trials struct {
	mu   sync.Mutex
	cur  *trial    // guarded by mu: the trial in progress, nil when none
	last api.Trial // guarded by mu: the answer about the last one that ended
	gen  int       // guarded by mu: numbers the trials, so a late expiry finds its own
}

// trial is a trial in progress.
type trial struct {
	gen   int
	saved []savedSettings
	info  api.Trial
	timer *time.Timer
}

// savedSettings are what a trial puts back for one service.
type savedSettings struct {
	api.ServiceSettings
	hasBreaker bool // the service had a breaker when the trial started
	follows    bool // its breaker followed the registry's default
	ownPolicy  bool // it had a recovery policy of its own
}

// StartTrial puts candidate settings in force for a while (see
// api.TrialRequest): the first call saves the services' breaker
// configurations and recovery policies, and each call sets the request's
// fields on top of those saved settings. A request that names other
// services than the trial in progress is refused with api.ErrTrialActive;
// an invalid one (a service without a breaker, a field that does not
// decode, a value out of range, a TTL out of bounds) changes nothing and
// returns every problem with its path. The trial ends by EndTrial, a
// Reload, Close, or when its TTL passes without another StartTrial; its end
// restores the saved settings. It is safe for concurrent use.
func (s *System) StartTrial(ctx context.Context, req api.TrialRequest) (api.Trial, error) {
	_ = ctx
	ttl, err := checkTrial(req)
	if err != nil {
		return api.Trial{}, err
	}
	t := &s.trials
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.cur
	again := cur != nil
	if again && !slices.Equal(cur.info.Services, req.Services) {
		return api.Trial{}, fmt.Errorf("system: %w on %v (it ends with DELETE /tune/trial or at %s)",
			api.ErrTrialActive, cur.info.Services, cur.info.Expires.Format(time.RFC3339))
	}
	var saved []savedSettings
	if again {
		saved = cur.saved
	} else {
		saved = s.saveSettings(req.Services)
	}
	plans, err := s.planFields(req.Services, req.Breaker, req.Recovery, func(i int) (api.ServiceSettings, bool) {
		return saved[i].ServiceSettings, saved[i].hasBreaker
	})
	if err != nil {
		return api.Trial{}, fmt.Errorf("system: invalid tuning trial:\n%w", err)
	}
	if again { // the fields apply on top of the saved settings, not of the last candidate
		if err := s.restore(cur.saved); err != nil {
			return api.Trial{}, err
		}
	} else {
		t.gen++
		cur = &trial{gen: t.gen, saved: saved, info: api.Trial{Active: true, Services: slices.Clone(req.Services),
			Started: time.Now().UTC(), ConstitutionalHash: s.cfg.ConstitutionalHash}}
		for _, sv := range saved {
			cur.info.Original = append(cur.info.Original, sv.ServiceSettings)
		}
		t.cur = cur
	}
	if err := s.applyPlans(plans); err != nil {
		return api.Trial{}, fmt.Errorf("system: tuning trial applied partly: %w", err)
	}
	cur.info.Breaker, cur.info.Recovery, cur.info.By = req.Breaker, req.Recovery, req.By
	cur.info.Expires = time.Now().Add(ttl).UTC()
	cur.info.Runs++
	if cur.timer != nil {
		cur.timer.Stop()
	}
	gen := cur.gen
	cur.timer = time.AfterFunc(ttl, func() { s.expireTrial(gen) })
	s.log.Info("tuning trial", "services", req.Services, "breaker", string(req.Breaker), "recovery", string(req.Recovery),
		"run", cur.info.Runs, "by", req.By, "expires", cur.info.Expires)
	return cur.info, nil
}

// EndTrial ends the trial in progress (api.ErrNoTrial when there is none)
// and restores the settings it saved. It is safe for concurrent use.
func (s *System) EndTrial(ctx context.Context) (api.Trial, error) {
	_ = ctx
	info, ok, err := s.endTrialNow("ended")
	if !ok {
		return api.Trial{}, fmt.Errorf("system: %w", api.ErrNoTrial)
	}
	return info, err
}

// Trial returns the trial in progress, or (Active false) the last one that
// ended, or the zero Trial with the hash when there was none.
func (s *System) Trial() api.Trial {
	t := &s.trials
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil {
		return t.cur.info
	}
	info := t.last
	info.ConstitutionalHash = s.cfg.ConstitutionalHash
	return info
}

// checkTrial checks what StartTrial can check of req alone and returns its
// TTL, the default filled in.
func checkTrial(req api.TrialRequest) (time.Duration, error) {
	ttl := req.TTL.D()
	if ttl == 0 {
		ttl = api.DefaultTrialTTL
	}
	if ttl < 0 || ttl > api.MaxTrialTTL {
		return 0, antifragile.Invalid("ttl", req.TTL, "must be between 0 (meaning %s) and %s", api.DefaultTrialTTL, api.MaxTrialTTL)
	}
	var p antifragile.Problems
	if len(req.Services) == 0 || len(req.Services) > MaxTuningServices {
		p.Invalid("services", len(req.Services), "must name 1 to %d services", MaxTuningServices)
	}
	for i, name := range req.Services {
		if slices.Index(req.Services, name) != i {
			p.Invalid(fmt.Sprintf("services[%d]", i), name, "is named twice")
		}
	}
	if err := p.Err(); err != nil {
		return 0, fmt.Errorf("system: invalid tuning trial:\n%w", err)
	}
	return ttl, nil
}

// expireTrial ends trial number gen if it is still the one in progress
// and its TTL has passed: a StartTrial that renewed it while its timer
// fired keeps it.
func (s *System) expireTrial(gen int) {
	t := &s.trials
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == nil || t.cur.gen != gen || time.Now().Before(t.cur.info.Expires) {
		return
	}
	if _, err := s.endLocked("expired"); err != nil {
		s.log.Error("tuning trial: restoring the settings", "err", err)
	}
}

// endTrialNow ends the trial in progress, if any, restoring its saved
// settings; ok is false when there was none.
func (s *System) endTrialNow(why string) (info api.Trial, ok bool, err error) {
	t := &s.trials
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == nil {
		return api.Trial{}, false, nil
	}
	info, err = s.endLocked(why)
	return info, true, err
}

// endLocked ends the trial in progress (there is one), restoring its
// saved settings. The caller holds trials.mu.
func (s *System) endLocked(why string) (api.Trial, error) {
	t := &s.trials
	cur := t.cur
	t.cur = nil
	cur.timer.Stop()
	err := s.restore(cur.saved)
	cur.info.Active, cur.info.Ended = false, why
	t.last = cur.info
	s.log.Info("tuning trial ended", "services", cur.info.Services, "why", why, "runs", cur.info.Runs, "err", err)
	if err != nil {
		err = fmt.Errorf("system: ending the tuning trial: %w", err)
	}
	return cur.info, err
}

// saveSettings returns the settings in force of each service.
func (s *System) saveSettings(services []string) []savedSettings {
	out := make([]savedSettings, len(services))
	for i, name := range services {
		sv := savedSettings{ServiceSettings: api.ServiceSettings{Service: name, Recovery: s.rec.Policy(name)},
			ownPolicy: s.rec.HasPolicy(name)}
		if b, ok := s.reg.Get(name); ok {
			sv.Breaker, sv.hasBreaker, sv.follows = b.Config(), true, s.reg.Follows(name)
		}
		out[i] = sv
	}
	return out
}

// restore puts saved back: each breaker's configuration (following the
// default again when it did) and each recovery policy (the default again
// when the service had none of its own). A breaker removed meanwhile is
// skipped.
func (s *System) restore(saved []savedSettings) error {
	var p antifragile.Problems
	for _, sv := range saved {
		if sv.hasBreaker {
			cfg := sv.Breaker
			if sv.follows {
				cfg = breaker.Config{}
			}
			if err := s.reg.Reconfigure(sv.Service, cfg); err != nil && !errors.Is(err, breaker.ErrNotFound) {
				p.Add(err)
			}
		}
		if sv.ownPolicy {
			p.Add(s.rec.SetPolicy(sv.Service, sv.Recovery))
		} else {
			s.rec.ClearPolicy(sv.Service)
		}
	}
	return p.Err()
}

// planFields decodes the partial breaker and recovery fields on top of
// each service's base settings (base(i) for services[i], and whether it
// has a breaker) and checks the result, returning every problem with its
// path.
func (s *System) planFields(services []string, bf, rf json.RawMessage, base func(i int) (api.ServiceSettings, bool)) ([]tuningPlan, error) {
	var p antifragile.Problems
	plans := make([]tuningPlan, 0, len(services))
	for i, name := range services {
		path := fmt.Sprintf("services[%d]", i)
		plan := tuningPlan{service: name}
		cur, hasBreaker := base(i)
		if len(bf) > 0 {
			if !hasBreaker {
				p.Invalid(path, name, "has no breaker")
				continue
			}
			cfg := cur.Breaker
			if err := json.Unmarshal(bf, &cfg); err != nil {
				p.Add(fmt.Errorf("breaker: %w", err))
			} else if err := cfg.Validate(); err != nil {
				p.Add(fmt.Errorf("%s breaker: %w", path, err))
			}
			plan.breaker = &cfg
		}
		if len(rf) > 0 {
			pol := cur.Recovery
			if err := json.Unmarshal(rf, &pol); err != nil {
				p.Add(fmt.Errorf("recovery: %w", err))
			} else if err := pol.Validate(); err != nil {
				p.Add(fmt.Errorf("%s recovery: %w", path, err))
			}
			plan.policy = &pol
		}
		plans = append(plans, plan)
	}
	return plans, p.Err()
}

// applyPlans puts checked plans in force.
func (s *System) applyPlans(plans []tuningPlan) error {
	for _, p := range plans {
		if p.breaker != nil {
			if err := s.reg.Reconfigure(p.service, *p.breaker); err != nil {
				return err
			}
		}
		if p.policy != nil {
			if err := s.rec.SetPolicy(p.service, *p.policy); err != nil {
				return err
			}
		}
	}
	return nil
}
