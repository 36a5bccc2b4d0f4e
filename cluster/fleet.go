package cluster

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
)

// MaxSelectorNames bounds the instance names a Selector lists.
const MaxSelectorNames = 10_000

// Selector chooses the instances of a fleet chaos run among the live ones
// (neither stale nor lost) when InjectFleet runs. An instance is a
// candidate when Names is empty or lists it, and it has every label of
// Labels; Fraction then keeps a share of the candidates.
type Selector struct {
	// Names lists instances by name; empty means any.
	Names []string `json:"names,omitempty"`
	// Labels must all be carried, with these values, by a selected
	// instance; empty means any.
	Labels map[string]string `json:"labels,omitempty"`
	// Fraction keeps ⌈Fraction × candidates⌉ of the candidates: those
	// ranked first by a hash of Seed and their name, so that the same seed
	// picks the same instances, and an instance's rank does not depend on
	// the others. 0 and 1 keep every candidate; otherwise within [0, 1].
	Fraction float64 `json:"fraction,omitempty"`
	// Seed seeds the ranking of Fraction.
	Seed uint64 `json:"seed,omitempty"`
}

// Validate reports every invalid field of s as a *ValidationError, joined
// with errors.Join; nil when s is valid.
func (s Selector) Validate() error {
	var p antifragile.Problems
	if len(s.Names) > MaxSelectorNames {
		p.Invalid("names", len(s.Names), "must list at most %d instances", MaxSelectorNames)
	} else {
		for i, n := range s.Names {
			p.Add(antifragile.CheckName(fmt.Sprintf("names[%d]", i), n))
		}
	}
	checkLabels(&p, s.Labels)
	if !(s.Fraction >= 0 && s.Fraction <= 1) {
		p.Invalid("fraction", s.Fraction, "must be within [0, 1]")
	}
	return p.Err()
}

// pick returns the names of the selected instances among live, sorted.
func (s Selector) pick(live []Heartbeat) []string {
	var cand []string
	for _, h := range live {
		if (len(s.Names) == 0 || slices.Contains(s.Names, h.Instance)) && hasLabels(h.Labels, s.Labels) {
			cand = append(cand, h.Instance)
		}
	}
	if s.Fraction > 0 && s.Fraction < 1 && len(cand) > 0 {
		k := int(math.Ceil(s.Fraction * float64(len(cand))))
		rank := func(name string) uint64 {
			h := fnv.New64a()
			_ = binary.Write(h, binary.LittleEndian, s.Seed)
			h.Write([]byte(name))
			return h.Sum64()
		}
		slices.SortFunc(cand, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b)) })
		cand = cand[:k]
	}
	slices.Sort(cand)
	return cand
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// FleetRun is one fleet chaos injection as InjectFleet wrote it.
type FleetRun struct {
	// ID identifies the run; a later run of the same scenario name has
	// another.
	ID string `json:"id"`
	// Scenario is the scenario each selected instance injects, ending at
	// ExpiresAt (its duration capped at chaos.MaxDuration).
	Scenario chaos.Scenario `json:"scenario"`
	// Selector chose Selected, the instances it was assigned to.
	Selector Selector `json:"selector"`
	Selected []string `json:"selected"`
	// By names who injected it; CreatedAt and ExpiresAt are by the
	// injector's clock.
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// LeverRevision is the lever revision when it was injected: an
	// instance that has applied another (a stop or a reset since) refuses
	// it.
	LeverRevision      uint64 `json:"lever_revision"`
	ConstitutionalHash string `json:"constitutional_hash"`
}

// FleetOutcome is what an instance did with a fleet assignment.
type FleetOutcome string

// The outcomes of an assignment.
const (
	// FleetPending: the instance has not reported yet.
	FleetPending FleetOutcome = "pending"
	// FleetAccepted: its chaos engine injected the scenario.
	FleetAccepted FleetOutcome = "accepted"
	// FleetRefused: the instance did not inject it (its engine's caps or
	// validation, an emergency stop, the dead-man switch); Error says why.
	FleetRefused FleetOutcome = "refused"
)

// FleetResult is one instance's outcome of a fleet run.
type FleetResult struct {
	Instance string       `json:"instance"`
	ID       string       `json:"id"`
	Outcome  FleetOutcome `json:"outcome"`
	Error    string       `json:"error,omitempty"`
	// At is when the instance applied the assignment, by its clock.
	At                 time.Time `json:"at,omitzero"`
	ConstitutionalHash string    `json:"constitutional_hash,omitempty"`
}

// FleetStatus is the state of the latest run of one fleet scenario.
type FleetStatus struct {
	// Run is the run's assignment as written (Selected: the instances whose
	// assignment is still in the store).
	Run FleetRun `json:"run"`
	// Results holds one line per selected instance, sorted.
	Results []FleetResult `json:"results"`
	// Accepted, Refused and Pending count Results by outcome.
	Accepted int `json:"accepted"`
	Refused  int `json:"refused"`
	Pending  int `json:"pending"`
}

// appliedRun is a fleet run an instance applied.
type appliedRun struct {
	id      string
	created time.Time // the engine's CreatedAt of the injected copy; zero if refused
}

