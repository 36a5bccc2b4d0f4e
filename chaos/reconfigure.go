package chaos

import (
	"time"

	"github.com/antifragile-go/antifragile"
)

// Reconfigure puts the limits of cfg in force while the engine runs:
// MaxDuration, MaxDelay, MemoryCap, DiskIO, NetworkBandwidth and
// StrictTargets. It validates cfg whole and returns every problem (each a
// *ValidationError naming its field), changing nothing, when cfg is
// invalid or changes a field that is fixed for the engine's life — Seed,
// StopCheckInterval and ConstitutionalHash (after defaults); cfg's
// StopConditions and Logger are ignored (those of New stay).
//
// New injections are judged by the new limits. Running scenarios are held
// to them where a limit bounds what they do now, the safer side for the
// system under test:
//
//   - a scenario whose end lies beyond its start plus the new MaxDuration
//     ends then instead (at once, with reason expired, when that is past),
//     and reports the shortened Duration with CappedFrom set;
//   - the hot path is rebuilt at once: latency sums saturate at the new
//     MaxDelay, network_bandwidth throttles follow the new NetworkBandwidth;
//   - a memory scenario holding more than its level of the new MemoryCap,
//     and a disk_io scenario writing faster or into a larger file than its
//     level of the new DiskIO allows, end with reason limits (memory held
//     cannot be shrunk in place, nor a running writer re-paced);
//   - StrictTargets and a lowered MaxDelay refuse only new injections.
//
// It takes the engine's lock, blocks until the burners of the scenarios it
// ended have exited, and is safe for concurrent use. The hot-path checks
// never see a half-applied configuration: the configuration and the index
// are each published whole.
func (e *Engine) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	e.mu.Lock()
	cur := e.conf()
	if err := fixedFields(cur, &cfg); err != nil {
		e.mu.Unlock()
		return err
	}
	cfg.StopConditions, cfg.Logger = cur.StopConditions, cur.Logger
	e.cfg.Store(&cfg)
	var bs []*burner
	for _, a := range e.scenarios {
		if e.overLimitsLocked(a, &cfg) {
			e.endLocked(a, ReasonLimits)
			if a.burner != nil {
				bs = append(bs, a.burner)
			}
			continue
		}
		e.shortenLocked(a, cfg.MaxDuration)
	}
	e.rebuildLocked()
	e.unlockAndLog()
	for _, b := range bs {
		wait(b)
	}
	return nil
}

// fixedFields reports the fields of next, which differ from cur, that an
// engine cannot change while it lives.
func fixedFields(cur, next *Config) error {
	var p antifragile.Problems
	const why = "cannot change while the engine runs (now %v): build a new engine"
	if next.Seed != cur.Seed {
		p.Invalid("seed", next.Seed, why, cur.Seed)
	}
	if next.StopCheckInterval != cur.StopCheckInterval {
		p.Invalid("stop_check_interval", next.StopCheckInterval, why, cur.StopCheckInterval)
	}
	if next.ConstitutionalHash != cur.ConstitutionalHash {
		p.Invalid("constitutional_hash", next.ConstitutionalHash, why, cur.ConstitutionalHash)
	}
	return p.Err()
}

// overLimitsLocked reports whether a holds more memory, or writes faster or
// into a larger file, than its level of cfg allows. The caller holds e.mu.
func (e *Engine) overLimitsLocked(a *active, cfg *Config) bool {
	level := a.s.ResourceLevel
	switch {
	case a.memBytes > 0:
		return a.memBytes > int64(level*float64(cfg.MemoryCap))
	case a.diskRate > 0:
		return a.diskRate > max(1, int64(level*float64(cfg.DiskIO.BytesPerSecond))) ||
			a.diskMax > int64(level*float64(cfg.DiskIO.MaxBytes))
	}
	return false
}

// shortenLocked moves the end of a to its start plus maxDuration when it
// lies beyond. The caller holds e.mu.
func (e *Engine) shortenLocked(a *active, maxDuration time.Duration) {
	if a.s.Duration <= maxDuration {
		return
	}
	if a.s.CappedFrom == 0 {
		a.s.CappedFrom = a.s.Duration
	}
	a.s.Duration = maxDuration
	if a.timer != nil {
		a.timer.Stop()
	}
	name, gen := a.s.Name, a.gen
	a.timer = time.AfterFunc(max(time.Until(a.s.CreatedAt.Add(maxDuration)), 0), func() { e.expire(name, gen) })
}
