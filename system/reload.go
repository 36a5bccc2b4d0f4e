package system

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// ReloadResult says what a Reload changed: the JSON paths of the changed
// settings, those applied live and those that need a restart.
type ReloadResult = api.ReloadResult

// Reload puts next in force while the system runs, as far as it can change
// live (see LiveSettings and SettingApplies): every breaker's rules (the
// default, the breakers that follow it and the named ones, added, changed
// or back to the default when removed — see breaker.Breaker.Reconfigure for
// what a reconfigured breaker keeps), the recovery policies added or
// changed (through Orchestrator.SetPolicy), the chaos engine's limits (see
// chaos.Engine.Reconfigure for what happens to running scenarios) and the
// ops API's tokens (a request with an old token is refused from then on).
//
// It validates next as New does — every problem, each a *ValidationError
// naming its JSON path — and, when next is invalid, applies nothing and
// returns the error: the configuration in force stays. Otherwise it applies
// the live changes and returns what changed. The changes that need a
// restart (the listen address, TLS, the metering sink, cluster mode, the
// bus's mailboxes, ...) are listed in the result's Restart, not applied and
// not an error: Config goes on returning the values in force for them.
// Reload does not compare what it cannot see: a breaker's Classify and the
// other fields without a JSON form are not settings (a breaker reconfigured
// because its settings changed takes next's Classify, nil meaning the
// default); Logger, Dashboard and Source stay those of New, and the tokens
// are resolved with next's Getenv.
//
// Reload blocks while another Reload runs, and for as long as the chaos
// engine takes to end the scenarios a lowered limit ends. It is safe for
// concurrent use with every other method. The ctx is not used yet: nothing
// it does waits on the network.
func (s *System) Reload(ctx context.Context, next *Config) (ReloadResult, error) {
	_ = ctx
	if err := next.Validate(); err != nil {
		return ReloadResult{}, fmt.Errorf("system: invalid configuration:\n%w", err)
	}
	write, read := next.Token(), next.ReadToken()
	if err := exposure(next, write, nil); err != nil {
		return ReloadResult{}, fmt.Errorf("system: invalid configuration:\n%w", err)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	// A tuning trial ends first: its end puts back the settings it saved,
	// which the new configuration then replaces where it changed them.
	if _, _, err := s.endTrialNow("reload"); err != nil {
		return ReloadResult{}, err
	}
	cur := s.live.Load()
	next = next.Clone()
	next.ConstitutionalHash = cur.ConstitutionalHash // a change is restart-only; Validate allows only the one hash
	changed := changedSettings(cur.Effective(), next.Effective())
	if (s.write != write || s.read != read) && !slices.Contains(changed, "ops.token") {
		changed = append(changed, "ops.token") // the same config, another value in its variable
	}
	res := ReloadResult{Changed: changed, Applied: []string{}, Restart: []string{}}
	for _, p := range changed {
		if SettingApplies(p) == Live && !removedPolicy(p, next) {
			res.Applied = append(res.Applied, p)
		} else {
			res.Restart = append(res.Restart, p)
		}
	}
	if err := s.applyLive(cur, next, res.Applied, write, read); err != nil {
		// Validated above: a component refusing now is a bug, not a config problem.
		return res, fmt.Errorf("system: reload applied partly: %w", err)
	}
	inForce := cur.Clone()
	copyLive("", reflect.ValueOf(inForce).Elem(), reflect.ValueOf(next).Elem())
	s.live.Store(inForce)
	s.log.Info("system: configuration reloaded", "changed", len(res.Changed),
		"applied", res.Applied, "restart", res.Restart)
	return res, nil
}

// removedPolicy reports whether p is a recovery policy that next no longer
// has: the orchestrator keeps it until a restart.
func removedPolicy(p string, next *Config) bool {
	if parent(p) != "recovery.policies" {
		return false
	}
	for name := range next.Recovery.Policies {
		if codec.MapPath("recovery.policies", name) == p {
			return false
		}
	}
	return true
}

// applyLive applies the settings of next at the paths applied (all Live)
// to the components, cur being the configuration in force.
func (s *System) applyLive(cur, next *Config, applied []string, write, read string) error {
	var errs []error
	under := func(prefix string) bool {
		return slices.ContainsFunc(applied, func(p string) bool {
			return p == prefix || strings.HasPrefix(p, prefix+".") || strings.HasPrefix(p, prefix+"[")
		})
	}
	if under("breakers") {
		errs = append(errs, s.reloadBreakers(cur, next))
	}
	for name, p := range next.Recovery.Policies {
		if slices.Contains(applied, codec.MapPath("recovery.policies", name)) {
			p.ConstitutionalHash = s.hash(p.ConstitutionalHash)
			errs = append(errs, s.rec.SetPolicy(name, p))
		}
	}
	if under("chaos") {
		cc := next.Chaos.Engine
		in := s.chaos.Config() // what cannot change live stays
		cc.Seed, cc.StopCheckInterval, cc.ConstitutionalHash = in.Seed, in.StopCheckInterval, in.ConstitutionalHash
		errs = append(errs, s.chaos.Reconfigure(cc))
	}
	if under("ops") {
		s.tokens.Set(write, read)
		s.write, s.read = write, read
	}
	return errors.Join(errs...)
}

// reloadBreakers applies the breakers section of next: the default first
// (the breakers following it are reconfigured), then every named breaker
// whose entry changed — created, reconfigured, or back to the default when
// next no longer names it.
func (s *System) reloadBreakers(cur, next *Config) error {
	dflt := next.Breakers.Default
	dflt.ConstitutionalHash = s.hash(dflt.ConstitutionalHash)
	var errs []error
	if !equalSetting(reflect.ValueOf(cur.Breakers.Default), reflect.ValueOf(next.Breakers.Default)) {
		errs = append(errs, s.reg.SetDefault(dflt))
	}
	names := slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, bool) bool) {
		for n := range cur.Breakers.Named {
			yield(n, true)
		}
		for n := range next.Breakers.Named {
			yield(n, true)
		}
	})))
	for _, name := range names {
		old, inCur := cur.Breakers.Named[name]
		nb, inNext := next.Breakers.Named[name]
		switch {
		case inCur && inNext && equalSetting(reflect.ValueOf(old), reflect.ValueOf(nb)):
		case !inNext:
			errs = append(errs, s.reg.Reconfigure(name, breaker.Config{})) // follows the default again
		default:
			cfg := next.BreakerConfig(name)
			cfg.ConstitutionalHash = s.hash(cfg.ConstitutionalHash)
			if _, ok := s.reg.Get(name); ok {
				errs = append(errs, s.reg.Reconfigure(name, cfg))
			} else if _, err := s.reg.GetOrCreate(name, cfg); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// copyLive sets the live settings of dst (the configuration in force) to
// those of src, as the settings table classifies them: a live section is
// copied whole; the recovery policies are merged, since a removed policy
// stays in force until a restart.
func copyLive(path string, dst, src reflect.Value) {
	if a, ok := settings[path]; ok {
		if a != Live {
			return
		}
		if path == "recovery.policies" {
			m := reflect.MakeMap(dst.Type())
			for _, v := range []reflect.Value{dst, src} {
				for it := v.MapRange(); it.Next(); {
					m.SetMapIndex(it.Key(), it.Value())
				}
			}
			dst.Set(m)
			return
		}
		dst.Set(src)
		return
	}
	if dst.Kind() != reflect.Struct {
		return // not in the table: restart
	}
	for _, f := range jsonFields(dst.Type()) {
		copyLive(join(path, f.name), dst.FieldByIndex(f.index), src.FieldByIndex(f.index))
	}
}

// ErrNoSource is returned by ReloadSource when the Config has no Source.
var ErrNoSource = errors.New("system: no configuration source to reload from")

// ReloadSource re-reads the configuration through Config.Source and puts it
// in force with Reload. A Source that fails (a file that no longer parses)
// changes nothing and returns its error, every problem with its JSON path.
// It blocks like Reload and is safe for concurrent use.
func (s *System) ReloadSource(ctx context.Context) (ReloadResult, error) {
	if s.cfg.Source == nil {
		return ReloadResult{}, ErrNoSource
	}
	next, err := s.cfg.Source()
	if err != nil {
		return ReloadResult{}, fmt.Errorf("system: reading the configuration: %w", err)
	}
	return s.Reload(ctx, next)
}

// sourceReloader is the ops API's reload of a System with a Source.
type sourceReloader struct{ s *System }

func (r sourceReloader) Reload(ctx context.Context) (api.ReloadResult, error) {
	return r.s.ReloadSource(ctx)
}
