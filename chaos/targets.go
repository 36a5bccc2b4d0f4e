package chaos

import (
	"errors"
	"hash/maphash"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// ErrUnknownTarget is matched (errors.Is) by the *UnknownTargetError that
// refuses a scenario aimed at a target the engine has never seen, when
// Config.StrictTargets (or the caller) asks for that.
var ErrUnknownTarget = errors.New("chaos: unknown target")

// UnknownTargetError names the targets of a scenario that the engine knows
// nothing of: no breaker of its registry, no connection pool of its own and
// no call of the hot path has carried that name (see Engine.Known).
type UnknownTargetError struct {
	// Scenario names the scenario.
	Scenario string
	// Targets are its unknown targets, in the order of Scenario.Targets.
	Targets []string
	// Field is the JSON field of the first unknown target: "target", or
	// "blast_radius[i]".
	Field string
}

// Error reads like `chaos: unknown target "nosuch" of scenario "x": no
// breaker, bus agent, connection pool or call by that name has been seen`.
func (e *UnknownTargetError) Error() string {
	return "chaos: " + e.what() + " of scenario " + strconv.Quote(e.Scenario) + ": " + unknownWhy
}

// Warnings returns one line per unknown target, for an answer that
// injected the scenario anyway.
func (e *UnknownTargetError) Warnings() []string {
	out := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		out[i] = "target " + strconv.Quote(t) + " is unknown: " + unknownWhy + ", so the fault may hit nothing"
	}
	return out
}

// Unwrap returns ErrUnknownTarget.
func (e *UnknownTargetError) Unwrap() error { return ErrUnknownTarget }

func (e *UnknownTargetError) what() string {
	q := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		q[i] = strconv.Quote(t)
	}
	if len(q) == 1 {
		return "unknown target " + q[0]
	}
	return "unknown targets " + strings.Join(q, ", ")
}

const unknownWhy = "no breaker, bus agent, connection pool or call by that name has been seen"

// processWide reports whether s is a fault whose effect does not depend on
// its target: cpu, memory and disk_io exhaustion load the whole process,
// and their target is only a label.
func (s Scenario) processWide() bool {
	if s.Type != TypeResourceExhaustion {
		return false
	}
	switch s.ResourceType {
	case ResourceCPU, ResourceMemory, ResourceDiskIO:
		return true
	}
	return false
}

// Known reports whether the engine has met target: a breaker of its
// registry has that name (bus agents each have one; breakers the engine
// created itself for a circuit_breaker scenario do not count), a
// connection pool of Engine.Pool has it, or a hot-path call (Apply,
// Latency, Error, Partitioned, TimesOut, Bandwidth) has asked about it.
// The hot path remembers up to MaxSeenTargets names; past that, names not
// yet seen stay unknown. It does not block on the hot path.
func (e *Engine) Known(target string) bool {
	if e.seen.has(target) {
		return true
	}
	e.mu.Lock()
	_, pool := e.pools[target]
	fb := e.forced[target]
	e.mu.Unlock()
	if pool {
		return true
	}
	if e.reg == nil {
		return false
	}
	b, ok := e.reg.Get(target)
	return ok && (fb == nil || !fb.created || fb.b != b)
}

// CheckTargets returns an *UnknownTargetError naming the targets of s that
// the engine does not know (see Known), or nil when it knows them all.
// Process-wide faults (cpu, memory and disk_io exhaustion) are never
// refused: their target is only a label.
func (e *Engine) CheckTargets(s Scenario) error {
	if s.processWide() {
		return nil
	}
	var ue *UnknownTargetError
	for _, t := range s.Targets() {
		if e.Known(t) {
			continue
		}
		if ue == nil {
			ue = &UnknownTargetError{Scenario: s.Name, Field: targetField(s, t)}
		}
		ue.Targets = append(ue.Targets, t)
	}
	if ue == nil {
		return nil
	}
	return ue
}

// targetField returns the JSON field of s that names target t.
func targetField(s Scenario, t string) string {
	if t == s.Target {
		return "target"
	}
	for i, b := range s.BlastRadius {
		if b == t {
			return "blast_radius[" + strconv.Itoa(i) + "]"
		}
	}
	return "target"
}

