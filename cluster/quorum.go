package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

// ReasonQuorum is the reason of a trip by a quorum of peers (see
// Config.Quorum). It is not a breaker's own rule: a breaker a quorum
// tripped signals nothing to its peers, so that a quorum cannot keep
// itself alive.
const ReasonQuorum breaker.Reason = "quorum"

// signal is one instance's "breaker open" in the signals space, under
// <breaker>.<instance>; a breaker that is not open by its own rule has no
// signal.
type signal struct {
	Instance           string         `json:"instance"`
	Breaker            string         `json:"breaker"`
	Open               bool           `json:"open"`
	Reason             breaker.Reason `json:"reason"`
	At                 time.Time      `json:"at"`
	ConstitutionalHash string         `json:"constitutional_hash"`
}

// quorumState is what a member knows of one opted-in breaker's peers.
type quorumState struct {
	n     int                  // peers needed
	peers map[string]time.Time // peer → when its open signal was written
	open  int                  // fresh open signals at the last evaluation
	met   bool                 // the quorum held at the last evaluation
}

// Quorum is the state of one opted-in breaker's quorum.
type Quorum struct {
	// Breaker names the breaker; Need is the quorum (Config.Quorum).
	Breaker string `json:"breaker"`
	Need    int    `json:"need"`
	// PeersOpen counts the peers whose fresh signal says it is open; Met
	// reports PeersOpen ≥ Need.
	PeersOpen int  `json:"peers_open"`
	Met       bool `json:"met"`
}

// Quorums returns the state of every opted-in breaker, sorted by name. It
// does not block on the store.
func (m *Member) Quorums() []Quorum {
	m.qmu.Lock()
	out := make([]Quorum, 0, len(m.quorum))
	for name, q := range m.quorum {
		out = append(out, Quorum{Breaker: name, Need: q.n, PeersOpen: q.open, Met: q.met})
	}
	m.qmu.Unlock()
	slices.SortFunc(out, func(a, b Quorum) int { return strings.Compare(a.Breaker, b.Breaker) })
	return out
}

// watchQuorum watches the signals of one opted-in breaker and trips the
// local breaker when the quorum comes to hold. It runs on its own
// goroutine, off every request path.
func (m *Member) watchQuorum(ctx context.Context, name string, q *quorumState) error {
	prefix := token(name) + "."
	return m.store.Watch(ctx, m.sp.signals, prefix, func(e Entry) {
		inst, err := untoken(strings.TrimPrefix(e.Key, prefix))
		if err != nil || inst == m.cfg.Instance {
			return
		}
		open := false
		if !e.Deleted {
			var s signal
			open = json.Unmarshal(e.Value, &s) == nil && s.Open && s.Breaker == name &&
				antifragile.ValidateHash(s.ConstitutionalHash) == nil
		}
		m.qmu.Lock()
		if open {
			q.peers[inst] = e.Created
		} else {
			delete(q.peers, inst)
		}
		rising := m.evaluateLocked(q, time.Now())
		m.qmu.Unlock()
		if rising {
			m.tripQuorum(name, q.n)
		}
	})
}

// checkQuorums evaluates every quorum at now, so that signals that
// outlived SignalTTL stop counting.
func (m *Member) checkQuorums(now time.Time) {
	for name, q := range m.quorum {
		m.qmu.Lock()
		rising := m.evaluateLocked(q, now)
		m.qmu.Unlock()
		if rising {
			m.tripQuorum(name, q.n)
		}
	}
}

// evaluateLocked counts q's fresh open signals, forgets the expired ones,
// and reports whether the quorum has just come to hold. The caller holds
// qmu.
func (m *Member) evaluateLocked(q *quorumState, now time.Time) bool {
	for p, at := range q.peers {
		if now.Sub(at) > m.cfg.SignalTTL {
			delete(q.peers, p)
		}
	}
	q.open = len(q.peers)
	met := q.open >= q.n
	rising := met && !q.met
	q.met = met
	return rising
}

// tripQuorum trips the local breaker name, if there is one and it is
// closed or half-open. A quorum trips once each time it comes to hold;
// the breaker's own probing decides after that.
func (m *Member) tripQuorum(name string, n int) {
	if m.src.Breakers == nil {
		return
	}
	if b, ok := m.src.Breakers.Get(name); ok && b.Trip(string(ReasonQuorum)) {
		m.quorumTrips.Add(1)
		m.log.Info("cluster: breaker tripped by a quorum of peers", "breaker", name, "quorum", n)
	}
}

// sigOut is the signal this member publishes for one breaker.
type sigOut struct {
	open    bool           // wanted: open by the breaker's own rule
	reason  breaker.Reason // of the breaker's last transition
	present bool           // an open signal is in the store
	written time.Time      // when it was last written
	dirty   bool           // the store does not hold what is wanted
}

