package system_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/system"
)

// TestNATSSink_System: three systems whose metering sink is one
// nats-server meter events of the same tenants — one of them through a
// spool — and GET /cluster/usage on any of them answers the totals of all
// three, each event once; the fold loop runs while the systems run.
func TestNATSSink_System(t *testing.T) {
	srv := natstest.Start(t)
	var systems []*system.System
	for i := range 3 {
		cfg := *system.Default()
		cfg.Ops.Token = clusterToken
		cfg.Metering.Sink = srv.URL()
		cfg.Metering.NATS.Stream = "USAGE"
		cfg.Metering.NATS.FoldInterval = 20 * time.Millisecond
		if i == 2 {
			cfg.Metering.SpoolDir = t.TempDir()
		}
		systems = append(systems, runSystem(t, cfg))
	}
	want := map[string]int64{}
	for i, sys := range systems {
		if sys.NATSSink() == nil {
			t.Fatalf("system %d has no nats sink", i)
		}
		for j := range 50 * (i + 1) {
			tenant := []string{"acme", "beta"}[j%2]
			if !sys.Meter().Record(metering.Event{Tenant: tenant, Operation: metering.OpAgentMessage, Tokens: 2}) {
				t.Fatalf("system %d refused an event", i)
			}
			want[tenant]++
		}
		if err := sys.Meter().Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	servertest.Eventually(t, 10*time.Second, "the spool delivered", func() bool {
		sp := systems[2].OpsOptions().Spool
		return sp.Metrics().Delivered > 0 && sp.Metrics().Pending == 0
	})
	servertest.Eventually(t, 10*time.Second, "the fold loops folded every stored batch", func() bool {
		var published, folded uint64 // a batch is folded by whichever loop reaches it first
		for _, sys := range systems {
			m := sys.NATSSink().Metrics()
			published += m.Published
			folded += m.Folded
		}
		return published > 0 && folded >= published
	})
	for i, sys := range systems {
		var u api.ClusterUsage
		if code := call(t, sys, "GET", "/cluster/usage", "", &u); code != http.StatusOK {
			t.Fatalf("system %d: GET /cluster/usage = %d", i, code)
		}
		got := map[string]int64{}
		for _, tu := range u.Usage {
			got[tu.Tenant] = tu.Count
			if tu.Tokens != 2*tu.Count {
				t.Fatalf("system %d: %+v", i, tu)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || u.Stream != "USAGE" || u.FoldedThrough != u.LastSeq {
			t.Fatalf("system %d: usage %+v (counts %v), want counts %v, all folded", i, u, got, want)
		}
	}
	if local := systems[0].Usage().Totals(); len(local) != 2 || local[0].Count != 25 {
		t.Fatalf("the local usage of system 0 = %+v, want its own 50 events", local)
	}
}

// TestNATSSink_Unreachable: a system whose nats:// sink cannot be reached
// is built, and answers GET /cluster/usage with 503 and the cause rather
// than empty usage.
func TestNATSSink_Unreachable(t *testing.T) {
	cfg := *system.Default()
	cfg.Metering.Sink = "nats://127.0.0.1:1"
	cfg.Metering.NATS.Timeout = 200 * time.Millisecond
	sys := newSystem(t, cfg) // the route needs no Run: it folds on demand
	var env api.ErrorEnvelope
	if code := call(t, sys, "GET", "/cluster/usage", "", &env); code != http.StatusServiceUnavailable || !strings.Contains(env.Error, "cluster usage") {
		t.Fatalf("GET /cluster/usage = %d %+v, want 503", code, env)
	}
}

// TestNATSSink_Config: the nats section is checked strictly, every
// problem named by its JSON path; /cluster/usage needs the nats:// sink.
func TestNATSSink_Config(t *testing.T) {
	_, err := system.Parse([]byte(`{"metering": {"sink": "nats://127.0.0.1:4222", "nats": {
		"url": "nats://other:4222", "bill_all": true, "replicas": 9, "subject": "a.*", "duplicate_window": "1ms"}}}`))
	fields := antifragile.InvalidFields(err)
	for _, f := range []string{"metering.nats.url", "metering.nats.bill_all", "metering.nats.replicas", "metering.nats.subject", "metering.nats.duplicate_window"} {
		if !slices.Contains(fields, f) {
			t.Errorf("Parse: fields %v lack %s (%v)", fields, f, err)
		}
	}
	if _, err := system.Parse([]byte(`{"metering": {"nats": {"dup_window": "1s"}}}`)); err == nil || !strings.Contains(err.Error(), "metering.nats.dup_window") {
		t.Errorf("an unknown field = %v", err)
	}
	if _, err := system.Parse([]byte(`{"metering": {"sink": "nats://127.0.0.1"}}`)); !slices.Contains(antifragile.InvalidFields(err), "metering.sink") {
		t.Errorf("a nats URL without a port = %v", err)
	}
	cfg, err := system.Parse([]byte(`{"metering": {"sink": "nats://127.0.0.1:4222", "spool_dir": "/tmp/x", "nats": {"stream": "S", "max_age": "1h"}}}`))
	if err != nil || cfg.Metering.NATS.Stream != "S" || cfg.Metering.NATS.MaxAge != time.Hour {
		t.Fatalf("Parse = %+v, %v", cfg, err)
	}
	sys := newSystem(t, *system.Default())
	if code := call(t, sys, "GET", "/cluster/usage", "", nil); code != http.StatusServiceUnavailable || sys.NATSSink() != nil {
		t.Fatalf("GET /cluster/usage with the memory sink = %d, want 503", code)
	}
}
