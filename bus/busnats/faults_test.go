package busnats_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// TestIssue16_Kill9AndRestart: kill -9 of the only receiving process
// opens the sender's breaker of the agent within its trip rule (three
// consecutive failures); the recovery orchestrator probes the agent and
// closes the breaker once a restarted receiver serves it again, and the
// sender — never restarted — reaches it.
func TestIssue16_Kill9AndRestart(t *testing.T) {
	srv := natstest.Start(t)
	c := startChild(t, srv.URL(), "worker", "validator")
	s := newSender(t, srv.URL(), "api", breaker.Config{ConsecutiveFailures: 3, OpenTimeout: time.Hour})
	o, err := recovery.New(recovery.Config{Watch: true, Policies: map[string]recovery.Policy{
		"validator": {HealthCheck: s.tr.HealthCheck("validator"), HealthCheckTimeout: time.Second,
			InitialDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxRetryAttempts: 1000},
	}}, s.reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = o.Run(ctx) })
	defer func() { cancel(); wg.Wait(); _ = o.Close(context.Background()) }()

	if _, err := s.send("validator", "echo", nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.kill()
	br, _ := s.reg.Get("validator")
	failures := 0
	for br.State() != breaker.Open {
		if failures == 3 {
			t.Fatalf("the breaker is %v after %d failed sends, want open", br.State(), failures)
		}
		_, err := s.send("validator", "echo", nil, 500*time.Millisecond)
		if err == nil {
			t.Fatal("a send to a killed receiver succeeded")
		}
		t.Logf("send after kill -9: %v", err)
		failures++
	}
	if failures != 3 {
		t.Errorf("the breaker opened after %d failures, want 3", failures)
	}
	if _, err := s.send("validator", "echo", nil, time.Second); !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("send with the breaker open: %v, want breaker.ErrOpen", err)
	}
	// Probes fail while nobody serves the agent: the breaker stays open.
	if err := s.tr.Probe(context.Background(), "validator"); !errors.Is(err, busnats.ErrNoResponders) {
		t.Errorf("probe with no receiver: %v, want ErrNoResponders", err)
	}
	c2 := startChild(t, srv.URL(), "worker", "validator")
	servertest.Eventually(t, 15*time.Second, "the recovery closes the breaker once a replica serves again", func() bool {
		return br.State() == breaker.Closed
	})
	if _, err := s.send("validator", "echo", nil, 5*time.Second); err != nil {
		t.Fatalf("send after the restart: %v", err)
	}
	if got := c2.stop(); count(got, metering.OpAgentMessage, metering.OutcomeOK) != 1 {
		t.Errorf("the restarted receiver metered %+v, want one message ok", got)
	}
}

