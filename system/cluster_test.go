package system_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
	"github.com/antifragile-go/antifragile/system"
)

const clusterToken = "a-cluster-token-of-24-chars"

// runSystem builds and runs a system from cfg until the test ends.
func runSystem(t *testing.T, cfg system.Config) *system.System {
	t.Helper()
	sys := newSystem(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-sys.Started():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return sys
}

// call serves one request on sys's ops handler and decodes the JSON answer
// into out (when not nil), returning the status.
func call(t *testing.T, sys *system.System, method, path, body string, out any) int {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+clusterToken)
	}
	rec := httptest.NewRecorder()
	sys.Handler().ServeHTTP(rec, req)
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, rec.Body)
		}
	}
	return rec.Code
}

// TestCluster_System: with cluster.url set, a system joins the cluster on
// NATS, and its ops API serves the cluster view, the cluster-wide
// emergency stop (every instance's chaos ends and refuses injections until
// the reset) and fleet chaos.
func TestCluster_System(t *testing.T) {
	nats := natstest.Start(t)
	var systems []*system.System
	for _, name := range []string{"api-1", "api-2"} {
		cfg := *system.Default()
		cfg.Ops.Token = clusterToken
		cfg.Cluster.URL = nats.URL()
		cfg.Cluster.Member.Name = "shop"
		cfg.Cluster.Member.Instance = name
		cfg.Cluster.Member.HeartbeatInterval = 50 * time.Millisecond
		cfg.Cluster.Member.Labels = map[string]string{"role": "api"}
		systems = append(systems, runSystem(t, cfg))
	}
	a, b := systems[0], systems[1]
	servertest.Eventually(t, 10*time.Second, "both instances live in the view", func() bool {
		var v cluster.View
		return call(t, a, "GET", "/cluster", "", &v) == http.StatusOK && v.Live == 2
	})

	var lever cluster.Lever
	if code := call(t, a, "POST", "/cluster/emergency-stop", `{"by":"operator"}`, &lever); code != http.StatusOK || !lever.Stopped {
		t.Fatalf("emergency stop = %d %+v", code, lever)
	}
	servertest.Eventually(t, 10*time.Second, "both engines stopped and acknowledged", func() bool {
		var l cluster.Lever
		call(t, b, "GET", "/cluster/lever", "", &l)
		return a.Chaos().Stopped() && b.Chaos().Stopped() && len(l.Acked) == 2
	})
	if _, err := b.Chaos().Inject(chaos.LatencyScenario("db", time.Millisecond, time.Minute)); err == nil {
		t.Fatal("an instance accepted an injection under the cluster stop")
	}
	if code := call(t, b, "POST", "/cluster/reset", "", &lever); code != http.StatusOK || lever.Stopped {
		t.Fatalf("reset = %d %+v", code, lever)
	}
	servertest.Eventually(t, 10*time.Second, "both engines reset", func() bool { return !a.Chaos().Stopped() && !b.Chaos().Stopped() })

	var run cluster.FleetRun
	body := `{"scenario": {"name": "slow-db", "type": "latency", "target": "db", "delay": "5ms", "duration": "1m"}, "selector": {"names": ["api-2"]}}`
	if code := call(t, a, "POST", "/cluster/chaos", body, &run); code != http.StatusCreated || len(run.Selected) != 1 {
		t.Fatalf("fleet inject = %d %+v", code, run)
	}
	servertest.Eventually(t, 10*time.Second, "only api-2 runs the fleet scenario", func() bool {
		_, onB := b.Chaos().Lookup("slow-db")
		_, onA := a.Chaos().Lookup("slow-db")
		return onB && !onA
	})
	if code := call(t, a, "POST", "/cluster/chaos", `{"scenario": {"name": "x", "type": "latency", "target": "db", "delay": "1h"}, "selector": {}}`, nil); code != http.StatusBadRequest {
		t.Fatalf("an invalid fleet scenario = %d, want 400", code)
	}
	if code := call(t, a, "DELETE", "/cluster/chaos/slow-db", "", nil); code != http.StatusOK {
		t.Fatalf("fleet stop = %d", code)
	}
	servertest.Eventually(t, 10*time.Second, "the fleet scenario ends", func() bool { _, on := b.Chaos().Lookup("slow-db"); return !on })
}

// TestCluster_Off: without cluster.url the /cluster routes answer 503 and
// the system has no member.
func TestCluster_Off(t *testing.T) {
	sys := newSystem(t, *system.Default())
	if sys.Cluster() != nil {
		t.Fatal("a member without cluster.url")
	}
	if code := call(t, sys, "GET", "/cluster", "", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /cluster = %d, want 503", code)
	}
	if _, err := system.Parse([]byte(`{"cluster": {"url": "nats://127.0.0.1:1", "heartbeat_interval": "1ns"}}`)); err == nil || !strings.Contains(err.Error(), "cluster.heartbeat_interval") {
		t.Fatalf("Parse(a bad heartbeat) = %v", err)
	}
	if _, err := system.Parse([]byte(`{"cluster": {"url": "nats://127.0.0.1:1", "nats": {"url": "nats://x"}}}`)); err == nil || !strings.Contains(err.Error(), "cluster.nats.url") {
		t.Fatalf("Parse(nats.url) = %v", err)
	}
}
