package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/system"
)

// clusterTarget is the game day's view of the demo across processes: the
// system of the process sending the traffic (demo-1), whose breakers,
// health and events are those of the whole flow (it holds the sender's
// breaker of every remote agent), with faults placed where they act. A
// fault on calls (latency, error, timeout, partition) aimed at an agent
// of another process is injected here with the link to
// that agent (its chaos target, link(agent)) added to its blast radius:
// the sending bus applies it to the link. A message fault (the bus's
// Byzantine faults act where a message is delivered) or a fault on the
// whole process (cpu, memory, disk I/O) aimed at an agent of another
// process is fleet chaos, assigned to the instances hosting its targets.
// It is safe for concurrent use.
type clusterTarget struct {
	*gameday.LocalTarget
	sys   *system.System
	link  func(agent string) string
	self  string            // this process's instance
	owner map[string]string // agent → the instance hosting it

	// remote carries the breaker transitions the other processes report
	// (see remoteEvent) to Watch.
	remote chan gameday.Event

	mu    sync.Mutex
	fleet map[string]bool // guarded by mu: the scenarios injected as fleet chaos, by name
}

// remoteEvent hands a breaker transition of the process instance to
// Watch, dropping it when Watch is behind by cap(remote) events. It never
// blocks.
func (t *clusterTarget) remoteEvent(instance string, ev breaker.Event) {
	e := gameday.Event{At: ev.At, Kind: "breaker", Subject: ev.Breaker, State: ev.To.String(), Instance: instance,
		Text: fmt.Sprintf("%s → %s (%s) in %s", ev.From, ev.To, ev.Reason, instance)}
	select {
	case t.remote <- e:
	default:
	}
}

// Watch reports this process's events (LocalTarget.Watch) and the
// breaker transitions of the other processes, until ctx ends. fn is
// called from Watch's goroutine only.
func (t *clusterTarget) Watch(ctx context.Context, fn func(gameday.Event)) error {
	local := make(chan gameday.Event)
	ran := make(chan error, 1)
	go func() {
		ran <- t.LocalTarget.Watch(ctx, func(ev gameday.Event) {
			select {
			case local <- ev:
			case <-ctx.Done():
			}
		})
	}()
	for {
		select {
		case <-ctx.Done():
			return <-ran
		case ev := <-local:
			fn(ev)
		case ev := <-t.remote:
			fn(ev)
		}
	}
}

var (
	_ gameday.Target  = (*clusterTarget)(nil)
	_ gameday.Watcher = (*clusterTarget)(nil)
)

// fleetPoll is the period at which Inject reads a fleet run's outcome.
const fleetPoll = 20 * time.Millisecond

// Inject injects s where it acts (see clusterTarget). A fleet scenario
// waits, as long as ctx allows, until every instance assigned has
// accepted it or refused it; a refusal is an error.
func (t *clusterTarget) Inject(ctx context.Context, s chaos.Scenario) error {
	remote := t.remoteOwners(s)
	if len(remote) == 0 {
		return t.LocalTarget.Inject(ctx, s)
	}
	if s.Type.IsMessageFault() || gameday.ProcessWide(s) {
		return t.injectFleet(ctx, s)
	}
	if onLinks(s.Type) {
		radius := slices.Clone(s.BlastRadius)
		for _, a := range s.Targets() {
			if o, ok := t.owner[a]; ok && o != t.self {
				radius = append(radius, t.link(a))
			}
		}
		s.BlastRadius = radius
	}
	return t.LocalTarget.Inject(ctx, s)
}

// onLinks reports whether a fault of type ty acts on calls, and so on the
// link to a remote agent: latency, errors, timeouts and partitions.
func onLinks(ty chaos.Type) bool {
	switch ty {
	case chaos.TypeLatency, chaos.TypeError, chaos.TypeTimeout, chaos.TypeNetworkPartition:
		return true
	}
	return false
}