// publishSignals turns the registry's events into signals until ctx ends,
// then retracts the signals still open. Only the transitions write:
// opening by a rule writes an open signal, leaving open deletes it, and an
// open signal is rewritten every SignalTTL/2 so that it does not expire.
func (m *Member) publishSignals(ctx context.Context, sub *breaker.Subscription) {
	out := map[string]*sigOut{}
	seen := sub.Dropped()
	m.resyncSignals(out)
	m.flushSignals(ctx, out, time.Now())
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.retractSignals(ctx, out)
			return
		case ev, ok := <-sub.C:
			if !ok {
				m.retractSignals(ctx, out)
				return
			}
			noteSignal(out, ev)
			for drained := false; !drained; {
				select {
				case ev, ok := <-sub.C:
					if ok {
						noteSignal(out, ev)
					}
					drained = !ok
				default:
					drained = true
				}
			}
		case now := <-t.C:
			if d := sub.Dropped(); d != seen {
				seen = d
				m.resyncSignals(out)
			}
			for _, s := range out {
				if s.present && s.open && now.Sub(s.written) >= m.cfg.SignalTTL/2 {
					s.dirty = true
				}
			}
		}
		m.flushSignals(ctx, out, time.Now())
	}
}

// noteSignal applies one registry event to the wanted signals.
func noteSignal(out map[string]*sigOut, ev breaker.Event) {
	switch ev.Reason {
	case breaker.ReasonRemoved:
		want(out, ev.Breaker, false, ev.Reason)
	case breaker.ReasonAdded:
		want(out, ev.Breaker, ev.To == breaker.Open, ev.Reason)
	default:
		want(out, ev.Breaker, ev.To == breaker.Open && ev.Reason.Tripped(), ev.Reason)
	}
}

func want(out map[string]*sigOut, name string, open bool, reason breaker.Reason) {
	s := out[name]
	if s == nil {
		if !open && reason != ReasonQuorum {
			return // never signalled: nothing to retract
		}
		s = &sigOut{}
		out[name] = s
	}
	s.reason = reason
	if s.open != open {
		s.open, s.dirty = open, true
	}
}

// resyncSignals rereads every breaker's state after the subscription lost
// events: an open breaker counts as open by its own rule unless its last
// known transition was a quorum trip.
func (m *Member) resyncSignals(out map[string]*sigOut) {
	names := map[string]bool{}
	m.src.Breakers.Each(func(name string, b *breaker.Breaker) {
		names[name] = true
		open := b.State() == breaker.Open
		reason := breaker.Reason("")
		if s := out[name]; s != nil {
			reason = s.reason
			if reason == ReasonQuorum && open {
				open = false
			}
		}
		want(out, name, open, reason)
	})
	for name := range out {
		if !names[name] {
			want(out, name, false, breaker.ReasonRemoved)
		}
	}
}

// flushSignals writes the dirty signals, stopping at the first failure
// (the next tick tries again).
func (m *Member) flushSignals(ctx context.Context, out map[string]*sigOut, now time.Time) {
	for name, s := range out {
		if !s.dirty {
			continue
		}
		if !m.writeSignal(ctx, name, s, now) {
			return
		}
		if !s.open && s.reason != ReasonQuorum {
			delete(out, name)
		}
	}
}

// writeSignal writes s's wanted state and reports whether the store took
// it.
func (m *Member) writeSignal(ctx context.Context, name string, s *sigOut, now time.Time) bool {
	key := token(name) + "." + m.self
	octx, cancel := context.WithTimeout(ctx, m.opTimeout)
	defer cancel()
	var err error
	switch {
	case s.open:
		b, _ := json.Marshal(signal{Instance: m.cfg.Instance, Breaker: name, Open: true, Reason: s.reason,
			At: now.UTC(), ConstitutionalHash: m.cfg.ConstitutionalHash})
		_, err = m.store.Put(octx, m.sp.signals, key, b)
	case s.present:
		err = m.store.Delete(octx, m.sp.signals, key)
	}
	if err != nil {
		return false
	}
	if s.open || s.present {
		m.signalsWritten.Add(1)
	}
	s.present, s.written, s.dirty = s.open, now, false
	return true
}

// retractSignals deletes the open signals when the member leaves.
func (m *Member) retractSignals(ctx context.Context, out map[string]*sigOut) {
	lctx := context.WithoutCancel(ctx)
	for name, s := range out {
		if s.present {
			s.open, s.dirty = false, true
			if !m.writeSignal(lctx, name, s, time.Now()) {
				return
			}
		}
	}
}