// TestIssue16_PartitionAndHeal: a partition between two named processes,
// as a chaos scenario on the sender's engine, opens its breaker of the
// agent; once it ends and the breaker is reset, messages flow again.
func TestIssue16_PartitionAndHeal(t *testing.T) {
	srv := natstest.Start(t)
	startChild(t, srv.URL(), "worker", "validator", "auditor")
	s := newSender(t, srv.URL(), "api", breaker.Config{ConsecutiveFailures: 2, OpenTimeout: time.Hour})
	for _, a := range []string{"validator", "auditor"} {
		if _, err := s.send(a, "echo", nil, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := s.chaos.Inject(busnats.PartitionScenario("api", "worker", []string{"validator", "auditor"}, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "partition_api_worker" {
		t.Errorf("scenario name %q", sc.Name)
	}
	for _, a := range []string{"validator", "auditor"} {
		for range 2 {
			if _, err := s.send(a, "echo", nil, 5*time.Second); !errors.Is(err, chaos.ErrPartitioned) {
				t.Fatalf("send to %s across the partition: %v", a, err)
			}
		}
		if br, _ := s.reg.Get(a); br.State() != breaker.Open {
			t.Errorf("breaker of %s is %v after the partition, want open", a, br.State())
		}
	}
	s.chaos.Deactivate(sc.Name)
	s.reg.ResetAll()
	for _, a := range []string{"validator", "auditor"} {
		if _, err := s.send(a, "echo", nil, 5*time.Second); err != nil {
			t.Fatalf("send to %s after the partition healed: %v", a, err)
		}
	}
}

// TestIssue16_SlowConsumerCounted: a receiver slower than its sender
// drops what exceeds its buffer as a NATS slow consumer, and counts every
// dropped message: received + dropped is what was published.
func TestIssue16_SlowConsumerCounted(t *testing.T) {
	srv := natstest.Start(t)
	s := newSender(t, srv.URL(), "api", breaker.Config{})
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	rb, err := bus.New(bus.Config{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	if err := rb.Register("slow", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return bus.Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	rt, err := busnats.New(busnats.Config{URL: srv.URL(), Process: "worker", Concurrency: 1, PendingLimit: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	if err := rt.Serve(rb, "slow"); err != nil {
		t.Fatal(err)
	}
	if err := rt.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	const n = 100
	for range n {
		if err := s.bus.Publish(context.Background(), bus.NewMessage("proposer", "slow", "work", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.tr.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, 10*time.Second, "the slow receiver reports dropped messages", func() bool {
		m := rt.Metrics()
		return m.Dropped > 0
	})
	m := rt.Metrics()
	t.Logf("receiver while stuck: %+v", m)
	close(release)
	// Every message arrives in the end: taken by the worker, or dropped
	// and counted.
	servertest.Eventually(t, 10*time.Second, "every published message is received or counted as dropped", func() bool {
		m := rt.Metrics()
		return m.Received+m.Dropped == n && m.InFlight == 0
	})
	m = rt.Metrics()
	t.Logf("receiver after: %+v", m)
	if m.Dropped == 0 || m.SlowConsumer == 0 {
		t.Errorf("%d of %d dropped, %d slow-consumer episodes, by a receiver holding 1 in flight and at most 5 pending", m.Dropped, n, m.SlowConsumer)
	}
}

// TestTransport_ProbeAnswersForRegisteredAgents: a probe succeeds while
// the agent is served and registered, fails once it is unregistered (the
// bus refuses its messages), and finds no responders once it is not served.
func TestTransport_ProbeAnswersForRegisteredAgents(t *testing.T) {
	srv := natstest.Start(t)
	s := newSender(t, srv.URL(), "api", breaker.Config{})
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	rb, err := bus.New(bus.Config{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Register("validator", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil }); err != nil {
		t.Fatal(err)
	}
	rt, err := busnats.New(busnats.Config{URL: srv.URL(), Process: "worker"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	if err := rt.Serve(rb, "validator"); err != nil {
		t.Fatal(err)
	}
	if err := rt.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.tr.Probe(ctx, "validator"); err != nil {
		t.Fatalf("probe of a served agent: %v", err)
	}
	rb.Unregister("validator")
	if err := s.tr.Probe(ctx, "validator"); !errors.Is(err, bus.ErrUnknownAgent) {
		t.Errorf("probe of an unregistered agent: %v, want bus.ErrUnknownAgent", err)
	}
	rt.Unserve("validator")
	if err := rt.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.tr.Probe(ctx, "validator"); !errors.Is(err, busnats.ErrNoResponders) {
		t.Errorf("probe of an agent nobody serves: %v, want ErrNoResponders", err)
	}
	if m := rt.Metrics(); m.Probes != 2 || m.Received != 0 {
		t.Errorf("receiver metrics %+v: want 2 probes, nothing delivered", m)
	}
}

// TestTransport_ServeRunsConcurrencyAtOnce: a served agent's workers
// deliver up to Config.Concurrency messages at once — a blocked delivery
// holds none of the others up — and no more; the rest wait and are
// delivered once workers are free.
func TestTransport_ServeRunsConcurrencyAtOnce(t *testing.T) {
	const workers, n = 4, 10
	srv := natstest.Start(t)
	s := newSender(t, srv.URL(), "api", breaker.Config{})
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	rb, err := bus.New(bus.Config{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var running, most, done atomic.Int32
	if err := rb.Register("slow", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		now := running.Add(1)
		for cur := most.Load(); now > cur && !most.CompareAndSwap(cur, now); cur = most.Load() {
		}
		defer running.Add(-1)
		defer done.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return bus.Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	rt, err := busnats.New(busnats.Config{URL: srv.URL(), Process: "worker", Concurrency: workers})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock() // before Close, should the test fail with deliveries blocked
	if err := rt.Serve(rb, "slow"); err != nil {
		t.Fatal(err)
	}
	if err := rt.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := s.bus.Publish(context.Background(), bus.NewMessage("proposer", "slow", "work", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.tr.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, 10*time.Second, "Concurrency deliveries blocked at once, the others pending", func() bool {
		return running.Load() == workers && rt.Metrics().Pending == n-workers
	})
	if m := rt.Metrics(); m.InFlight != workers || running.Load() != workers {
		t.Errorf("with every worker blocked: %d in flight, %d running; want %d", m.InFlight, running.Load(), workers)
	}
	unblock()
	servertest.Eventually(t, 10*time.Second, "every message delivered once the workers are free", func() bool { return done.Load() == n })
	if got := most.Load(); got != workers {
		t.Errorf("at most %d deliveries ran at once, want %d", got, workers)
	}
}
