package agentsim

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// Defaults of GeneratorConfig.
const (
	DefaultWorkers     = 32
	DefaultSendTimeout = 500 * time.Millisecond
	// trafficTick is the period at which the generator releases messages.
	trafficTick = 10 * time.Millisecond
)

// GeneratorConfig configures a Traffic generator.
type GeneratorConfig struct {
	// Rate is the messages sent per second. 0 means DefaultRate; it must be
	// within (0, MaxRate].
	Rate float64
	// Tenants are the tenants messages are sent for, round robin. Empty
	// means DefaultTenants.
	Tenants []string
	// Seed seeds the choice of routes and payloads. 0 means a random seed.
	Seed uint64
	// Workers bounds the messages in flight. 0 means 32; negative is
	// invalid. When every worker is busy the generator sheds messages and
	// counts them (GeneratorMetrics.Shed) instead of queueing without bound.
	Workers int
	// Timeout bounds each message. 0 means 500 ms; negative is invalid.
	Timeout time.Duration
	// Topology is scenario.TopologyFlow (empty means it) or
	// scenario.TopologyCascade: the routes the messages take (see
	// Simulation).
	Topology string
}

// route is one edge of the governance flow.
type route struct{ from, to string }

// routes is the governance flow: every agent receives a sixth of the
// messages.
var routes = [...]route{
	{Proposer, Validator}, {Validator, PolicyEngine}, {PolicyEngine, Deliberation},
	{Deliberation, Executor}, {Executor, Auditor}, {Auditor, Proposer},
}

// cascadeRoutes is the traffic of the cascade topology: half the messages
// enter the chain proposer → policy_engine → validator, the rest go to the
// agents outside it.
var cascadeRoutes = [...]route{
	{Auditor, Proposer}, {Auditor, Proposer}, {Auditor, Proposer},
	{Proposer, Deliberation}, {Deliberation, Executor}, {Executor, Auditor},
}

var actions = [...]string{"approve_budget", "update_policy", "grant_access", "publish_report", "rotate_keys"}

// Generator sends simulated governance messages between the agents of a
// bus at a steady rate, through bus.Send, and measures them. It is safe for
// concurrent use; Run owns its goroutines.
type Generator struct {
	bus     *bus.Bus
	cfg     GeneratorConfig
	running atomic.Bool

	sent, delivered, failed, shed, wrong atomic.Uint64

	mu     sync.Mutex
	recent [latencyRing]timedLatency // guarded by mu: the latest delivered messages
	next   int                       // guarded by mu: the slot recent's next entry goes to
}

// latencyRing bounds the latencies a Generator remembers.
const latencyRing = 8192

type timedLatency struct {
	at  time.Time
	lat time.Duration
}

// GeneratorMetrics are a generator's counters since it was created.
type GeneratorMetrics struct {
	// Sent counts the messages handed to the bus.
	Sent uint64 `json:"sent"`
	// Delivered counts the messages handled without error.
	Delivered uint64 `json:"delivered"`
	// Failed counts the messages that failed: injected faults, open
	// breakers, timeouts, handler errors.
	Failed uint64 `json:"failed"`
	// Shed counts the messages not sent because every worker was busy.
	Shed uint64 `json:"shed"`
	// WrongReplies counts the replies that were not what the agent's work
	// gives (a Byzantine answer, such as a corrupt_reply fault's); they
	// count in Failed too.
	WrongReplies uint64 `json:"wrong_replies"`
}

