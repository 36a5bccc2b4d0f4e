package breaker

import "github.com/antifragile-go/antifragile/latency"

// Timed reports whether the breaker times its calls: its config has a
// slow-call threshold, or a rate rule over a time window. Only a timed
// breaker reads the clock on a call, and only a timed breaker has a
// Latency histogram.
func (b *Breaker) Timed() bool { return b.cur.Load().needTime }

// Latency returns the histogram of the durations of the breaker's calls,
// from Allow to Done or Report, since the breaker was created or last
// Reset, and true — when the breaker times its calls (see Timed). Every
// admitted call that is reported counts, whatever its outcome (ignored and
// late calls too); rejected calls are not calls and do not. An untimed
// breaker measures nothing, so that its fast path reads no clock: Latency
// returns the zero Snapshot and false. A breaker reconfigured from timed
// to untimed keeps its histogram but no longer reports it; reconfigured
// back, it reports it again, with the calls of both timed spells. It takes
// no lock and allocates nothing.
func (b *Breaker) Latency() (latency.Snapshot, bool) {
	lat := b.lat.Load()
	if lat == nil || !b.Timed() {
		return latency.Snapshot{}, false
	}
	return lat.Snapshot(), true
}
