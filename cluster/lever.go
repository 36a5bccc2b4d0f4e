package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
)

// leverKey is the lever's key in the control space; ackPrefix starts the
// keys of the acknowledgements, one per instance.
const (
	leverKey  = "lever"
	ackPrefix = "ack."
)

// maxLeverAttempts bounds the compare-and-set retries of one pull.
const maxLeverAttempts = 16

// leverRecord is the lever's value in the store.
type leverRecord struct {
	Stopped            bool      `json:"stopped"`
	By                 string    `json:"by"`
	At                 time.Time `json:"at"`
	ConstitutionalHash string    `json:"constitutional_hash"`
}

// Ack is one instance's acknowledgement of a lever revision: it has
// applied it (for a stop: ended its chaos and refuses new injections).
type Ack struct {
	Instance string `json:"instance"`
	// Revision is the lever revision applied and Stopped its state.
	Revision uint64 `json:"revision"`
	Stopped  bool   `json:"stopped"`
	// ChaosStopped is the engine's emergency-stop state after applying it.
	ChaosStopped bool `json:"chaos_stopped"`
	// At is when it was applied, by the instance's clock.
	At                 time.Time `json:"at"`
	ConstitutionalHash string    `json:"constitutional_hash"`
}

// Lever is the state of the cluster's safety lever.
type Lever struct {
	// Stopped reports the emergency stop latched; By and At say who
	// pulled or reset the lever last, and when. Revision identifies that
	// pull (0: never pulled).
	Stopped  bool      `json:"stopped"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at,omitzero"`
	Revision uint64    `json:"revision"`
	// Acked lists, sorted by instance, the instances that applied this
	// revision; Pending the live instances that have not (yet). Both are
	// filled by Member.Lever only.
	Acked   []Ack    `json:"acked"`
	Pending []string `json:"pending"`
	// ConstitutionalHash is the lever's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// EmergencyStop latches the cluster's emergency stop, by the operator or
// program named by (empty: this instance): every member ends all its
// chaos, releases the breakers chaos forced and refuses new injections
// until Reset, and acknowledges; members that join later start stopped.
// This member applies it at once; the others as their watch of the lever
// delivers it. Pulling a lever already latched changes nothing and
// returns it as it is. It blocks on a few store round trips.
func (m *Member) EmergencyStop(ctx context.Context, by string) (Lever, error) {
	return m.pull(ctx, true, by)
}

// Reset clears the latched stop, by the operator or program named by
// (empty: this instance): every member lifts its engine's emergency stop
// (chaos Reset) and acknowledges, and fleet chaos assigned before the
// stop stays ended. Resetting a lever that is not latched changes
// nothing. It blocks on a few store round trips.
func (m *Member) Reset(ctx context.Context, by string) (Lever, error) {
	return m.pull(ctx, false, by)
}

// pull moves the lever to stopped by compare-and-set, and applies the
// result here.
func (m *Member) pull(ctx context.Context, stopped bool, by string) (Lever, error) {
	if by == "" {
		by = m.cfg.Instance
	}
	if err := antifragile.CheckName("by", by); err != nil {
		return Lever{}, err
	}
	ctx, cancel := m.opContext(ctx)
	defer cancel()
	for range maxLeverAttempts {
		e, err := m.store.Get(ctx, m.sp.control, leverKey)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Lever{}, fmt.Errorf("cluster: lever: %w", err)
		}
		if found {
			cur, ok := decodeLever(e)
			if ok && cur.Stopped == stopped {
				return m.leverOf(cur, e.Revision), nil
			}
		} else if !stopped {
			return m.leverOf(leverRecord{ConstitutionalHash: m.cfg.ConstitutionalHash}, 0), nil
		}
		rec := leverRecord{Stopped: stopped, By: by, At: time.Now().UTC(), ConstitutionalHash: m.cfg.ConstitutionalHash}
		b, _ := json.Marshal(rec)
		rev, err := m.store.Update(ctx, m.sp.control, leverKey, b, e.Revision)
		if errors.Is(err, ErrConflict) {
			continue // someone else moved it: read again
		}
		if err != nil {
			return Lever{}, fmt.Errorf("cluster: lever: %w", err)
		}
		m.ctl.Lock()
		m.applyLeverLocked(Entry{Key: leverKey, Value: b, Revision: rev, Created: rec.At}, true)
		m.ctl.Unlock()
		m.writeAck(ctx)
		return m.leverOf(rec, rev), nil
	}
	return Lever{}, fmt.Errorf("cluster: lever: %d concurrent changes in a row; try again", maxLeverAttempts)
}

