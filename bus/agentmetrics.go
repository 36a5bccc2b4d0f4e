package bus

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// LatencyBuckets is the number of buckets of an agent's latency histogram
// (AgentMetrics.Latency). Bucket 0 holds latencies under 1,024 ns; then
// every power of two from 2^10 to 2^37 ns (about 137 s) is split into four
// equal buckets, so a bucket's bounds are within 25% of each other; the
// last bucket holds everything longer. LatencyBound gives the bounds.
const LatencyBuckets = 1 + 4*27 + 1

// latencyBucket returns the histogram bucket of d.
func latencyBucket(d time.Duration) int {
	ns := uint64(max(d, 0))
	if ns < 1<<10 {
		return 0
	}
	l := bits.Len64(ns) // ≥ 11
	i := 1 + (l-11)*4 + int((ns>>(l-3))&3)
	return min(i, LatencyBuckets-1)
}

// LatencyBound returns the upper bound (exclusive) of histogram bucket i:
// 1,024 ns for bucket 0, math.MaxInt64 for the last bucket and beyond.
func LatencyBound(i int) time.Duration {
	switch {
	case i <= 0:
		return 1 << 10
	case i >= LatencyBuckets-1:
		return math.MaxInt64
	}
	octave, sub := (i-1)/4, (i-1)%4
	return time.Duration(uint64(5+sub) << (octave + 8))
}

// LatencyQuantile returns the q-th quantile (0 < q ≤ 1) of the latencies
// counted in hist (a histogram as AgentMetrics.Latency holds, or the
// difference of two), as the upper bound of the bucket it falls in; 0 for
// an empty histogram. A quantile in the last bucket is reported as the
// lower bound of that bucket.
func LatencyQuantile(hist []uint64, q float64) time.Duration {
	var total uint64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, n := range hist {
		seen += n
		if seen >= max(rank, 1) {
			if i >= LatencyBuckets-1 {
				return LatencyBound(LatencyBuckets - 2)
			}
			return LatencyBound(i)
		}
	}
	return LatencyBound(len(hist) - 1)
}

// agentStats counts one agent's messages. Every field is written with
// atomics on the delivery path and read without a lock.
type agentStats struct {
	delivered, failed, rejected, injected atomic.Uint64
	tokens                                atomic.Int64
	latencySum                            atomic.Int64
	latency                               [LatencyBuckets]atomic.Uint64
}

// record counts one delivery of outcome o that took d (rejected messages
// do not run, and are not timed) and processed tokens.
func (s *agentStats) record(o outcomeKind, d time.Duration, tokens int64) {
	switch o {
	case outcomeDelivered:
		s.delivered.Add(1)
	case outcomeRejected:
		s.rejected.Add(1)
		return
	case outcomeInjected:
		s.injected.Add(1)
	default:
		s.failed.Add(1)
	}
	s.latency[latencyBucket(d)].Add(1)
	s.latencySum.Add(int64(d))
	if tokens > 0 {
		s.tokens.Add(tokens)
	}
}

// outcomeKind is how a delivery ended, for the counters.
type outcomeKind uint8

const (
	outcomeDelivered outcomeKind = iota
	outcomeFailed
	outcomeRejected
	outcomeInjected
)

// AgentMetrics are one agent's counters since it was registered.
// Delivered, Failed and Injected messages are timed, from the breaker and
// chaos checks to the handler's return, into Latency: a histogram of
// LatencyBuckets buckets (see LatencyBound), cut after its last non-empty
// bucket. Rejected messages (the agent's breaker refused them) are not
// timed. Tokens adds up the Reply.Tokens of the agent's handler.
type AgentMetrics struct {
	Name       string        `json:"name"`
	Delivered  uint64        `json:"delivered"`
	Failed     uint64        `json:"failed"`
	Rejected   uint64        `json:"rejected"`
	Injected   uint64        `json:"injected"`
	Tokens     int64         `json:"tokens"`
	LatencySum time.Duration `json:"latency_sum_ns"`
	Latency    []uint64      `json:"latency"`
}

// metrics returns a's counters.
func (a *agent) metrics() AgentMetrics {
	s := &a.stats
	m := AgentMetrics{
		Name: a.name, Delivered: s.delivered.Load(), Failed: s.failed.Load(), Rejected: s.rejected.Load(),
		Injected: s.injected.Load(), Tokens: s.tokens.Load(), LatencySum: time.Duration(s.latencySum.Load()),
	}
	var hist [LatencyBuckets]uint64
	n := 0
	for i := range s.latency {
		if hist[i] = s.latency[i].Load(); hist[i] != 0 {
			n = i + 1
		}
	}
	m.Latency = slices.Clone(hist[:n])
	if m.Latency == nil {
		m.Latency = []uint64{}
	}
	return m
}

// agentMetrics returns every registered agent's counters, sorted by name.
func agentMetrics(agents map[string]*agent) []AgentMetrics {
	out := make([]AgentMetrics, 0, len(agents))
	for _, a := range agents {
		out = append(out, a.metrics())
	}
	slices.SortFunc(out, func(x, y AgentMetrics) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// latencyBounds returns the upper bounds of the histogram buckets in
// nanoseconds, the last one 0 (unbounded).
func latencyBounds() []int64 {
	b := make([]int64, LatencyBuckets)
	for i := range LatencyBuckets - 1 {
		b[i] = int64(LatencyBound(i))
	}
	return b
}
