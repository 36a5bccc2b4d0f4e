package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/system"
)

// runNATSSystem runs a system metering into nats and serves its ops API
// until the test ends.
func runNATSSystem(t *testing.T, natsURL string) (*system.System, string) {
	t.Helper()
	cfg := *system.Default()
	cfg.Ops.Token = cliToken
	cfg.Metering.Sink = natsURL
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	srv := httptest.NewServer(sys.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-sys.Started()
	return sys, srv.URL
}

// TestCluster_Usage: `antifragile cluster usage` through either of two
// instances metering into one nats-server shows both instances' events,
// each once, as a table and with -json.
func TestCluster_Usage(t *testing.T) {
	nats := natstest.Start(t)
	a, urlA := runNATSSystem(t, nats.URL())
	b, _ := runNATSSystem(t, nats.URL())
	for i, sys := range []*system.System{a, b} {
		for range 10 * (i + 1) {
			sys.Meter().Record(metering.Event{Tenant: "acme", Tokens: 3, Latency: 2 * time.Millisecond, Compliance: 1})
		}
		if err := sys.Meter().Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	r := cli(t, "cluster", "usage", "-addr", urlA)
	if r.err != nil {
		t.Fatal(r)
	}
	for _, want := range []string{"stream AF_METERING: 1 tenants, batches folded through 2 of 2", "acme", " 30 ", " 90 ", "2ms"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = cli(t, "cluster", "usage", "-json", "-addr", urlA)
	var u api.ClusterUsage
	if err := json.Unmarshal([]byte(r.stdout), &u); err != nil || len(u.Usage) != 1 || u.Usage[0].Count != 30 || u.Usage[0].Tokens != 90 {
		t.Fatalf("-json: %v\n%s", err, r)
	}
}

// TestCluster_UsageWithoutNATSSink: a server metering elsewhere says what
// the usage view needs.
func TestCluster_UsageWithoutNATSSink(t *testing.T) {
	sys, err := system.New(*system.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	srv := httptest.NewServer(sys.Handler())
	t.Cleanup(srv.Close)
	r := cli(t, "cluster", "usage", "-addr", srv.URL)
	if r.err == nil || !strings.Contains(r.stderr+r.err.Error(), "nats://") {
		t.Fatalf("got %v", r)
	}
}
