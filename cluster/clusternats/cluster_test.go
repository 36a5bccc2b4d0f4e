package clusternats_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
)

func latency(name string, d time.Duration) chaos.Scenario {
	s := chaos.LatencyScenario("db", 10*time.Millisecond, d)
	s.Name = name
	return s
}

func TestCluster_MembershipOverNATS(t *testing.T) {
	srv := natstest.Start(t)
	a := newNode(t, srv, fastConfig("a")).start()
	b := newNode(t, srv, fastConfig("b")).start()
	c := newNode(t, srv, fastConfig("c")).start()
	b.reg.GetOrCreate("payments", breaker.Config{})
	pb, _ := b.reg.Get("payments")
	pb.ForceOpen()

	servertest.Eventually(t, 5*time.Second, "three live instances and b's breaker rolled up", func() bool {
		v := a.view()
		return v.Live == 3 && len(v.Breakers) == 1 && v.Breakers[0].Summary == "payments open on 1 of 3 instances (1 forced)"
	})

	c.crash() // kill -9: its heartbeat stays until it is too old
	servertest.Eventually(t, 5*time.Second, "c shown as lost after its ttl", func() bool {
		in, ok := find(a.view(), "c")
		return ok && in.Lost
	})
	servertest.Eventually(t, 5*time.Second, "a CRITICAL view pulled down by b's breaker and c's loss", func() bool {
		v := a.view()
		culprits := map[string]string{}
		for _, c := range v.PulledDownBy.Instances {
			culprits[c.Instance] = c.Reason
		}
		return v.Status == health.Critical && v.Lost == 1 && v.Live == 2 && culprits["c"] == "lost" && culprits["b"] == "critical"
	})

	c2 := newNode(t, srv, fastConfig("c")).start() // c restarts and comes back by itself
	servertest.Eventually(t, 5*time.Second, "c live again", func() bool {
		in, ok := find(a.view(), "c")
		return ok && !in.Lost && !in.Stale
	})
	c2.stop() // a clean leave: c is not left behind as lost
	servertest.Eventually(t, 5*time.Second, "c gone after leaving", func() bool {
		_, ok := find(a.view(), "c")
		return !ok
	})
}

func TestCluster_ViewStaleWhileNATSIsDown(t *testing.T) {
	srv := natstest.Start(t)
	cfg := func(name string) cluster.Config { // a ttl long enough that the stale view's instances are not lost yet
		c := fastConfig(name)
		c.TTL = 5 * time.Second
		return c
	}
	a := newNode(t, srv, cfg("a")).start()
	newNode(t, srv, cfg("b")).start()
	servertest.Eventually(t, 5*time.Second, "two live", func() bool { return a.view().Live == 2 })
	srv.Kill()
	servertest.Eventually(t, 5*time.Second, "a stale view with the error", func() bool {
		v, err := a.m.View(context.Background())
		return err != nil && v.Stale && v.Live == 0 && v.StaleCount == 2 && v.Error != ""
	})
	// Local work carries on: a breaker trips and the health report sees it.
	b, _ := a.reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 1})
	if tk, err := b.Allow(); err == nil {
		tk.Done(errors.New("boom"))
	}
	if b.State() != breaker.Open || a.health.Report().Open != 1 {
		t.Fatal("local breakers and health stopped working with NATS down")
	}
	srv.Restart()
	servertest.Eventually(t, 10*time.Second, "a fresh view after NATS came back", func() bool {
		v, err := a.m.View(context.Background())
		return err == nil && !v.Stale && v.Live == 2
	})
}

