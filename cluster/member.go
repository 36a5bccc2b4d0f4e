package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
)

// Errors of a Member.
var (
	// ErrRunning is returned by Run while another Run of the member runs.
	ErrRunning = errors.New("cluster: member already running")
	// ErrClosed is returned by Run after Close.
	ErrClosed = errors.New("cluster: member closed")
	// ErrStopped refuses fleet chaos while the cluster's emergency stop is
	// latched.
	ErrStopped = errors.New("cluster: emergency stop latched")
	// ErrNoInstances refuses fleet chaos whose selector picks no live
	// instance: a fault that would hit nothing.
	ErrNoInstances = errors.New("cluster: no live instance selected")
)

// signalBuffer is the buffer of the registry subscription that feeds the
// breaker signals; when it overflows the member rereads every breaker.
const signalBuffer = 1024

// Member is one instance's membership of a cluster: Run joins it and keeps
// it (heartbeats, the lever, the dead-man switch, fleet chaos assigned to
// this instance, breaker signals and quorums); View, Lever, EmergencyStop,
// Reset, InjectFleet, StopFleet and Fleet read and act on the whole
// cluster through the store, with or without Run. All methods are safe for
// concurrent use. A Member does not own its Store: close the store after
// the member.
type Member struct {
	cfg       Config
	src       Sources
	store     Store
	sp        spaces
	log       *slog.Logger
	self      string        // token(cfg.Instance)
	opTimeout time.Duration // bound of one store operation of the member's own loops

	started   chan struct{} // closed once Run has read the lever (or given up)
	startOnce sync.Once

	seq             atomic.Uint64
	lastContact     atomic.Int64 // unix nanoseconds of the last heartbeat written; the lease runs from it
	heartbeats      atomic.Uint64
	heartbeatErrors atomic.Uint64
	deadManFired    atomic.Uint64
	acks            atomic.Uint64
	fleetAccepted   atomic.Uint64
	fleetRefused    atomic.Uint64
	signalsWritten  atomic.Uint64
	quorumTrips     atomic.Uint64

	last atomic.Pointer[View] // the last view read from the store

	ctl   sync.Mutex            // serialises what the member does to its chaos engine
	lever leverState            // guarded by ctl
	fleet map[string]appliedRun // guarded by ctl: scenario name → the fleet run applied

	qmu    sync.Mutex
	quorum map[string]*quorumState // guarded by qmu: the opted-in breakers

	mu      sync.Mutex
	running bool               // guarded by mu
	closed  bool               // guarded by mu
	runStop context.CancelFunc // guarded by mu
	runDone chan struct{}      // guarded by mu
}

// leverState is what a member knows of the lever and its own stops.
type leverState struct {
	known        bool   // a lever value (or its absence) has been read
	rev          uint64 // the revision of the lever last applied
	stopped      bool   // the lever's stop is applied to the engine
	deadMan      bool   // the dead-man switch is in force
	deadManOwned bool   // the dead-man switch stopped the engine, so lifts that stop
	ackDue       bool   // the acknowledgement of rev is not written yet
}

