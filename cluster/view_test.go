package cluster_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestMember_View(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, p, c := newNode(t, b, testConfig("a")), newNode(t, b, testConfig("b")), newNode(t, b, testConfig("c"))
		a.breaker("payments")
		fail(p.breaker("payments"))
		c.breaker("payments").ForceOpen()
		c.breaker("ledger")
		if _, err := a.chaos.Inject(latency("slow-db", time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := p.rec.Schedule("payments", recovery.ExponentialBackoff, 1, nil); err != nil {
			t.Fatal(err)
		}
		a.start()
		p.start()
		c.start()
		v := a.view()

		if v.Live != 3 || v.StaleCount != 0 || v.Lost != 0 || v.Stale || len(v.Instances) != 3 {
			t.Fatalf("view: %d live, %d stale, %d lost, stale=%v", v.Live, v.StaleCount, v.Lost, v.Stale)
		}
		if len(v.Breakers) != 1 {
			t.Fatalf("rollups = %+v, want payments only (ledger is closed everywhere)", v.Breakers)
		}
		r := v.Breakers[0]
		if r.Name != "payments" || r.Open != 1 || r.Forced != 1 || r.Of != 3 ||
			!slices.Equal(r.OpenOn, []string{"b", "c"}) || r.Summary != "payments open on 2 of 3 instances (1 forced)" {
			t.Fatalf("rollup = %+v", r)
		}
		if v.Status != health.Critical {
			t.Fatalf("status = %v, want CRITICAL (b and c have their only breaker open)", v.Status)
		}
		var culprits []string
		for _, c := range v.PulledDownBy.Instances {
			culprits = append(culprits, c.Instance+":"+c.Reason)
		}
		if !slices.Equal(culprits, []string{"b:critical", "c:degraded"}) ||
			!slices.Equal(v.PulledDownBy.Breakers, []string{"payments"}) {
			t.Fatalf("pulled down by %v and %v", culprits, v.PulledDownBy.Breakers)
		}
		ia := instance(t, v, "a")
		if ia.Status != health.Healthy || !slices.Equal(ia.Chaos, []string{"slow-db"}) || ia.ChaosCount != 1 ||
			ia.ConstitutionalHash != antifragile.ConstitutionalHash || ia.Version != antifragile.Version ||
			ia.Breakers != 1 || ia.HashMismatch || ia.Stale || ia.Lost {
			t.Fatalf("a's line = %+v", ia)
		}
		if ib := instance(t, v, "b"); ib.RecoveryQueue != 1 || ia.RecoveryQueue != 0 {
			t.Fatalf("recovery queues: b %d, a %d", ib.RecoveryQueue, ia.RecoveryQueue)
		}
		if ic := instance(t, v, "c"); !slices.Equal(ic.Forced, []string{"payments"}) || ic.Breakers != 2 || ic.Status != health.Degraded {
			t.Fatalf("c's line = %+v", ic)
		}
		if v.ConstitutionalHash != antifragile.ConstitutionalHash || v.Cluster != "test" {
			t.Fatalf("view header: %q %q", v.Cluster, v.ConstitutionalHash)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("the view does not encode: %v", err)
		}
	})
}

func TestMember_View_LostAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, p := newNode(t, b, testConfig("a")).start(), newNode(t, b, testConfig("b")).start()
		time.Sleep(500 * time.Millisecond)
		p.store.SetDown(true) // b's last heartbeat is from t=0

		time.Sleep(2 * time.Second) // t=2.5s: older than two intervals
		synctest.Wait()
		v := a.view()
		if ib := instance(t, v, "b"); !ib.Stale || ib.Lost || ib.Age.D() != 2500*time.Millisecond {
			t.Fatalf("at 2.5s b = stale %v, lost %v, age %v; want stale", ib.Stale, ib.Lost, ib.Age)
		}
		if v.Live != 1 || v.StaleCount != 1 || v.Status != health.Degraded {
			t.Fatalf("at 2.5s: live %d, stale %d, status %v", v.Live, v.StaleCount, v.Status)
		}

		time.Sleep(time.Second) // t=3.5s: beyond the ttl
		synctest.Wait()
		v = a.view()
		if ib := instance(t, v, "b"); !ib.Lost || ib.Stale {
			t.Fatalf("at 3.5s b = stale %v, lost %v; want lost", ib.Stale, ib.Lost)
		}
		if v.Lost != 1 || v.Status != health.Degraded || len(v.PulledDownBy.Instances) != 1 || v.PulledDownBy.Instances[0].Reason != "lost" {
			t.Fatalf("at 3.5s: lost %d, status %v, culprits %+v", v.Lost, v.Status, v.PulledDownBy.Instances)
		}

		p.store.SetDown(false)
		time.Sleep(time.Second)
		synctest.Wait()
		v = a.view()
		if ib := instance(t, v, "b"); ib.Lost || ib.Stale || v.Live != 2 || v.Status != health.Healthy {
			t.Fatalf("after b came back: %+v, status %v", ib, v.Status)
		}
	})
}

