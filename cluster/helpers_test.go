package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

var errBoom = errors.New("boom")

// node is one simulated instance: real components and a member over its
// own client of a shared backend.
type node struct {
	t      *testing.T
	reg    *breaker.Registry
	health *health.Aggregator
	chaos  *chaos.Engine
	rec    *recovery.Orchestrator
	store  *memClient
	m      *cluster.Member
	cancel context.CancelFunc
	done   chan error
}

// testConfig is the configuration of the tests' members: 1 s heartbeats,
// lost after 3 s, a 5 s lease.
func testConfig(instance string) cluster.Config {
	return cluster.Config{Name: "test", Instance: instance, HeartbeatInterval: time.Second}
}

func newNode(t *testing.T, b *memBackend, cfg cluster.Config) *node {
	t.Helper()
	n := &node{t: t, store: b.client()}
	var err error
	if n.reg, err = breaker.NewRegistry(breaker.RegistryConfig{}); err != nil {
		t.Fatal(err)
	}
	if n.health, err = health.New(health.Config{}, n.reg); err != nil {
		t.Fatal(err)
	}
	if n.chaos, err = chaos.New(chaos.Config{MemoryCap: 1 << 20}, n.reg); err != nil {
		t.Fatal(err)
	}
	if n.rec, err = recovery.New(recovery.Config{}, n.reg); err != nil {
		t.Fatal(err)
	}
	src := cluster.Sources{Breakers: n.reg, Health: n.health, Chaos: n.chaos, Recovery: n.rec}
	if n.m, err = cluster.New(cfg, src, n.store); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

// start runs the member and waits until it has started.
func (n *node) start() *node {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.m.Run(ctx) }()
	select {
	case <-n.m.Started():
	case err := <-n.done:
		n.t.Fatalf("Run returned %v before starting", err)
	}
	return n
}

// stop ends Run (if running) and closes the components. It is idempotent.
func (n *node) stop() {
	if n.cancel != nil {
		n.cancel()
		if err := <-n.done; err != nil {
			n.t.Errorf("Run: %v", err)
		}
		n.cancel = nil
	}
	ctx := context.Background()
	_ = n.m.Close(ctx)
	_ = n.chaos.Close(ctx)
	_ = n.health.Close(ctx)
	_ = n.rec.Close(ctx)
}

// breaker returns the node's breaker name, creating it.
func (n *node) breaker(name string) *breaker.Breaker {
	n.t.Helper()
	b, err := n.reg.GetOrCreate(name, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Minute})
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

// fail makes one failing call through b.
func fail(b *breaker.Breaker) {
	if tk, err := b.Allow(); err == nil {
		tk.Done(errBoom)
	}
}

// view returns n's view, failing the test on an error.
func (n *node) view() *cluster.View {
	n.t.Helper()
	v, err := n.m.View(context.Background())
	if err != nil {
		n.t.Fatalf("View: %v", err)
	}
	return v
}

func instance(t *testing.T, v *cluster.View, name string) cluster.Instance {
	t.Helper()
	for _, in := range v.Instances {
		if in.Instance == name {
			return in
		}
	}
	t.Fatalf("instance %q not in the view %+v", name, v.Instances)
	return cluster.Instance{}
}

func latency(name string, d time.Duration) chaos.Scenario {
	s := chaos.LatencyScenario("db", 10*time.Millisecond, d)
	s.Name = name
	return s
}