func assignmentPrefix(inst string) string { return "a." + inst + "." }
func resultPrefix(scen string) string     { return "r." + scen + "." }

// InjectFleet assigns s to the live instances sel selects and returns the
// run: each of them injects s through its own chaos engine (its caps and
// validation apply; Fleet reads who accepted and who refused), and s ends
// everywhere at the same time (CreatedAt + Duration, by each instance's
// clock), by StopFleet, or by the lever. A run of a scenario name already
// running replaces it on the instances selected now. It fails with the
// validation errors of s or sel, ErrStopped while the lever is latched,
// ErrNoInstances when sel selects none, or the store's error (the
// instances whose assignment was written then apply it). by names the
// injector (empty: this instance). It blocks on one store write per
// selected instance.
func (m *Member) InjectFleet(ctx context.Context, s chaos.Scenario, sel Selector, by string) (FleetRun, error) {
	if by == "" {
		by = m.cfg.Instance
	}
	var p antifragile.Problems
	p.Add(s.Validate())
	p.Add(sel.Validate())
	p.Add(antifragile.CheckName("by", by))
	if s.Err != nil || len(s.StopConditions) > 0 {
		p.Invalid("scenario", s.Name, "a fleet scenario is plain data: Err and StopConditions do not travel")
	}
	if err := p.Err(); err != nil {
		return FleetRun{}, err
	}
	ctx, cancel := m.opContext(ctx)
	defer cancel()
	lv, err := m.leverNow(ctx)
	if err != nil {
		return FleetRun{}, err
	}
	if lv.Stopped {
		return FleetRun{}, fmt.Errorf("%w by %s at %s: fleet chaos refused until reset", ErrStopped, lv.By, lv.At.Format(time.RFC3339))
	}
	live, err := m.liveInstances(ctx)
	if err != nil {
		return FleetRun{}, fmt.Errorf("cluster: fleet: %w", err)
	}
	run := m.newRun(s, sel, by, lv.Revision)
	run.Selected = sel.pick(live)
	if len(run.Selected) == 0 {
		return FleetRun{}, fmt.Errorf("%w among %d live instances", ErrNoInstances, len(live))
	}
	b, err := json.Marshal(run)
	if err != nil {
		return FleetRun{}, fmt.Errorf("cluster: fleet: %w", err)
	}
	for i, inst := range run.Selected {
		if _, err := m.store.Put(ctx, m.sp.fleet, assignmentPrefix(token(inst))+token(s.Name), b); err != nil {
			return run, fmt.Errorf("cluster: fleet: assigned to %d of %d instances (%s): %w", i, len(run.Selected), strings.Join(run.Selected[:i], ", "), err)
		}
	}
	return run, nil
}

// newRun builds the run of s: its engine-set fields cleared, its duration
// capped.
func (m *Member) newRun(s chaos.Scenario, sel Selector, by string, leverRev uint64) FleetRun {
	now := time.Now().UTC()
	s.Active, s.CreatedAt, s.CappedFrom = false, time.Time{}, 0
	s.ConstitutionalHash = antifragile.HashOrDefault(s.ConstitutionalHash)
	if s.Duration > chaos.MaxDuration {
		s.CappedFrom, s.Duration = s.Duration, chaos.MaxDuration
	}
	return FleetRun{
		ID:       strconv.FormatInt(now.UnixNano(), 36) + "-" + m.self,
		Scenario: s, Selector: sel, By: by,
		CreatedAt: now, ExpiresAt: now.Add(s.Duration),
		LeverRevision: leverRev, ConstitutionalHash: m.cfg.ConstitutionalHash,
	}
}

// leverNow reads the lever's state.
func (m *Member) leverNow(ctx context.Context) (Lever, error) {
	e, err := m.store.Get(ctx, m.sp.control, leverKey)
	switch {
	case errors.Is(err, ErrNotFound):
		return m.leverOf(leverRecord{}, 0), nil
	case err != nil:
		return Lever{}, fmt.Errorf("cluster: lever: %w", err)
	}
	rec, _ := decodeLever(e)
	return m.leverOf(rec, e.Revision), nil
}

// StopFleet ends the fleet scenario named name everywhere: it removes its
// assignments, and each instance that injected it deactivates it. It
// returns how many assignments it removed. It blocks on a store listing
// and one deletion per assignment.
func (m *Member) StopFleet(ctx context.Context, name string) (int, error) {
	ctx, cancel := m.opContext(ctx)
	defer cancel()
	keys, _, err := m.assignments(ctx, name)
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := m.store.Delete(ctx, m.sp.fleet, k); err != nil {
			return i, fmt.Errorf("cluster: fleet: %w", err)
		}
	}
	return len(keys), nil
}

// assignments returns the keys and the latest run of the assignments of
// the scenario name.
func (m *Member) assignments(ctx context.Context, name string) ([]string, FleetRun, error) {
	es, err := m.store.List(ctx, m.sp.fleet, "a.")
	if err != nil {
		return nil, FleetRun{}, fmt.Errorf("cluster: fleet: %w", err)
	}
	suffix := "." + token(name)
	var keys []string
	var latest FleetRun
	for _, e := range es {
		if !strings.HasSuffix(e.Key, suffix) || strings.Count(e.Key, ".") != 2 {
			continue
		}
		keys = append(keys, e.Key)
		var r FleetRun
		if json.Unmarshal(e.Value, &r) == nil && r.CreatedAt.After(latest.CreatedAt) {
			latest = r
		}
	}
	return keys, latest, nil
}