// decodeLever reads a lever value; ok is false for an undecodable value or
// one with a wrong hash, which members treat as a stop (fail-safe).
func decodeLever(e Entry) (leverRecord, bool) {
	var rec leverRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return leverRecord{Stopped: true}, false
	}
	if antifragile.ValidateHash(rec.ConstitutionalHash) != nil {
		rec.Stopped = true
		return rec, false
	}
	return rec, true
}

func (m *Member) leverOf(rec leverRecord, rev uint64) Lever {
	return Lever{Stopped: rec.Stopped, By: rec.By, At: rec.At, Revision: rev,
		Acked: []Ack{}, Pending: []string{}, ConstitutionalHash: m.cfg.ConstitutionalHash}
}

// Lever reads the lever with the acknowledgements of its current
// revision, and the live instances that have not acknowledged it. It
// blocks on three store reads.
func (m *Member) Lever(ctx context.Context) (Lever, error) {
	ctx, cancel := m.opContext(ctx)
	defer cancel()
	e, err := m.store.Get(ctx, m.sp.control, leverKey)
	var lv Lever
	switch {
	case err == nil:
		rec, _ := decodeLever(e)
		lv = m.leverOf(rec, e.Revision)
	case errors.Is(err, ErrNotFound):
		lv = m.leverOf(leverRecord{}, 0)
	default:
		return Lever{}, fmt.Errorf("cluster: lever: %w", err)
	}
	acks, err := m.store.List(ctx, m.sp.control, ackPrefix)
	if err != nil {
		return Lever{}, fmt.Errorf("cluster: lever: %w", err)
	}
	acked := map[string]bool{}
	for _, a := range acks {
		var ack Ack
		if json.Unmarshal(a.Value, &ack) != nil || ack.Revision != lv.Revision {
			continue
		}
		acked[ack.Instance] = true
		lv.Acked = append(lv.Acked, ack)
	}
	slices.SortFunc(lv.Acked, func(a, b Ack) int { return strings.Compare(a.Instance, b.Instance) })
	live, err := m.liveInstances(ctx)
	if err != nil {
		return Lever{}, fmt.Errorf("cluster: lever: %w", err)
	}
	for _, h := range live {
		if !acked[h.Instance] {
			lv.Pending = append(lv.Pending, h.Instance)
		}
	}
	return lv, nil
}

// onLever returns the lever watch's callback.
func (m *Member) onLever(ctx context.Context) func(Entry) {
	return func(e Entry) {
		m.ctl.Lock()
		changed := m.applyLeverLocked(e, !e.Deleted)
		m.ctl.Unlock()
		if changed {
			m.writeAck(ctx)
		}
	}
}

// applyLeverLocked applies a lever value (found false: there is none) to
// the engine unless it is one already applied, and reports whether it was
// applied. A value that cannot be read counts as a stop. The caller holds
// ctl.
func (m *Member) applyLeverLocked(e Entry, found bool) bool {
	lv := &m.lever
	if lv.known && (!found && !e.Deleted || e.Revision <= lv.rev) {
		return false
	}
	rec := leverRecord{}
	ok := true
	if found {
		rec, ok = decodeLever(e)
	}
	lv.known, lv.rev, lv.ackDue = true, e.Revision, true
	if !ok {
		m.log.Warn("cluster: the lever holds a value this instance cannot verify; treating it as an emergency stop", "revision", e.Revision)
	}
	switch {
	case rec.Stopped && !lv.stopped:
		lv.stopped = true
		lv.deadManOwned = false // the lever's stop now; only a reset lifts it
		clear(m.fleet)
		if c := m.src.Chaos; c != nil {
			c.EmergencyStop()
		}
		m.log.Warn("cluster: emergency stop latched: chaos stopped", "by", rec.By, "revision", e.Revision)
	case !rec.Stopped && lv.stopped:
		lv.stopped = false
		if lv.deadMan {
			lv.deadManOwned = true // still out of contact: the switch keeps it stopped
		} else if c := m.src.Chaos; c != nil {
			c.Reset()
		}
		m.log.Info("cluster: emergency stop reset: chaos allowed again", "by", rec.By, "revision", e.Revision)
	}
	return true
}

