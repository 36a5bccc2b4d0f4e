package breaker

import (
	"context"
	"log/slog"
	"time"

	"github.com/antifragile-go/antifragile/latency"
)

// Reconfigure puts cfg in force in place of the breaker's Config, or returns
// the *ValidationError (or hash mismatch) of every invalid field and changes
// nothing. cfg.Name is ignored: the breaker keeps its name. It takes the
// breaker's lock briefly, never blocks on anything else, and is safe for
// concurrent use with every other method: calls through the breaker keep
// reading one pointer, and each call is judged by the Config of the
// generation that admitted it.
//
// Reconfigure starts a new generation in the same state, without an event
// (the state does not change) and without touching the totals of Metrics:
//
//   - closed: the consecutive-failure run and the rate window start empty
//     under the new rules (counts made under the old rules are not mixed
//     with the new ones);
//   - open: the breaker stays open. The trip keeps its end, or ends sooner
//     when the new OpenTimeout (grown as configured for the trips since the
//     breaker last closed) is shorter than the one the trip was given; the
//     next trips follow the new config;
//   - half-open: the trials start over under the new HalfOpenMaxCalls,
//     HalfOpenSuccesses and HalfOpenTimeout;
//   - forced open and disabled: unchanged until Release or Reset.
//
// Calls in flight when it runs are reported as Late, as after a transition.
// Reconfiguring to a Config equal to the one in force does the same (it
// does not compare); callers that reload a whole configuration compare
// first.
func (b *Breaker) Reconfigure(cfg Config) error {
	b.mu.Lock()
	cfg.Name = b.name
	if err := cfg.Validate(); err != nil {
		b.mu.Unlock()
		return err
	}
	set := newSettings(cfg.withDefaults())
	if set.needTime && b.lat.Load() == nil {
		b.lat.Store(new(latency.Histogram)) // before the generation that times calls is published
	}
	old := b.cur.Load()
	g := newGen(set, old.state, old.id+1)
	switch old.state {
	case Open:
		g.openTimeout, g.halfOpenAt = old.openTimeout, old.halfOpenAt
		if d := set.openTimeout(max(b.trips, 1)); d < old.openTimeout {
			g.openTimeout, g.halfOpenAt = d, old.halfOpenAt.Add(d-old.openTimeout)
		}
		b.rearmLocked(time.Until(g.halfOpenAt), func() { b.timeout(g) })
	case HalfOpen:
		b.rearmLocked(set.cfg.HalfOpenTimeout, func() { b.halfOpenExpired(g) })
	}
	b.cur.Store(g)
	state := g.state
	b.mu.Unlock()
	if l := b.log.Load(); l != nil {
		l.LogAttrs(context.Background(), slog.LevelInfo, "breaker: reconfigured",
			slog.String("breaker", b.name), slog.String("state", state.String()),
			slog.Any("rules", set.rules))
	}
	return nil
}

// rearmLocked replaces the pending timer with one running fn after d (now
// when d ≤ 0). The caller holds b.mu.
func (b *Breaker) rearmLocked(d time.Duration, fn func()) {
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(max(d, 0), fn)
}