// New returns a member of the cluster cfg names, reporting on and acting
// on src, through store; or the *ValidationError (or hash mismatch) of
// every invalid field, and a *ValidationError wrapping antifragile.ErrNil
// for a nil (or typed-nil) store. A nil source is not an error: see
// Sources. It starts nothing and does not contact the store.
func New(cfg Config, src Sources, store Store) (*Member, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := nilcheck.Required("store", store); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Member{
		cfg:       cfg,
		src:       src,
		store:     store,
		sp:        cfg.spaces(),
		log:       cfg.Logger,
		self:      token(cfg.Instance),
		opTimeout: min(max(cfg.HeartbeatInterval, 200*time.Millisecond), cfg.Lease/2),
		started:   make(chan struct{}),
		fleet:     make(map[string]appliedRun),
		quorum:    make(map[string]*quorumState, len(cfg.Quorum)),
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m.log = m.log.With("cluster", cfg.Name, "instance", cfg.Instance)
	for name, n := range cfg.Quorum {
		m.quorum[name] = &quorumState{n: n, peers: make(map[string]time.Time)}
	}
	m.cfg.Labels = cloneLabels(cfg.Labels)
	return m, nil
}

// Config returns the member's configuration with defaults applied (its
// maps copied).
func (m *Member) Config() Config {
	c := m.cfg
	c.Labels = cloneLabels(c.Labels)
	if c.Quorum != nil {
		q := make(map[string]int, len(c.Quorum))
		for k, v := range c.Quorum {
			q[k] = v
		}
		c.Quorum = q
	}
	return c
}

// Started returns a channel closed once Run has read the lever for the
// first time and applied it — an instance that joins while the cluster's
// stop is latched has stopped its chaos by then — or, when the store
// failed or did not answer within the lease, has stopped its chaos by the
// dead-man switch. A system should accept chaos only after it. It is never closed
// if Run is not called.
func (m *Member) Started() <-chan struct{} { return m.started }

// Run joins the cluster and keeps the membership until ctx ends or Close
// is called: it reads the lever (see Started), then writes a heartbeat
// every HeartbeatInterval, watches the lever, this instance's fleet
// assignments and the signals of its quorum breakers, and publishes its
// breakers' signals. When it ends it removes its heartbeat and signals
// from the store (best effort, bounded by a short timeout), so that a
// member that leaves cleanly is not shown as lost. It returns nil after
// every goroutine it started has exited; ErrRunning while another Run
// runs, ErrClosed after Close. A member that cannot reach the store keeps
// running: see Config.Lease.
func (m *Member) Run(ctx context.Context) error {
	ctx, finish, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer finish()
	m.boot(ctx)
	m.startOnce.Do(func() { close(m.started) })

	var wg sync.WaitGroup
	m.spawn(ctx, &wg, "lever", func(ctx context.Context) error {
		return m.store.Watch(ctx, m.sp.control, leverKey, m.onLever(ctx))
	})
	m.spawn(ctx, &wg, "fleet", func(ctx context.Context) error {
		return m.store.Watch(ctx, m.sp.fleet, assignmentPrefix(m.self), m.onAssignment(ctx))
	})
	for name, q := range m.quorum {
		m.spawn(ctx, &wg, "quorum", func(ctx context.Context) error { return m.watchQuorum(ctx, name, q) })
	}
	if m.src.Breakers != nil {
		sub := m.src.Breakers.Subscribe(signalBuffer)
		defer sub.Close()
		m.spawn(ctx, &wg, "signals", func(ctx context.Context) error { m.publishSignals(ctx, sub); return nil })
	}
	m.tick(ctx)
	wg.Wait()
	m.leave(ctx)
	return nil
}

// begin claims the member for one Run.
func (m *Member) begin(ctx context.Context) (context.Context, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, nil, ErrClosed
	case m.running:
		return nil, nil, ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m.running, m.runStop, m.runDone = true, cancel, done
	return ctx, func() {
		cancel()
		m.mu.Lock()
		m.running, m.runStop, m.runDone = false, nil, nil
		m.mu.Unlock()
		close(done)
	}, nil
}

// spawn runs fn on a goroutine that wg waits for, logging its error.
func (m *Member) spawn(ctx context.Context, wg *sync.WaitGroup, what string, fn func(context.Context) error) {
	wg.Go(func() {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("cluster: "+what+" watch failed", "err", err)
		}
	})
}

// tick writes a heartbeat every interval until ctx ends.
func (m *Member) tick(ctx context.Context) {
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = m.Beat(ctx)
			m.checkQuorums(time.Now())
		}
	}
}

// boot reads the lever before anything else, giving the store the lease
// to answer; on a failure the dead-man switch stops chaos at once,
// since a stop may be latched that this instance cannot see.
func (m *Member) boot(ctx context.Context) {
	m.lastContact.Store(time.Now().UnixNano())
	bctx, cancel := context.WithTimeout(ctx, m.cfg.Lease)
	e, err := m.store.Get(bctx, m.sp.control, leverKey)
	cancel()
	switch {
	case ctx.Err() != nil:
		return
	case err == nil || errors.Is(err, ErrNotFound):
		m.ctl.Lock()
		m.applyLeverLocked(e, err == nil)
		m.ctl.Unlock()
		m.writeAck(ctx)
	default:
		m.fireDeadMan(fmt.Sprintf("the store did not answer at start: %v", err))
	}
	_ = m.Beat(ctx)
}

// Beat writes one heartbeat: the step Run repeats every interval, which
// tests may call directly. Before and after writing it checks the lease
// (the dead-man switch); a successful write renews the lease and, after
// the switch fired, rejoins (see Config.Lease). It returns the store's
// error, if any.
func (m *Member) Beat(ctx context.Context) error {
	m.checkLease(time.Now())
	b, err := json.Marshal(m.Heartbeat())
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, m.opTimeout)
	_, err = m.store.Put(octx, m.sp.members, m.self, b)
	cancel()
	if err != nil {
		m.heartbeatErrors.Add(1)
		m.checkLease(time.Now())
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	m.heartbeats.Add(1)
	m.lastContact.Store(time.Now().UnixNano())
	m.afterContact(ctx)
	return nil
}

