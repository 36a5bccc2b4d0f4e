package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/recovery"
)

// logBuffer is an io.Writer safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestMember_DeadMan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		cfg := testConfig("a")
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		n := newNode(t, newBackend(), cfg).start()
		if _, err := n.chaos.Inject(latency("slow", time.Hour)); err != nil {
			t.Fatal(err)
		}
		db := n.breaker("db")
		time.Sleep(500 * time.Millisecond)
		n.store.SetDown(true) // the last contact was at t=0

		time.Sleep(5 * time.Second) // t=5.5s: the t=5s heartbeat saw 5s, within the lease
		synctest.Wait()
		if n.chaos.Stopped() || len(n.chaos.Active()) != 1 {
			t.Fatal("the dead-man switch fired within the lease")
		}
		time.Sleep(time.Second) // t=6.5s: the t=6s heartbeat sees 6s > 5s
		synctest.Wait()
		if !n.chaos.Stopped() || len(n.chaos.Active()) != 0 || !n.m.Metrics().DeadMan {
			t.Fatalf("after the lease: stopped %v, active %v, metrics %+v", n.chaos.Stopped(), n.chaos.Active(), n.m.Metrics())
		}
		if !strings.Contains(logs.String(), "dead-man switch") {
			t.Fatalf("no log line for the dead-man switch:\n%s", logs.String())
		}
		if _, err := n.chaos.Inject(latency("more", time.Minute)); !errors.Is(err, chaos.ErrEmergencyStop) {
			t.Fatalf("an injection while cut off: %v", err)
		}
		// Breakers, health and recovery work locally.
		fail(db)
		if db.State() != breaker.Open {
			t.Fatal("a local breaker stopped working")
		}
		if r := n.health.Report(); r.Open != 1 {
			t.Fatalf("health report while cut off: %+v", r.Snapshot)
		}
		if err := n.rec.Schedule("db", recovery.ExponentialBackoff, 1, nil); err != nil {
			t.Fatalf("recovery while cut off: %v", err)
		}

		n.store.SetDown(false)
		time.Sleep(time.Second)
		synctest.Wait()
		mt := n.m.Metrics()
		if n.chaos.Stopped() || mt.DeadMan || mt.DeadManFired != 1 {
			t.Fatalf("after rejoining: stopped %v, metrics %+v", n.chaos.Stopped(), mt)
		}
		if _, err := n.chaos.Inject(latency("back", time.Minute)); err != nil {
			t.Fatalf("injection after rejoining: %v", err)
		}
		if !strings.Contains(logs.String(), "rejoined") {
			t.Fatalf("no log line for rejoining:\n%s", logs.String())
		}
		if v := n.view(); instance(t, v, "a").Lost || instance(t, v, "a").Stale {
			t.Fatal("the rejoined instance is not live in the view")
		}
	})
}

func TestMember_DeadMan_LeverPulledMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend()
		a, p := newNode(t, b, testConfig("a")).start(), newNode(t, b, testConfig("b")).start()
		p.store.SetDown(true)
		time.Sleep(7 * time.Second)
		synctest.Wait()
		if !p.chaos.Stopped() {
			t.Fatal("the dead-man switch did not fire")
		}
		if _, err := a.m.EmergencyStop(context.Background(), "ops"); err != nil {
			t.Fatal(err)
		}
		p.store.SetDown(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if !p.chaos.Stopped() || !p.m.Metrics().LeverStopped || p.m.Metrics().DeadMan {
			t.Fatalf("b rejoined to a latched stop: stopped %v, metrics %+v", p.chaos.Stopped(), p.m.Metrics())
		}
	})
}

func TestMember_DeadMan_LeavesAnotherStopAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNode(t, newBackend(), testConfig("a")).start()
		n.chaos.EmergencyStop() // stopped locally, before and apart from the cluster
		n.store.SetDown(true)
		time.Sleep(7 * time.Second)
		n.store.SetDown(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if mt := n.m.Metrics(); mt.DeadManFired != 1 || mt.DeadMan {
			t.Fatalf("metrics %+v", mt)
		}
		if !n.chaos.Stopped() {
			t.Fatal("rejoining lifted a stop the dead-man switch did not make")
		}
	})
}

func TestMember_DeadMan_AtBoot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNode(t, newBackend(), testConfig("a"))
		n.store.SetDown(true)
		n.start() // the store refuses: the member starts stopped
		if !n.chaos.Stopped() || !n.m.Metrics().DeadMan {
			t.Fatal("an instance that cannot read the lever at boot did not stop its chaos")
		}
		n.store.SetDown(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if n.chaos.Stopped() {
			t.Fatal("the boot stop was not lifted once the store answered")
		}
	})
}
