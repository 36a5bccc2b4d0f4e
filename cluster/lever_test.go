package cluster_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

func ackedBy(lvAcked []string) []string { slices.Sort(lvAcked); return lvAcked }

func TestMember_EmergencyStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := newBackend()
		nodes := []*node{newNode(t, b, testConfig("a")), newNode(t, b, testConfig("b")), newNode(t, b, testConfig("c"))}
		for i, n := range nodes {
			n.start()
			if _, err := n.chaos.Inject(latency("slow", time.Minute)); err != nil {
				t.Fatal(err)
			}
			n.breaker("payments")
			if _, err := n.chaos.Inject(chaos.BreakerScenario("payments", time.Minute)); err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		}

		lv, err := nodes[1].m.EmergencyStop(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !lv.Stopped || lv.By != "alice" || lv.Revision == 0 {
			t.Fatalf("lever after the pull = %+v", lv)
		}
		synctest.Wait() // the watches deliver
		for _, n := range nodes {
			if !n.chaos.Stopped() || len(n.chaos.Active()) != 0 {
				t.Fatalf("%s: stopped %v, active %v", n.m.Config().Instance, n.chaos.Stopped(), n.chaos.Active())
			}
			if st := n.reg.Snapshot()[0].State; st.Rejecting() {
				t.Fatalf("%s: the forced breaker was not released: %v", n.m.Config().Instance, st)
			}
			if _, err := n.chaos.Inject(latency("again", time.Minute)); !errors.Is(err, chaos.ErrEmergencyStop) {
				t.Fatalf("%s: injection during the stop: %v", n.m.Config().Instance, err)
			}
		}
		lv, err = nodes[0].m.Lever(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var acked []string
		for _, a := range lv.Acked {
			if !a.Stopped || !a.ChaosStopped || a.Revision != lv.Revision {
				t.Fatalf("ack %+v", a)
			}
			acked = append(acked, a.Instance)
		}
		if !slices.Equal(ackedBy(acked), []string{"a", "b", "c"}) || len(lv.Pending) != 0 {
			t.Fatalf("acked %v, pending %v", acked, lv.Pending)
		}

		again, err := nodes[2].m.EmergencyStop(ctx, "bob")
		if err != nil || again.Revision != lv.Revision || again.By != "alice" {
			t.Fatalf("a second pull = %+v, %v; want the latched one unchanged", again, err)
		}

		late := newNode(t, b, testConfig("d")).start()
		if !late.chaos.Stopped() {
			t.Fatal("an instance that joined while the stop is latched did not boot stopped")
		}
		if _, err := late.chaos.Inject(latency("x", time.Minute)); !errors.Is(err, chaos.ErrEmergencyStop) {
			t.Fatalf("late joiner injection: %v", err)
		}
		synctest.Wait()
		if lv, _ := nodes[0].m.Lever(ctx); len(lv.Acked) != 4 {
			t.Fatalf("the late joiner did not acknowledge: %+v", lv.Acked)
		}

		reset, err := nodes[0].m.Reset(ctx, "alice")
		if err != nil || reset.Stopped || reset.Revision <= lv.Revision {
			t.Fatalf("reset = %+v, %v", reset, err)
		}
		synctest.Wait()
		for _, n := range append(nodes, late) {
			if n.chaos.Stopped() {
				t.Fatalf("%s still stopped after the reset", n.m.Config().Instance)
			}
			if _, err := n.chaos.Inject(latency("after", time.Minute)); err != nil {
				t.Fatalf("%s: injection after the reset: %v", n.m.Config().Instance, err)
			}
		}
		lv, _ = nodes[0].m.Lever(ctx)
		if len(lv.Acked) != 4 || lv.Acked[0].Stopped {
			t.Fatalf("acks of the reset: %+v", lv.Acked)
		}
		if again, err := nodes[0].m.Reset(ctx, ""); err != nil || again.Revision != lv.Revision {
			t.Fatalf("a second reset = %+v, %v; want nothing changed", again, err)
		}
	})
}

func TestMember_EmergencyStop_Pending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := newBackend()
		a, p := newNode(t, b, testConfig("a")).start(), newNode(t, b, testConfig("b")).start()
		p.store.SetDown(true)
		if _, err := a.m.EmergencyStop(ctx, "ops"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		lv, err := a.m.Lever(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(lv.Acked) != 1 || lv.Acked[0].Instance != "a" || !slices.Equal(lv.Pending, []string{"b"}) {
			t.Fatalf("acked %+v, pending %v: b is cut off and cannot have acknowledged", lv.Acked, lv.Pending)
		}
		p.store.SetDown(false)
		synctest.Wait()
		if !p.chaos.Stopped() {
			t.Fatal("b did not apply the stop once its link came back")
		}
		time.Sleep(time.Second) // its ack is written at the latest after the next heartbeat
		synctest.Wait()
		if lv, _ := a.m.Lever(ctx); len(lv.Acked) != 2 || len(lv.Pending) != 0 {
			t.Fatalf("after b came back: acked %+v, pending %v", lv.Acked, lv.Pending)
		}
	})
}

func TestMember_EmergencyStop_Errors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNode(t, newBackend(), testConfig("a"))
		if _, err := n.m.EmergencyStop(context.Background(), "bad\x1bname"); err == nil {
			t.Fatal("a name with an escape was accepted")
		}
		n.store.SetDown(true)
		if _, err := n.m.EmergencyStop(context.Background(), "ops"); !errors.Is(err, errUnreachable) {
			t.Fatalf("pull with the store down: %v", err)
		}
		if _, err := n.m.Lever(context.Background()); !errors.Is(err, errUnreachable) {
			t.Fatalf("Lever with the store down: %v", err)
		}
	})
}