func TestMember_View_LeavingIsNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, p := newNode(t, b, testConfig("a")).start(), newNode(t, b, testConfig("b")).start()
		if v := a.view(); v.Live != 2 {
			t.Fatalf("live = %d", v.Live)
		}
		p.stop()
		if v := a.view(); v.Live != 1 || v.Lost != 0 || len(v.Instances) != 1 {
			t.Fatalf("after b left: %d live, %d lost, %d listed", v.Live, v.Lost, len(v.Instances))
		}
	})
}

func TestMember_View_StaleWhenTheStoreIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, _ := newNode(t, b, testConfig("a")).start(), newNode(t, b, testConfig("b")).start()
		first := a.view()
		a.store.SetDown(true)
		time.Sleep(1500 * time.Millisecond)
		v, err := a.m.View(context.Background())
		if err == nil {
			t.Fatal("View hid that the store is unreachable")
		}
		if !v.Stale || v.Error == "" || !v.ReadAt.Equal(first.ReadAt) || !v.At.After(v.ReadAt) {
			t.Fatalf("stale view: stale %v, error %q, read at %v, at %v", v.Stale, v.Error, v.ReadAt, v.At)
		}
		if v.Live != 0 || v.StaleCount != 2 || v.Status != health.Degraded {
			t.Fatalf("stale view counts %d live, %d stale, status %v: stale data shown as current", v.Live, v.StaleCount, v.Status)
		}
		for _, in := range v.Instances {
			if !in.Stale || in.Age.D() != 1500*time.Millisecond {
				t.Fatalf("%s: stale %v, age %v", in.Instance, in.Stale, in.Age)
			}
		}
		a.store.SetDown(false)
		if v := a.view(); v.Stale || v.Live != 2 {
			t.Fatalf("after the store came back: stale %v, live %d", v.Stale, v.Live)
		}
	})
	t.Run("before any view was read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newNode(t, newBackend(), testConfig("a"))
			n.store.SetDown(true)
			v, err := n.m.View(context.Background())
			if err == nil || !v.Stale || len(v.Instances) != 0 || v.Status != health.Unknown {
				t.Fatalf("view %+v, err %v", v, err)
			}
		})
	})
}

func TestMember_View_HashMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a := newNode(t, b, testConfig("a")).start()
		h := cluster.Heartbeat{Cluster: "test", Instance: "rogue", At: time.Now(), Interval: antifragile.Duration(time.Second),
			TTL: antifragile.Duration(3 * time.Second), Status: health.Healthy, ConstitutionalHash: "deadbeefdeadbeef"}
		raw, _ := json.Marshal(h)
		if _, err := b.client().Put(context.Background(), cluster.Space{Name: "test-members"}, "cm9ndWU", raw); err != nil {
			t.Fatal(err)
		}
		v := a.view()
		if in := instance(t, v, "rogue"); !in.HashMismatch || v.Status != health.Degraded ||
			v.PulledDownBy.Instances[0].Reason != "hash_mismatch" {
			t.Fatalf("rogue %+v, status %v, culprits %+v", in, v.Status, v.PulledDownBy)
		}
	})
}

func TestMember_Heartbeat_Truncates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNode(t, newBackend(), testConfig("a"))
		for i := range cluster.MaxListed + 5 {
			n.breaker(string(rune('A'+i/26)) + string(rune('a'+i%26))).ForceOpen()
		}
		h := n.m.Heartbeat()
		if len(h.Forced) != cluster.MaxListed || h.ForcedCount != cluster.MaxListed+5 || h.Breakers != cluster.MaxListed+5 {
			t.Fatalf("forced %d listed of %d, %d breakers", len(h.Forced), h.ForcedCount, h.Breakers)
		}
		n.start()
		if v := n.view(); !v.Truncated {
			t.Fatal("a view over a truncated heartbeat does not say so")
		}
	})
}

func TestMember_Heartbeat_NoSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := cluster.New(testConfig("bare"), cluster.Sources{}, newBackend().client())
		if err != nil {
			t.Fatal(err)
		}
		h := m.Heartbeat()
		if h.Status != health.Unknown || h.Breakers != 0 || h.Chaos == nil || h.Open == nil {
			t.Fatalf("heartbeat without sources = %+v", h)
		}
	})
}