// Heartbeat builds the heartbeat the member would write now, taking the
// next sequence number. It reads the sources without blocking on them for
// long.
func (m *Member) Heartbeat() Heartbeat {
	h := Heartbeat{
		Cluster:            m.cfg.Name,
		Instance:           m.cfg.Instance,
		Labels:             m.cfg.Labels,
		At:                 time.Now().UTC(),
		Seq:                m.seq.Add(1),
		Interval:           antifragile.Duration(m.cfg.HeartbeatInterval),
		TTL:                antifragile.Duration(m.cfg.TTL),
		Version:            antifragile.Version,
		ConstitutionalHash: m.cfg.ConstitutionalHash,
	}
	m.src.fill(&h)
	m.ctl.Lock()
	h.LeverRevision = m.lever.rev
	m.ctl.Unlock()
	return h
}

// leave removes the member's heartbeat when Run ends.
func (m *Member) leave(ctx context.Context) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opTimeout)
	defer cancel()
	if err := m.store.Delete(lctx, m.sp.members, m.self); err != nil {
		m.log.Warn("cluster: could not remove the heartbeat on leaving; the instance shows as lost after its ttl", "err", err)
	}
}

// Close stops a running Run and waits for it to return, or for ctx to end
// (then it returns ctx's error). It is idempotent; after Close, Run
// returns ErrClosed, while View and the lever keep working.
func (m *Member) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	stop, done := m.runStop, m.runDone
	m.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Metrics is a point-in-time copy of a member's counters and state.
type Metrics struct {
	// Instance is the member's instance name; Running reports whether Run
	// is going.
	Instance string `json:"instance"`
	Running  bool   `json:"running"`
	// Heartbeats counts the heartbeats written, HeartbeatErrors those the
	// store refused or did not answer; LastContact is when the last one
	// was written (zero before the first).
	Heartbeats      uint64    `json:"heartbeats"`
	HeartbeatErrors uint64    `json:"heartbeat_errors"`
	LastContact     time.Time `json:"last_contact,omitzero"`
	// DeadMan reports the dead-man switch in force; DeadManFired counts
	// how often it fired.
	DeadMan      bool   `json:"dead_man"`
	DeadManFired uint64 `json:"dead_man_fired"`
	// LeverRevision is the lever revision last applied, LeverStopped
	// whether its stop is applied, Acks the acknowledgements written.
	LeverRevision uint64 `json:"lever_revision"`
	LeverStopped  bool   `json:"lever_stopped"`
	Acks          uint64 `json:"acks"`
	// FleetAccepted and FleetRefused count the fleet assignments this
	// instance's chaos engine accepted and refused.
	FleetAccepted uint64 `json:"fleet_accepted"`
	FleetRefused  uint64 `json:"fleet_refused"`
	// SignalsWritten counts the breaker signals written or retracted;
	// QuorumTrips the breakers a quorum of peers tripped.
	SignalsWritten uint64 `json:"signals_written"`
	QuorumTrips    uint64 `json:"quorum_trips"`
	// Quorums is the state of each opted-in breaker.
	Quorums []Quorum `json:"quorums"`
	// ConstitutionalHash is the member's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Metrics returns the member's counters and state. It does not block on
// the store.
func (m *Member) Metrics() Metrics {
	m.mu.Lock()
	running := m.running
	m.mu.Unlock()
	m.ctl.Lock()
	lv := m.lever
	m.ctl.Unlock()
	mt := Metrics{
		Instance:           m.cfg.Instance,
		Running:            running,
		Heartbeats:         m.heartbeats.Load(),
		HeartbeatErrors:    m.heartbeatErrors.Load(),
		DeadMan:            lv.deadMan,
		DeadManFired:       m.deadManFired.Load(),
		LeverRevision:      lv.rev,
		LeverStopped:       lv.stopped,
		Acks:               m.acks.Load(),
		FleetAccepted:      m.fleetAccepted.Load(),
		FleetRefused:       m.fleetRefused.Load(),
		SignalsWritten:     m.signalsWritten.Load(),
		QuorumTrips:        m.quorumTrips.Load(),
		Quorums:            m.Quorums(),
		ConstitutionalHash: m.cfg.ConstitutionalHash,
	}
	if m.heartbeats.Load() > 0 {
		mt.LastContact = time.Unix(0, m.lastContact.Load()).UTC()
	}
	return mt
}

// opContext bounds one operation the caller asked for by the member's
// operation timeout, unless ctx already has an earlier deadline.
func (m *Member) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, max(m.opTimeout, time.Second))
}

func cloneLabels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	out := make(map[string]string, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}
