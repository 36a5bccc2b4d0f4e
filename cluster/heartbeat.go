package cluster

import (
	"slices"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

// MaxListed bounds each list of names a heartbeat carries (open, forced
// and half-open breakers, active scenarios), so that a heartbeat stays
// small however many breakers an instance has; the counts beside the
// lists are always complete.
const MaxListed = 100

// Sources are the components a Member reports on and acts on. Each may be
// nil: a member without Health reports the status UNKNOWN, one without
// Chaos has no chaos to stop (it still acknowledges the lever), one
// without Breakers publishes no breaker signals and trips nothing.
type Sources struct {
	// Breakers is read for the heartbeat's open, forced and half-open
	// breakers; its events become breaker signals, and its breakers are
	// the ones a quorum trips.
	Breakers *breaker.Registry
	// Health gives the heartbeat's status and score.
	Health *health.Aggregator
	// Chaos is stopped by the lever and the dead-man switch, and applies
	// fleet chaos.
	Chaos *chaos.Engine
	// Recovery gives the heartbeat's recovery queue length.
	Recovery *recovery.Orchestrator
}

// Heartbeat is what an instance writes into the store every
// HeartbeatInterval: who it is and a summary of its health. It is the
// unit the cluster view is computed from.
type Heartbeat struct {
	// Cluster and Instance name the writer; Labels are its labels.
	Cluster  string            `json:"cluster"`
	Instance string            `json:"instance"`
	Labels   map[string]string `json:"labels,omitempty"`
	// At is when the heartbeat was built, by the writer's clock; Seq
	// counts the heartbeats of this member since it started.
	At  time.Time `json:"at"`
	Seq uint64    `json:"seq"`
	// Interval and TTL are the writer's settings, so that a reader judges
	// its heartbeats by its own pace.
	Interval antifragile.Duration `json:"heartbeat_interval"`
	TTL      antifragile.Duration `json:"ttl"`
	// Status and Score are the writer's health (UNKNOWN and 0 without an
	// aggregator).
	Status health.Status `json:"status"`
	Score  health.Score  `json:"health_score"`
	// Breakers counts the writer's breakers. Open, HalfOpen and Forced
	// name (sorted, at most MaxListed each) the open, half-open and forced-
	// open ones; the counts are complete.
	Breakers      int      `json:"breakers"`
	Open          []string `json:"open_breakers"`
	OpenCount     int      `json:"open_count"`
	HalfOpen      []string `json:"half_open_breakers"`
	HalfOpenCount int      `json:"half_open_count"`
	Forced        []string `json:"forced_breakers"`
	ForcedCount   int      `json:"forced_count"`
	// Chaos names the active chaos scenarios (at most MaxListed; ChaosCount
	// is complete); ChaosStopped reports an emergency stop in force on the
	// writer's engine, for any reason.
	Chaos        []string `json:"active_chaos"`
	ChaosCount   int      `json:"chaos_count"`
	ChaosStopped bool     `json:"chaos_stopped"`
	// LeverRevision is the revision of the lever the writer last applied.
	LeverRevision uint64 `json:"lever_revision"`
	// RecoveryQueue counts the recovery tasks queued or in progress.
	RecoveryQueue int `json:"recovery_queue"`
	// Version is the toolkit's version and ConstitutionalHash the writer's
	// hash.
	Version            string `json:"version"`
	ConstitutionalHash string `json:"constitutional_hash"`
}

// truncated reports whether one of h's lists holds fewer names than its
// count.
func (h *Heartbeat) truncated() bool {
	return len(h.Open) < h.OpenCount || len(h.Forced) < h.ForcedCount ||
		len(h.HalfOpen) < h.HalfOpenCount || len(h.Chaos) < h.ChaosCount
}

// fill reads the sources into h.
func (s Sources) fill(h *Heartbeat) {
	h.Status, h.Score = s.health()
	h.Open, h.HalfOpen, h.Forced = []string{}, []string{}, []string{}
	if s.Breakers != nil {
		s.Breakers.Each(func(name string, b *breaker.Breaker) {
			h.Breakers++
			switch b.State() {
			case breaker.Open:
				h.OpenCount++
				h.Open = append(h.Open, name)
			case breaker.HalfOpen:
				h.HalfOpenCount++
				h.HalfOpen = append(h.HalfOpen, name)
			case breaker.ForcedOpen:
				h.ForcedCount++
				h.Forced = append(h.Forced, name)
			}
		})
	}
	h.Open, h.HalfOpen, h.Forced = listed(h.Open), listed(h.HalfOpen), listed(h.Forced)
	h.Chaos = []string{}
	if s.Chaos != nil {
		for _, sc := range s.Chaos.Active() {
			h.Chaos = append(h.Chaos, sc.Name)
		}
		h.ChaosCount = len(h.Chaos)
		h.Chaos = listed(h.Chaos)
		h.ChaosStopped = s.Chaos.Stopped()
	}
	if s.Recovery != nil {
		st := s.Recovery.Status()
		h.RecoveryQueue = st.QueuedCount + st.InProgressCount
	}
}

// health returns the aggregator's current status and score, computing a
// fresh report when the current one is older than two collection
// intervals (the aggregator is not running).
func (s Sources) health() (health.Status, health.Score) {
	if s.Health == nil {
		return health.Unknown, 0
	}
	r := s.Health.Current()
	if r.Timestamp.IsZero() || time.Since(r.Timestamp) > 2*s.Health.Config().CheckInterval {
		r = s.Health.Report()
	}
	return r.Status, r.Score
}

// listed sorts names and keeps at most MaxListed of them.
func listed(names []string) []string {
	slices.Sort(names)
	if len(names) > MaxListed {
		names = names[:MaxListed:MaxListed]
	}
	return names
}