// NewGenerator returns a generator for the agents registered on b (see
// Install), or the validation errors of cfg. It starts nothing.
func NewGenerator(b *bus.Bus, cfg GeneratorConfig) (*Generator, error) {
	var p antifragile.Problems
	if b == nil {
		p.Invalid("bus", nil, "is required")
	}
	if cfg.Rate == 0 {
		cfg.Rate = scenario.DefaultRate
	}
	if !(cfg.Rate > 0 && cfg.Rate <= scenario.MaxRate) {
		p.Invalid("rate", cfg.Rate, "must be within (0, %g]", scenario.MaxRate)
	}
	if cfg.Workers < 0 {
		p.Invalid("workers", cfg.Workers, "must not be negative (0 means %d)", DefaultWorkers)
	}
	if cfg.Timeout < 0 {
		p.Invalid("timeout", cfg.Timeout, "must not be negative (0 means %s)", DefaultSendTimeout)
	}
	if cfg.Topology != "" && cfg.Topology != scenario.TopologyFlow && cfg.Topology != scenario.TopologyCascade {
		p.Invalid("topology", cfg.Topology, "must be %s or %s", scenario.TopologyFlow, scenario.TopologyCascade)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if len(cfg.Tenants) == 0 {
		cfg.Tenants = scenario.DefaultTenants()
	}
	cfg.Tenants = slices.Clone(cfg.Tenants)
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSendTimeout
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	return &Generator{bus: b, cfg: cfg}, nil
}

// Tenants returns the tenants the generator sends for.
func (t *Generator) Tenants() []string { return slices.Clone(t.cfg.Tenants) }

// Metrics returns the generator's counters. It takes no lock.
func (t *Generator) Metrics() GeneratorMetrics {
	return GeneratorMetrics{Sent: t.sent.Load(), Delivered: t.delivered.Load(), Failed: t.failed.Load(), Shed: t.shed.Load(),
		WrongReplies: t.wrong.Load()}
}

// Latency returns the q-th quantile (0 < q ≤ 1) of the latencies of the
// messages delivered within the last window (at most the last 8192
// messages), and how many there were; 0, 0 when there were none. Safe for
// concurrent use.
func (t *Generator) Latency(window time.Duration, q float64) (time.Duration, int) {
	from := time.Now().Add(-window)
	ds := make([]time.Duration, 0, 256)
	t.mu.Lock()
	for i := range t.recent {
		if e := t.recent[i]; !e.at.IsZero() && !e.at.Before(from) {
			ds = append(ds, e.lat)
		}
	}
	t.mu.Unlock()
	return Percentile(ds, q), len(ds)
}

// Percentile returns the q-th quantile (0 < q ≤ 1) of ds by the nearest-rank
// method, sorting ds in place; 0 for an empty ds.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// ErrGeneratorRunning is returned by a second concurrent Run.
var ErrGeneratorRunning = errors.New("gameday: traffic is already running")

// Run sends messages at the configured rate until ctx ends. It blocks and
// returns nil only after every message in flight has ended and every
// goroutine it started has exited; ErrGeneratorRunning while another Run
// runs.
func (t *Generator) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return ErrGeneratorRunning
	}
	defer t.running.Store(false)
	jobs := make(chan bus.Message, t.cfg.Workers)
	var wg sync.WaitGroup
	for range t.cfg.Workers {
		wg.Go(func() { t.work(ctx, jobs) })
	}
	defer wg.Wait()

	rng := rand.New(rand.NewPCG(t.cfg.Seed, t.cfg.Seed^0x5851f42d4c957f2d))
	ticker := time.NewTicker(trafficTick)
	defer ticker.Stop()
	var seq uint64
	var budget float64
	rs := routes[:]
	if t.cfg.Topology == scenario.TopologyCascade {
		rs = cascadeRoutes[:]
	}
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-ticker.C:
			// Release what the elapsed time allows, at most a second's worth
			// after a stall.
			budget = min(budget+t.cfg.Rate*now.Sub(last).Seconds(), t.cfg.Rate)
			last = now
			for ; budget >= 1; budget-- {
				seq++
				r := rs[rng.IntN(len(rs))]
				p := Proposal{
					Tenant: t.cfg.Tenants[seq%uint64(len(t.cfg.Tenants))],
					Seq:    seq,
					Action: actions[rng.IntN(len(actions))],
					Amount: math.Round(rng.Float64()*500000) / 100,
					Risk:   math.Round(rng.Float64()*90) / 100,
				}
				m := bus.NewMessage(r.from, r.to, "proposal", p)
				m.Tenant = p.Tenant
				select {
				case jobs <- m:
				default:
					t.shed.Add(1)
				}
			}
		}
	}
}

func (t *Generator) work(ctx context.Context, jobs <-chan bus.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-jobs:
			t.send(ctx, m)
		}
	}
}

// send sends m and counts how it went. A message to the auditor is
// published (the audit trail is one-way): it counts as delivered once
// queued. A reply that is not what the agent's work gives is a failure.
func (t *Generator) send(ctx context.Context, m bus.Message) {
	sctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	t.sent.Add(1)
	if m.To == Auditor {
		if err := t.bus.Publish(sctx, m); err != nil && ctx.Err() == nil {
			t.failed.Add(1)
		} else if err == nil {
			t.delivered.Add(1)
		} else {
			t.sent.Add(^uint64(0))
		}
		return
	}
	start := time.Now()
	reply, err := t.bus.Send(sctx, m)
	took := time.Since(start)
	if err == nil && !validReply(m.To, m.Payload, reply.Payload) {
		t.wrong.Add(1)
		t.failed.Add(1)
		return
	}
	switch {
	case err == nil:
		t.delivered.Add(1)
		now := time.Now()
		t.mu.Lock()
		t.recent[t.next] = timedLatency{at: now, lat: took}
		t.next = (t.next + 1) % latencyRing
		t.mu.Unlock()
	case ctx.Err() != nil:
		// Shutting down: neither a success nor a failure of the system.
		t.sent.Add(^uint64(0))
	default:
		t.failed.Add(1)
	}
}