// Fleet reads the latest run of the fleet scenario named name and each
// selected instance's outcome. It blocks on two store listings.
func (m *Member) Fleet(ctx context.Context, name string) (FleetStatus, error) {
	ctx, cancel := m.opContext(ctx)
	defer cancel()
	keys, run, err := m.assignments(ctx, name)
	if err != nil {
		return FleetStatus{}, err
	}
	if len(keys) == 0 {
		return FleetStatus{}, fmt.Errorf("cluster: fleet: no run of %q in the store: %w", name, ErrNotFound)
	}
	es, err := m.store.List(ctx, m.sp.fleet, resultPrefix(token(name)))
	if err != nil {
		return FleetStatus{}, fmt.Errorf("cluster: fleet: %w", err)
	}
	got := map[string]FleetResult{}
	for _, e := range es {
		var r FleetResult
		if json.Unmarshal(e.Value, &r) == nil && r.ID == run.ID {
			got[r.Instance] = r
		}
	}
	st := FleetStatus{Run: run, Results: []FleetResult{}}
	for _, inst := range run.Selected {
		r, ok := got[inst]
		if !ok {
			r = FleetResult{Instance: inst, ID: run.ID, Outcome: FleetPending}
		}
		st.Results = append(st.Results, r)
		switch r.Outcome {
		case FleetAccepted:
			st.Accepted++
		case FleetRefused:
			st.Refused++
		default:
			st.Pending++
		}
	}
	return st, nil
}

// onAssignment returns the callback of the watch on this instance's
// assignments.
func (m *Member) onAssignment(ctx context.Context) func(Entry) {
	prefix := assignmentPrefix(m.self)
	return func(e Entry) {
		name, err := untoken(strings.TrimPrefix(e.Key, prefix))
		if err != nil {
			return
		}
		if e.Deleted {
			m.endRun(name)
			return
		}
		var run FleetRun
		if err := json.Unmarshal(e.Value, &run); err != nil || run.Scenario.Name != name {
			return
		}
		res, ok := m.applyRun(run)
		if ok {
			m.writeResult(ctx, name, res)
		}
	}
}

// applyRun injects the scenario of run into the engine unless it was
// applied already or has expired, and reports the result to write.
func (m *Member) applyRun(run FleetRun) (FleetResult, bool) {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	name := run.Scenario.Name
	if prev, ok := m.fleet[name]; ok && prev.id == run.ID {
		return FleetResult{}, false // delivered again (a watch restarted)
	}
	remaining := time.Until(run.ExpiresAt)
	if remaining <= 0 {
		m.fleet[name] = appliedRun{id: run.ID}
		return FleetResult{}, false
	}
	res := FleetResult{Instance: m.cfg.Instance, ID: run.ID, At: time.Now().UTC(), ConstitutionalHash: m.cfg.ConstitutionalHash}
	var err error
	var got chaos.Scenario
	switch {
	case m.src.Chaos == nil:
		err = errors.New("this instance has no chaos engine")
	case m.lever.stopped:
		err = ErrStopped
	case m.lever.deadMan:
		err = errors.New("the dead-man switch is in force: no contact with the store")
	case run.LeverRevision != m.lever.rev:
		err = fmt.Errorf("the lever moved since the injection (revision %d, now %d)", run.LeverRevision, m.lever.rev)
	default:
		s := run.Scenario
		s.Duration = remaining
		got, err = m.src.Chaos.Inject(s)
	}
	m.fleet[name] = appliedRun{id: run.ID, created: got.CreatedAt}
	if err != nil {
		m.fleetRefused.Add(1)
		res.Outcome, res.Error = FleetRefused, err.Error()
		return res, true
	}
	m.fleetAccepted.Add(1)
	res.Outcome = FleetAccepted
	return res, true
}

// endRun deactivates the fleet scenario name if the engine still runs the
// copy this member injected (not one injected locally since).
func (m *Member) endRun(name string) {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	ap, ok := m.fleet[name]
	delete(m.fleet, name)
	if !ok || ap.created.IsZero() || m.src.Chaos == nil {
		return
	}
	if cur, ok := m.src.Chaos.Lookup(name); ok && cur.CreatedAt.Equal(ap.created) {
		m.src.Chaos.Deactivate(name)
	}
}

// writeResult writes this instance's result of a fleet run.
func (m *Member) writeResult(ctx context.Context, name string, r FleetResult) {
	b, _ := json.Marshal(r)
	octx, cancel := context.WithTimeout(ctx, m.opTimeout)
	defer cancel()
	if _, err := m.store.Put(octx, m.sp.fleet, resultPrefix(token(name))+m.self, b); err != nil {
		m.log.Warn("cluster: could not write a fleet result", "scenario", name, "err", err)
	}
}