// CapNote says how the engine shortened the scenario, such as "capped
// from 10m to 5m"; it is empty when CappedFrom is zero.
func (s Scenario) CapNote() string {
	if s.CappedFrom == 0 {
		return ""
	}
	return "capped from " + ShortDuration(s.CappedFrom) + " to " + ShortDuration(s.Duration)
}

// ShortDuration formats d like time.Duration.String without the zero
// units at its end: "10m" rather than "10m0s", "1h30m" rather than
// "1h30m0s".
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MaxSeenTargets bounds the target names the hot path remembers for Known.
const MaxSeenTargets = 2048

// seenSlots is the size of the table of seen targets: a power of two, four
// times MaxSeenTargets, so that a probe sequence stays short.
const seenSlots = 4 * MaxSeenTargets

// seenTargets is the set of target names the hot path was asked about, as
// an open-addressing table (linear probing) of their 64-bit hashes:
// lock-free, allocation free, fixed in size, never more than about a
// quarter full. A slot goes from 0 to a hash once and never
// changes again, so a lookup that meets 0 knows the name is absent. Two
// names whose hashes collide are taken for one another (a chance of about
// one in 2⁶⁴ per pair).
type seenTargets struct {
	seed  maphash.Seed
	count atomic.Int64
	slots [seenSlots]atomic.Uint64
	// recent caches, by the address of their bytes, names already noted:
	// callers pass the same string values again and again (constants, a
	// breaker's name), so a hit costs two atomic loads instead of a hash.
	// A slot's pointer keeps its string alive, so the address cannot be
	// reused for other bytes while it is cached; the length tells apart
	// strings that start at the same address.
	recent [recentSlots]recentName
}

// recentSlots is the size of seenTargets.recent, a power of two.
const recentSlots = 256

// recentName is one slot of seenTargets.recent.
type recentName struct {
	p atomic.Pointer[byte]
	n atomic.Int64
}

func newSeenTargets() *seenTargets { return &seenTargets{seed: maphash.MakeSeed()} }

// hash returns target's hash, never 0 (the empty slot).
func (t *seenTargets) hash(target string) uint64 { return maphash.String(t.seed, target) | 1 }

// note remembers target. It never blocks and allocates nothing; once the
// table is full it only looks. A string value noted before is usually
// found in recent by its address, and that check inlines.
func (t *seenTargets) note(target string) {
	p := unsafe.StringData(target)
	r := &t.recent[(uintptr(unsafe.Pointer(p))>>3)&(recentSlots-1)]
	if r.p.Load() == p && r.n.Load() == int64(len(target)) && p != nil {
		return
	}
	t.noteSlow(target, p, r)
}

// noteSlow notes target in the table and caches its address in r.
func (t *seenTargets) noteSlow(target string, p *byte, r *recentName) {
	h := t.hash(target)
	in := t.slots[h&(seenSlots-1)].Load() == h || t.insert(h)
	if in && p != nil {
		r.n.Store(int64(len(target))) // before p: a reader that sees p sees its length
		r.p.Store(p)
	}
}

// insert adds h to the table unless it is there, and reports whether it is
// there now: false only when the table is full.
func (t *seenTargets) insert(h uint64) bool {
	i := h & (seenSlots - 1)
	for range seenSlots {
		v := t.slots[i].Load()
		if v == h {
			return true
		}
		if v == 0 {
			if t.count.Load() >= MaxSeenTargets {
				return false
			}
			if t.slots[i].CompareAndSwap(0, h) {
				t.count.Add(1)
				return true
			}
			if t.slots[i].Load() == h { // another call noted it meanwhile
				return true
			}
		}
		i = (i + 1) & (seenSlots - 1)
	}
	return false
}

// has reports whether target was noted.
func (t *seenTargets) has(target string) bool {
	h := t.hash(target)
	i := h & (seenSlots - 1)
	for range seenSlots {
		switch t.slots[i].Load() {
		case h:
			return true
		case 0:
			return false
		}
		i = (i + 1) & (seenSlots - 1)
	}
	return false
}
