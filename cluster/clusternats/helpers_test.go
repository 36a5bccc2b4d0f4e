package clusternats_test

import (
	"context"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/natstest"
)

// open returns a store on its own connection to srv, closed at cleanup.
func open(t testing.TB, srv *natstest.Server) *clusternats.Store {
	t.Helper()
	s, err := clusternats.Open(context.Background(), clusternats.Config{URL: srv.URL(), ReconnectWait: 50 * time.Millisecond, PingInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// node is one instance on its own NATS connection: real components and
// a member.
type node struct {
	t      testing.TB
	store  *clusternats.Store
	reg    *breaker.Registry
	chaos  *chaos.Engine
	health *health.Aggregator
	m      *cluster.Member
	cancel context.CancelFunc
	done   chan error
}

// fastConfig heartbeats every 100 ms, loses an instance after 300 ms and
// stops chaos after a 1 s lease.
func fastConfig(instance string) cluster.Config {
	return cluster.Config{Name: "it", Instance: instance, HeartbeatInterval: 100 * time.Millisecond,
		TTL: 300 * time.Millisecond, Lease: time.Second}
}

func newNode(t testing.TB, srv *natstest.Server, cfg cluster.Config) *node {
	t.Helper()
	n := &node{t: t, store: open(t, srv)}
	var err error
	if n.reg, err = breaker.NewRegistry(breaker.RegistryConfig{}); err != nil {
		t.Fatal(err)
	}
	if n.chaos, err = chaos.New(chaos.Config{}, n.reg); err != nil {
		t.Fatal(err)
	}
	if n.health, err = health.New(health.Config{}, n.reg); err != nil {
		t.Fatal(err)
	}
	if n.m, err = cluster.New(cfg, cluster.Sources{Breakers: n.reg, Chaos: n.chaos, Health: n.health}, n.store); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

// start runs the member and waits until it has read the lever.
func (n *node) start() *node {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.m.Run(ctx) }()
	select {
	case <-n.m.Started():
	case <-time.After(10 * time.Second):
		n.t.Fatal("the member did not start within 10s")
	}
	return n
}

// stop ends Run and closes the engine and the store; idempotent.
func (n *node) stop() {
	if n.cancel != nil {
		n.cancel()
		if err := <-n.done; err != nil {
			n.t.Errorf("Run: %v", err)
		}
		n.cancel = nil
	}
	_ = n.chaos.Close(context.Background())
	if n.health != nil {
		_ = n.health.Close(context.Background())
	}
	_ = n.store.Close(context.Background())
}

// crash kills the instance as kill -9 would: its connection goes first,
// so it cannot remove its heartbeat on the way out.
func (n *node) crash() {
	_ = n.store.Close(context.Background())
	n.stop()
}

func (n *node) view() *cluster.View {
	n.t.Helper()
	v, err := n.m.View(context.Background())
	if err != nil {
		n.t.Fatalf("View: %v", err)
	}
	return v
}

func find(v *cluster.View, name string) (cluster.Instance, bool) {
	for _, in := range v.Instances {
		if in.Instance == name {
			return in, true
		}
	}
	return cluster.Instance{}, false
}