func TestCluster_LeverOnThreeMembers(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	var nodes []*node
	for _, name := range []string{"a", "b", "c"} {
		n := newNode(t, srv, fastConfig(name)).start()
		n.reg.GetOrCreate("payments", breaker.Config{})
		for _, s := range []chaos.Scenario{latency("slow", time.Minute), chaos.BreakerScenario("payments", time.Minute)} {
			if _, err := n.chaos.Inject(s); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, n)
	}

	if _, err := nodes[1].m.EmergencyStop(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		servertest.Eventually(t, 5*time.Second, n.m.Config().Instance+" ends its chaos", func() bool {
			return n.chaos.Stopped() && len(n.chaos.Active()) == 0
		})
		if b, _ := n.reg.Get("payments"); b.State().Rejecting() {
			t.Fatalf("%s kept the forced breaker open", n.m.Config().Instance)
		}
	}
	servertest.Eventually(t, 5*time.Second, "three acknowledgements", func() bool {
		lv, err := nodes[0].m.Lever(ctx)
		return err == nil && lv.Stopped && len(lv.Acked) == 3 && len(lv.Pending) == 0
	})

	late := newNode(t, srv, fastConfig("late")).start()
	if !late.chaos.Stopped() {
		t.Fatal("a member that joined while the stop was latched did not boot stopped")
	}
	if _, err := late.chaos.Inject(latency("x", time.Minute)); !errors.Is(err, chaos.ErrEmergencyStop) {
		t.Fatalf("late joiner injection: %v", err)
	}

	if _, err := nodes[2].m.Reset(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(nodes, late) {
		servertest.Eventually(t, 5*time.Second, n.m.Config().Instance+" lifts its stop", func() bool { return !n.chaos.Stopped() })
		if _, err := n.chaos.Inject(latency("after", time.Minute)); err != nil {
			t.Fatalf("%s after the reset: %v", n.m.Config().Instance, err)
		}
	}
	servertest.Eventually(t, 5*time.Second, "four acknowledgements of the reset", func() bool {
		lv, err := nodes[0].m.Lever(ctx)
		return err == nil && !lv.Stopped && len(lv.Acked) == 4
	})
}

func TestCluster_DeadManSwitch(t *testing.T) {
	srv := natstest.Start(t)
	n := newNode(t, srv, fastConfig("a")).start()
	if _, err := n.chaos.Inject(latency("slow", time.Hour)); err != nil {
		t.Fatal(err)
	}
	db, _ := n.reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 200 * time.Millisecond})

	srv.Kill()
	servertest.Eventually(t, 5*time.Second, "chaos halted by the dead-man switch", func() bool { return n.chaos.Stopped() })
	if since := time.Since(n.m.Metrics().LastContact); since < time.Second {
		t.Fatalf("the switch fired %v after the last contact, within the 1s lease", since)
	}
	if len(n.chaos.Active()) != 0 || !n.m.Metrics().DeadMan {
		t.Fatalf("active %v, metrics %+v", n.chaos.Active(), n.m.Metrics())
	}
	// Breakers keep working locally, through their whole cycle.
	if tk, err := db.Allow(); err == nil {
		tk.Done(errors.New("boom"))
	}
	if db.State() != breaker.Open {
		t.Fatal("a local breaker did not trip with NATS down")
	}
	servertest.Eventually(t, 5*time.Second, "the breaker probes", func() bool { return db.State() == breaker.HalfOpen })

	srv.Restart()
	servertest.Eventually(t, 10*time.Second, "rejoined: chaos allowed again", func() bool {
		return !n.chaos.Stopped() && !n.m.Metrics().DeadMan
	})
	servertest.Eventually(t, 5*time.Second, "live in the view again", func() bool {
		v, err := n.m.View(context.Background())
		in, ok := find(v, "a")
		return err == nil && ok && !in.Stale && !in.Lost
	})
	if _, err := n.chaos.Inject(latency("back", time.Minute)); err != nil {
		t.Fatalf("injection after rejoining: %v", err)
	}
}

func TestCluster_FleetChaos(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	var nodes []*node
	for i := range 6 {
		cfg := fastConfig(fmt.Sprintf("i%d", i))
		cfg.HeartbeatInterval, cfg.TTL, cfg.Lease = time.Second, 3*time.Second, 5*time.Second // none goes stale under load
		cfg.Labels = map[string]string{"zone": []string{"even", "odd"}[i%2]}
		nodes = append(nodes, newNode(t, srv, cfg).start())
	}
	servertest.Eventually(t, 5*time.Second, "six live", func() bool { return nodes[0].view().Live == 6 })
	running := func(name string) []string {
		var out []string
		for _, n := range nodes {
			if _, ok := n.chaos.Lookup(name); ok {
				out = append(out, n.m.Config().Instance)
			}
		}
		return out
	}
	for _, tc := range []struct {
		scenario string
		sel      cluster.Selector
		want     int
	}{
		{"by-name", cluster.Selector{Names: []string{"i0", "i5"}}, 2},
		{"by-label", cluster.Selector{Labels: map[string]string{"zone": "odd"}}, 3},
		{"by-fraction", cluster.Selector{Fraction: 0.5, Seed: 3}, 3},
	} {
		run, err := nodes[1].m.InjectFleet(ctx, latency(tc.scenario, 700*time.Millisecond), tc.sel, "ops")
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Selected) != tc.want {
			t.Fatalf("%s selected %v", tc.scenario, run.Selected)
		}
		servertest.Eventually(t, 5*time.Second, tc.scenario+" applied on the selected instances", func() bool {
			return slices.Equal(running(tc.scenario), run.Selected)
		})
		st, err := nodes[0].m.Fleet(ctx, tc.scenario)
		if err != nil || st.Accepted != tc.want || st.Pending != 0 {
			t.Fatalf("%s: status %+v, %v", tc.scenario, st, err)
		}
	}
	servertest.Eventually(t, 5*time.Second, "every run ended by its expiry", func() bool {
		return len(running("by-name"))+len(running("by-label"))+len(running("by-fraction")) == 0
	})
}

func TestCluster_QuorumTrip(t *testing.T) {
	srv := natstest.Start(t)
	mk := func(name string, need int) *node {
		cfg := fastConfig(name)
		if need > 0 {
			cfg.Quorum = map[string]int{"payments": need}
		}
		n := newNode(t, srv, cfg)
		n.reg.GetOrCreate("payments", breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
		return n.start()
	}
	a, b, c := mk("a", 0), mk("b", 0), mk("c", 2)
	trip := func(n *node) {
		p, _ := n.reg.Get("payments")
		if tk, err := p.Allow(); err == nil {
			tk.Done(errors.New("boom"))
		}
	}
	cp, _ := c.reg.Get("payments")
	events := c.reg.Subscribe(8)
	defer events.Close()
	trip(a)
	servertest.Eventually(t, 5*time.Second, "one peer open seen", func() bool { return c.m.Quorums()[0].PeersOpen == 1 })
	if cp.State() != breaker.Closed {
		t.Fatal("c tripped on one peer of two")
	}
	trip(b)
	servertest.Eventually(t, 5*time.Second, "c tripped by the quorum", func() bool { return cp.State() == breaker.Open })
	if ev := <-events.C; ev.Reason != cluster.ReasonQuorum {
		t.Fatalf("c's event %+v", ev)
	}
}