// writeAck writes the acknowledgement of the lever revision applied, if
// one is due; a failed write is retried after the next heartbeat.
func (m *Member) writeAck(ctx context.Context) {
	m.ctl.Lock()
	if !m.lever.ackDue {
		m.ctl.Unlock()
		return
	}
	a := Ack{Instance: m.cfg.Instance, Revision: m.lever.rev, Stopped: m.lever.stopped,
		At: time.Now().UTC(), ConstitutionalHash: m.cfg.ConstitutionalHash}
	if c := m.src.Chaos; c != nil {
		a.ChaosStopped = c.Stopped()
	}
	m.ctl.Unlock()
	b, _ := json.Marshal(a)
	octx, cancel := context.WithTimeout(ctx, m.opTimeout)
	_, err := m.store.Put(octx, m.sp.control, ackPrefix+m.self, b)
	cancel()
	if err != nil {
		return
	}
	m.acks.Add(1)
	m.ctl.Lock()
	if m.lever.rev == a.Revision {
		m.lever.ackDue = false
	}
	m.ctl.Unlock()
}

// checkLease fires the dead-man switch when the last contact with the
// store is older than the lease.
func (m *Member) checkLease(now time.Time) {
	since := now.Sub(time.Unix(0, m.lastContact.Load()))
	if since > m.cfg.Lease {
		m.fireDeadMan(fmt.Sprintf("no contact with the store for %s (lease %s)", since.Round(time.Millisecond), m.cfg.Lease))
	}
}

// fireDeadMan stops the engine's chaos, unless the switch is in force
// already. It lifts that stop on rejoining only if it made it.
func (m *Member) fireDeadMan(why string) {
	m.ctl.Lock()
	if m.lever.deadMan {
		m.ctl.Unlock()
		return
	}
	m.lever.deadMan = true
	m.lever.deadManOwned = false
	if c := m.src.Chaos; c != nil && !c.Stopped() {
		c.EmergencyStop()
		m.lever.deadManOwned = true
	}
	clear(m.fleet)
	m.ctl.Unlock()
	m.deadManFired.Add(1)
	m.log.Warn("cluster: dead-man switch: "+why+": chaos stopped; breakers, health and recovery carry on locally", "lease", m.cfg.Lease)
}

// afterContact rejoins after the dead-man switch and writes a pending
// acknowledgement, once a heartbeat reached the store.
func (m *Member) afterContact(ctx context.Context) {
	m.ctl.Lock()
	dead := m.lever.deadMan
	m.ctl.Unlock()
	if dead {
		m.rejoin(ctx)
	}
	m.writeAck(ctx)
}

// rejoin reads the lever anew and ends the dead-man switch: the stop it
// made is lifted unless the lever is latched now.
func (m *Member) rejoin(ctx context.Context) {
	octx, cancel := context.WithTimeout(ctx, m.opTimeout)
	e, err := m.store.Get(octx, m.sp.control, leverKey)
	cancel()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return // not yet: the next heartbeat tries again
	}
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.applyLeverLocked(e, err == nil)
	lifted := false
	if m.lever.deadManOwned && !m.lever.stopped {
		if c := m.src.Chaos; c != nil {
			c.Reset()
			lifted = true
		}
	}
	m.lever.deadMan, m.lever.deadManOwned = false, false
	m.log.Info("cluster: rejoined: the store answers again", "lever_stopped", m.lever.stopped, "chaos_stop_lifted", lifted)
}