// remoteOwners returns the instances other than this one that host
// targets of s.
func (t *clusterTarget) remoteOwners(s chaos.Scenario) []string {
	var out []string
	for _, a := range s.Targets() {
		if o, ok := t.owner[a]; ok && o != t.self && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// injectFleet assigns s to the instances hosting its targets and waits for
// their outcomes.
func (t *clusterTarget) injectFleet(ctx context.Context, s chaos.Scenario) error {
	var names []string
	for _, a := range s.Targets() {
		if o, ok := t.owner[a]; ok && !slices.Contains(names, o) {
			names = append(names, o)
		}
	}
	sort.Strings(names)
	m := t.sys.Cluster()
	if _, err := m.InjectFleet(ctx, s, cluster.Selector{Names: names}, "gameday"); err != nil {
		return fmt.Errorf("fleet chaos on %s: %w", strings.Join(names, ", "), err)
	}
	t.mu.Lock()
	t.fleet[s.Name] = true
	t.mu.Unlock()
	tick := time.NewTicker(fleetPoll)
	defer tick.Stop()
	for {
		st, err := m.Fleet(ctx, s.Name)
		if err == nil && st.Pending == 0 {
			return refusals(st)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fleet chaos on %s: no outcome from every instance: %w", strings.Join(names, ", "), ctx.Err())
		case <-tick.C:
		}
	}
}

// refusals returns the refusals of a fleet run as an error, nil when every
// instance accepted it.
func refusals(st cluster.FleetStatus) error {
	var errs []error
	for _, r := range st.Results {
		if r.Outcome == cluster.FleetRefused {
			errs = append(errs, fmt.Errorf("instance %s refused it: %s", r.Instance, r.Error))
		}
	}
	return errors.Join(errs...)
}

// End ends the scenario named name: fleet chaos everywhere it was
// assigned, else on this process's engine.
func (t *clusterTarget) End(ctx context.Context, name string) error {
	t.mu.Lock()
	fleet := t.fleet[name]
	delete(t.fleet, name)
	t.mu.Unlock()
	if !fleet {
		return t.LocalTarget.End(ctx, name)
	}
	_, err := t.sys.Cluster().StopFleet(ctx, name)
	return err
}

// Observe is the observation of this process with the rest of the cluster
// folded in from its view: a breaker not closed in another process (a call
// that process makes, in the cascade topology) counts as such unless it is
// worse here, and the status is the worst of this process's and the other
// instances' (a lost instance counts as DEGRADED; a stale one by its last
// heartbeat, so that a late heartbeat alone degrades nothing). The score
// is the lowest. Without a view the observation is this process's.
func (t *clusterTarget) Observe(ctx context.Context) (gameday.Observation, error) {
	o, err := t.LocalTarget.Observe(ctx)
	if err != nil {
		return o, err
	}
	v, err := t.sys.Cluster().View(ctx)
	if err != nil || v == nil {
		return o, nil
	}
	for _, in := range v.Instances {
		if in.Instance != t.self {
			fold(&o, in)
		}
	}
	return o, nil
}

// fold folds one instance's heartbeat into o (see Observe).
func fold(o *gameday.Observation, in cluster.Instance) {
	if in.Lost {
		if o.Status < health.Degraded {
			o.Status = health.Degraded
		}
		return
	}
	if in.Status != health.Unknown {
		o.Status = max(o.Status, in.Status)
		o.Score = min(o.Score, float64(in.Score))
	}
	for _, l := range []struct {
		names []string
		st    breaker.State
	}{{in.HalfOpen, breaker.HalfOpen}, {in.Open, breaker.Open}, {in.Forced, breaker.ForcedOpen}} {
		for _, name := range l.names {
			if cur, ok := o.Breakers[name]; !ok || stateRank(l.st) > stateRank(cur) {
				o.Breakers[name] = l.st
			}
		}
	}
}

// stateRank orders breaker states from the least disturbed: closed (and
// disabled), half-open, open, forced open.
func stateRank(st breaker.State) int {
	switch st {
	case breaker.HalfOpen:
		return 1
	case breaker.Open:
		return 2
	case breaker.ForcedOpen:
		return 3
	}
	return 0
}

// EmergencyStop stops this process's chaos engine at once, then pulls the
// cluster's lever, so that every instance ends its chaos.
func (t *clusterTarget) EmergencyStop(ctx context.Context) error {
	_ = t.LocalTarget.EmergencyStop(ctx)
	_, err := t.sys.Cluster().EmergencyStop(ctx, "gameday")
	return err
}
