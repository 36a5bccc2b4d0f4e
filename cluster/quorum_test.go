package cluster_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/cluster"
)

func quorumNode(t *testing.T, b *memBackend, name string, need int) *node {
	cfg := testConfig(name)
	if need > 0 {
		cfg.Quorum = map[string]int{"payments": need}
	}
	n := newNode(t, b, cfg)
	// open for an hour: a signal stays open until the test closes it
	if _, err := n.reg.GetOrCreate("payments", breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return n.start()
}

func peersOpen(n *node) cluster.Quorum {
	q := n.m.Quorums()
	if len(q) != 1 {
		n.t.Fatalf("quorums = %+v", q)
	}
	return q[0]
}

func TestMember_Quorum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, p := quorumNode(t, b, "a", 0), quorumNode(t, b, "b", 0)
		c, d := quorumNode(t, b, "c", 3), quorumNode(t, b, "d", 2)
		dp := d.breaker("payments")
		events := d.reg.Subscribe(8)
		defer events.Close()

		fail(a.breaker("payments"))
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 1 || q.Met || dp.State() != breaker.Closed {
			t.Fatalf("one peer open: %+v, d's breaker %v", q, dp.State())
		}
		fail(p.breaker("payments"))
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 2 || !q.Met || dp.State() != breaker.Open {
			t.Fatalf("two peers open: %+v, d's breaker %v", q, dp.State())
		}
		if ev := <-events.C; ev.To != breaker.Open || ev.Reason != cluster.ReasonQuorum {
			t.Fatalf("d's event = %+v", ev)
		}
		if _, err := dp.Allow(); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("d's tripped breaker admitted a call: %v", err)
		}
		if d.m.Metrics().QuorumTrips != 1 {
			t.Fatalf("metrics %+v", d.m.Metrics())
		}
		// d's trip is not evidence: c, needing 3, counts a and b only.
		if q := peersOpen(c); q.PeersOpen != 2 || q.Met || c.breaker("payments").State() != breaker.Closed {
			t.Fatalf("c counted a quorum-tripped peer: %+v", q)
		}

		// a's breaker closes: its signal is retracted and the quorum falls.
		a.breaker("payments").Reset()
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 1 || q.Met {
			t.Fatalf("after a closed: %+v", q)
		}
	})
}

func TestMember_Quorum_SignalsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, p, d := quorumNode(t, b, "a", 0), quorumNode(t, b, "b", 0), quorumNode(t, b, "d", 2)
		fail(a.breaker("payments"))
		fail(p.breaker("payments"))
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 2 {
			t.Fatalf("%+v", q)
		}
		p.store.SetDown(true) // b dies with its breaker open: its signal is never rewritten
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 2 {
			t.Fatalf("within the signal ttl: %+v", q)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 1 || q.Met {
			t.Fatalf("b's signal outlived its ttl: %+v (a's is rewritten and still counts)", q)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 1 {
			t.Fatalf("a's rewritten signal expired: %+v", q)
		}
	})
}

func TestMember_Quorum_LeavingRetracts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, d := quorumNode(t, b, "a", 0), quorumNode(t, b, "d", 1)
		fail(a.breaker("payments"))
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 1 || d.breaker("payments").State() != breaker.Open {
			t.Fatalf("%+v", q)
		}
		a.stop()
		synctest.Wait()
		if q := peersOpen(d); q.PeersOpen != 0 {
			t.Fatalf("a left with its breaker open and its signal stayed: %+v", q)
		}
	})
}
