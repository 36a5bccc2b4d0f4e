package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/health"
)

// View is the cluster as the store holds it, computed on demand: every
// instance's last heartbeat judged by its age, the breakers rolled up by
// name, and the cluster's status with what pulled it down. It is plain
// data with a JSON form. The lists of its instances' heartbeats are
// shared with the member's copy of the last view: treat them as
// read-only.
type View struct {
	// Cluster names the cluster; At is when the view was made.
	Cluster string    `json:"cluster"`
	At      time.Time `json:"at"`
	// Stale is true when the store could not be read: the view is the
	// last one read, at ReadAt, with every instance marked stale and ages
	// counted to At; Error says why.
	Stale  bool      `json:"stale"`
	ReadAt time.Time `json:"read_at"`
	Error  string    `json:"error,omitempty"`
	// Status is the cluster's status: the worst of the live instances',
	// with a stale, lost or unverifiable instance counting as DEGRADED;
	// UNKNOWN when no instance reports one.
	Status health.Status `json:"status"`
	// PulledDownBy lists the instances and breakers that made Status what
	// it is.
	PulledDownBy Culprits `json:"pulled_down_by"`
	// Instances holds every instance the store remembers, sorted by name;
	// Live, StaleCount and Lost count them by freshness.
	Instances  []Instance `json:"instances"`
	Live       int        `json:"live"`
	StaleCount int        `json:"stale_count"`
	Lost       int        `json:"lost"`
	// Breakers rolls up, per breaker name, the instances (neither lost nor
	// stale data counted as current: only live and stale ones) that report
	// it open, forced open or half-open; sorted by how many have it open,
	// most first.
	Breakers []BreakerRollup `json:"breakers"`
	// Truncated is true when some heartbeat listed fewer names than it
	// counted (see MaxListed): the rollups then undercount.
	Truncated bool `json:"truncated,omitempty"`
	// Lever is the lever's state (without acknowledgements; see
	// Member.Lever).
	Lever Lever `json:"lever"`
	// Undecodable counts heartbeats that could not be read.
	Undecodable int `json:"undecodable,omitempty"`
	// ConstitutionalHash is the viewing member's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Instance is one instance's line in a View: its last heartbeat and how
// old it is.
type Instance struct {
	Heartbeat
	// LastSeen is when the store wrote the heartbeat and Age how long ago
	// that was when the view was made.
	LastSeen time.Time            `json:"last_seen"`
	Age      antifragile.Duration `json:"age"`
	// Stale: the heartbeat is older than two of the instance's intervals
	// (or the store could not be read), so its data is not current. Lost:
	// it is older than the instance's TTL; the instance is gone or cut off.
	Stale bool `json:"stale"`
	Lost  bool `json:"lost"`
	// HashMismatch: the heartbeat carries another constitutional hash than
	// the viewer's.
	HashMismatch bool `json:"hash_mismatch,omitempty"`
}

// Culprits are what pulled a cluster's status down.
type Culprits struct {
	// Instances lists the instances whose own status or freshness is
	// below HEALTHY, worst first.
	Instances []Culprit `json:"instances"`
	// Breakers names the breakers open or forced open on at least one
	// live or stale instance, most widespread first.
	Breakers []string `json:"breakers"`
}

// Culprit is one instance that pulled the status down, and why: its
// status ("critical", "degraded") or its freshness ("stale", "lost"), or
// "hash_mismatch".
type Culprit struct {
	Instance string        `json:"instance"`
	Status   health.Status `json:"status"`
	Reason   string        `json:"reason"`
	// Breakers names its open and forced-open breakers (at most
	// MaxListed of each).
	Breakers []string `json:"breakers,omitempty"`
}

// BreakerRollup is one breaker name across the cluster.
type BreakerRollup struct {
	Name string `json:"name"`
	// Open, Forced and HalfOpen count the instances reporting the breaker
	// in that state, of Of instances counted (live and stale).
	Open     int `json:"open"`
	Forced   int `json:"forced"`
	HalfOpen int `json:"half_open"`
	Of       int `json:"of"`
	// OpenOn names the instances where it is open or forced open, sorted.
	OpenOn []string `json:"open_on"`
	// Summary reads like "payments open on 3 of 5 instances".
	Summary string `json:"summary"`
}

// View reads every heartbeat and computes the cluster view (see View). It
// blocks on one listing and one read of the store. When the store cannot
// be read it returns the last view read, marked stale (or an empty stale
// view before any), together with the error.
func (m *Member) View(ctx context.Context) (*View, error) {
	ctx, cancel := m.opContext(ctx)
	defer cancel()
	now := time.Now()
	es, err := m.store.List(ctx, m.sp.members, "")
	var lv Lever
	if err == nil {
		lv, err = m.leverNow(ctx)
	}
	if err != nil {
		return m.staleView(now, err), fmt.Errorf("cluster: view: %w", err)
	}
	rows := make([]Instance, 0, len(es))
	undecodable := 0
	for _, e := range es {
		var in Instance
		if json.Unmarshal(e.Value, &in.Heartbeat) != nil || in.Instance == "" {
			undecodable++
			continue
		}
		in.LastSeen = e.Created.UTC()
		rows = append(rows, in)
	}
	v := m.compute(rows, now, false)
	v.Lever, v.Undecodable, v.ReadAt = lv, undecodable, now.UTC()
	m.last.Store(v)
	out := *v
	out.Instances = slices.Clone(v.Instances)
	return &out, nil
}

// staleView is the last view read, recomputed at now with every instance
// stale.
func (m *Member) staleView(now time.Time, err error) *View {
	prev := m.last.Load()
	var rows []Instance
	if prev != nil {
		rows = slices.Clone(prev.Instances)
	}
	v := m.compute(rows, now, true)
	v.Stale, v.Error = true, err.Error()
	if prev != nil {
		v.Lever, v.Undecodable, v.ReadAt = prev.Lever, prev.Undecodable, prev.ReadAt
	}
	return v
}

// compute judges rows (their Heartbeat and LastSeen set) at now and rolls
// them up; allStale marks every instance stale.
func (m *Member) compute(rows []Instance, now time.Time, allStale bool) *View {
	v := &View{Cluster: m.cfg.Name, At: now.UTC(), Instances: rows, Breakers: []BreakerRollup{},
		PulledDownBy: Culprits{Instances: []Culprit{}, Breakers: []string{}}, ConstitutionalHash: m.cfg.ConstitutionalHash}
	slices.SortFunc(v.Instances, func(a, b Instance) int { return strings.Compare(a.Instance, b.Instance) })
	rolls := map[string]*BreakerRollup{}
	for i := range v.Instances {
		in := &v.Instances[i]
		m.judge(in, now, allStale)
		switch {
		case in.Lost:
			v.Lost++
			continue
		case in.Stale:
			v.StaleCount++
		default:
			v.Live++
		}
		v.Truncated = v.Truncated || in.truncated()
		roll(rolls, in)
	}
	counted := v.Live + v.StaleCount
	for _, r := range rolls {
		r.Of = counted
		slices.Sort(r.OpenOn)
		r.Summary = summary(r)
		v.Breakers = append(v.Breakers, *r)
	}
	slices.SortFunc(v.Breakers, func(a, b BreakerRollup) int {
		return cmp.Or(cmp.Compare(b.Open+b.Forced, a.Open+a.Forced), cmp.Compare(b.HalfOpen, a.HalfOpen), strings.Compare(a.Name, b.Name))
	})
	for _, r := range v.Breakers {
		if r.Open+r.Forced > 0 {
			v.PulledDownBy.Breakers = append(v.PulledDownBy.Breakers, r.Name)
		}
	}
	v.Status, v.PulledDownBy.Instances = m.status(v.Instances)
	return v
}

// judge sets an instance's age and freshness at now, by its own interval
// and TTL.
func (m *Member) judge(in *Instance, now time.Time, allStale bool) {
	age := max(now.Sub(in.LastSeen), 0)
	in.Age = antifragile.Duration(age)
	iv, ttl := in.Interval.D(), in.TTL.D()
	if iv <= 0 {
		iv = m.cfg.HeartbeatInterval
	}
	if ttl <= 0 {
		ttl = m.cfg.TTL
	}
	in.Lost = age > ttl
	in.Stale = !in.Lost && (allStale || age > 2*iv)
	in.HashMismatch = in.ConstitutionalHash != m.cfg.ConstitutionalHash
}

func roll(rolls map[string]*BreakerRollup, in *Instance) {
	get := func(name string) *BreakerRollup {
		r := rolls[name]
		if r == nil {
			r = &BreakerRollup{Name: name, OpenOn: []string{}}
			rolls[name] = r
		}
		return r
	}
	for _, n := range in.Open {
		r := get(n)
		r.Open++
		r.OpenOn = append(r.OpenOn, in.Instance)
	}
	for _, n := range in.Forced {
		r := get(n)
		r.Forced++
		r.OpenOn = append(r.OpenOn, in.Instance)
	}
	for _, n := range in.HalfOpen {
		get(n).HalfOpen++
	}
}

func summary(r *BreakerRollup) string {
	s := fmt.Sprintf("%s open on %d of %d instances", r.Name, r.Open+r.Forced, r.Of)
	var extra []string
	if r.Forced > 0 {
		extra = append(extra, fmt.Sprintf("%d forced", r.Forced))
	}
	if r.HalfOpen > 0 {
		extra = append(extra, fmt.Sprintf("half-open on %d", r.HalfOpen))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// status returns the cluster's status over the judged instances and the
// instances that pulled it below HEALTHY, worst first.
func (m *Member) status(ins []Instance) (health.Status, []Culprit) {
	worst := health.Unknown
	culprits := []Culprit{}
	for i := range ins {
		in := &ins[i]
		s, reason := in.Status, strings.ToLower(in.Status.String())
		switch {
		case in.Lost:
			s, reason = health.Degraded, "lost"
		case in.HashMismatch:
			s, reason = max(s, health.Degraded), "hash_mismatch"
		case in.Stale:
			s, reason = max(s, health.Degraded), "stale"
		}
		worst = max(worst, s)
		if s > health.Healthy {
			culprits = append(culprits, Culprit{Instance: in.Instance, Status: s, Reason: reason,
				Breakers: slices.Concat(in.Open, in.Forced)})
		}
	}
	slices.SortFunc(culprits, func(a, b Culprit) int {
		return cmp.Or(cmp.Compare(b.Status, a.Status), strings.Compare(a.Instance, b.Instance))
	})
	return worst, culprits
}

// liveInstances returns the heartbeats of the instances that are neither
// stale nor lost.
func (m *Member) liveInstances(ctx context.Context) ([]Heartbeat, error) {
	es, err := m.store.List(ctx, m.sp.members, "")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []Heartbeat
	for _, e := range es {
		in := Instance{LastSeen: e.Created}
		if json.Unmarshal(e.Value, &in.Heartbeat) != nil || in.Instance == "" {
			continue
		}
		m.judge(&in, now, false)
		if !in.Lost && !in.Stale {
			out = append(out, in.Heartbeat)
		}
	}
	return out, nil
}
