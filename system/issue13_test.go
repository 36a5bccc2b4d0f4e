package system_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// TestIssue13_ConfigValuesAreRefusedNotCrashing: values that used to panic
// in make or exhaust memory are refused by the library constructors with a
// typed error naming the field, and by the config file with its path.
func TestIssue13_ConfigValuesAreRefusedNotCrashing(t *testing.T) {
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	constructors := []struct {
		name, field string
		build       func() error
	}{
		{"meter queue of MaxInt64", "max_queue_size", func() error {
			_, err := metering.New(metering.Config{MaxQueueSize: 9223372036854775807})
			return err
		}},
		{"meter queue of two billion", "max_queue_size", func() error {
			_, err := metering.New(metering.Config{MaxQueueSize: 2_000_000_000})
			return err
		}},
		{"health callback queue of 1e11", "callback_queue", func() error {
			_, err := health.New(health.Config{CallbackQueue: 1e11}, reg)
			return err
		}},
		{"bus mailbox of a billion", "mailbox_size", func() error {
			_, err := bus.New(bus.Config{Registry: reg, MailboxSize: 1e9})
			return err
		}},
		{"breaker window of a billion", "window_size", func() error {
			_, err := breaker.New(breaker.Config{FailureRate: 0.5, WindowSize: 1e9})
			return err
		}},
		{"recovery history of a billion", "max_history", func() error {
			_, err := recovery.New(recovery.Config{MaxHistory: 1e9}, reg)
			return err
		}},
		{"recovery delay of a century", "default_policy.initial_delay", func() error {
			_, err := recovery.New(recovery.Config{DefaultPolicy: recovery.Policy{InitialDelay: 1 << 62, MaxDelay: 1 << 62}}, reg)
			return err
		}},
		{"chaos memory cap of an exabyte", "memory_cap_bytes", func() error {
			_, err := chaos.New(chaos.Config{MemoryCap: 1 << 60}, reg)
			return err
		}},
		{"memory sink of a billion series", "max_series", func() error {
			_, err := metering.NewMemorySink(metering.MemoryConfig{MaxSeries: 1e9})
			return err
		}},
	}
	for _, c := range constructors {
		t.Run(c.name, func(t *testing.T) {
			err := c.build()
			if !errors.Is(err, antifragile.ErrInvalid) || !slices.Contains(antifragile.InvalidFields(err), c.field) {
				t.Fatalf("err = %v, want a *ValidationError for %s", err, c.field)
			}
		})
	}
	files := []struct{ doc, field string }{
		{`{"metering":{"max_queue_size":9223372036854775807}}`, "metering.max_queue_size"},
		{`{"metering":{"max_queue_size":2000000000}}`, "metering.max_queue_size"},
		{`{"health":{"callback_queue":100000000000}}`, "health.callback_queue"},
		{`{"bus":{"publish_timeout":"2562047h"}}`, "bus.publish_timeout"},
		{`{"ops":{"max_body_bytes":"1TiB"}}`, "ops.max_body_bytes"},
		{`{"metering":{"close_timeout":"100h"}}`, "metering.close_timeout"},
	}
	for _, f := range files {
		t.Run("the file refuses "+f.field, func(t *testing.T) {
			_, err := system.Parse([]byte(f.doc))
			if !slices.Contains(antifragile.InvalidFields(err), f.field) {
				t.Fatalf("Parse(%s) = %v, want a problem at %s", f.doc, err, f.field)
			}
		})
	}
}

// FuzzNew: whatever a config file says, Parse refuses it or New builds a
// system from it — never a panic, never an allocation beyond the bounds.
func FuzzNew(f *testing.F) {
	for _, seed := range []string{
		`{}`, fullDoc, `{"metering":{"max_queue_size":1048576,"batch_size":100000}}`,
		`{"health":{"callback_queue":65536,"max_history":100000}}`, `{"bus":{"mailbox_size":65536}}`,
		`{"breakers":{"default":{"failure_rate":0.5,"window_size":1048576}}}`,
		`{"recovery":{"max_concurrent":1024,"default_policy":{"max_delay":"24h"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := system.Parse(data)
		if err != nil {
			return
		}
		cfg.Metering.Sink = "memory" // no file or network from a fuzzed document
		cfg.Getenv = func(string) string { return "" }
		sys, err := system.New(*cfg)
		if err != nil {
			t.Fatalf("New refused a config Parse accepted: %v", err)
		}
		if err := sys.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

func TestIssue13_TokenHygiene(t *testing.T) {
	t.Run("a token from the environment is trimmed", func(t *testing.T) {
		cfg := system.Config{Getenv: func(k string) string {
			if k == system.DefaultTokenEnv {
				return "an-operator-token-from-echo\n"
			}
			return ""
		}}
		sys := newSystem(t, cfg)
		if _, err := sys.Registry().GetOrCreate("db", breaker.Config{}); err != nil {
			t.Fatal(err)
		}
		if !sys.HasToken() || write(t, sys, "an-operator-token-from-echo") != http.StatusOK {
			t.Fatal("the trimmed token from the environment is refused")
		}
	})
	for name, tc := range map[string]struct {
		cfg   system.Config
		field string
	}{
		"a one-character token":            {system.Config{Ops: system.OpsConfig{Token: "x"}}, "ops.token"},
		"a short token in the environment": {system.Config{Getenv: func(string) string { return "short" }}, "ops.token_env"},
		"a token with a space inside":      {system.Config{Ops: system.OpsConfig{Token: "two words of a long token"}}, "ops.token"},
		"a short read token":               {system.Config{Ops: system.OpsConfig{ReadToken: "r"}}, "ops.read_token"},
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			_, err := system.New(tc.cfg)
			if !slices.Contains(antifragile.InvalidFields(err), tc.field) {
				t.Fatalf("err = %v, want a problem at %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "short\"") || strings.Contains(err.Error(), `"x"`) {
				t.Fatalf("the error echoes the token: %v", err)
			}
		})
	}
}

func TestIssue13_Exposure(t *testing.T) {
	noEnv := func(string) string { return "" }
	t.Run("no public listener without a token", func(t *testing.T) {
		_, err := system.New(system.Config{Ops: system.OpsConfig{Listen: "0.0.0.0:8080"}, Getenv: noEnv})
		if !slices.Contains(antifragile.InvalidFields(err), "ops.listen") || !strings.Contains(err.Error(), "allow_unauthenticated") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unless it is asked for, with a warning", func(t *testing.T) {
		var logs strings.Builder
		sys := newSystem(t, system.Config{Ops: system.OpsConfig{Listen: "0.0.0.0:8080", AllowUnauthenticated: true},
			Getenv: noEnv, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if sys.HasToken() || !strings.Contains(logs.String(), "without a token") {
			t.Fatalf("no warning: %q", logs.String())
		}
	})
	t.Run("a public listener with a token is fine", func(t *testing.T) {
		newSystem(t, system.Config{Ops: system.OpsConfig{Listen: "0.0.0.0:8080", Token: "a-token-of-enough-length"}})
	})
	t.Run("a loopback listener answers only its own names", func(t *testing.T) {
		c := system.Config{Ops: system.OpsConfig{Listen: "127.0.0.1:9090"}}
		if got := c.AllowedHosts(); !slices.Equal(got, []string{"127.0.0.1", "localhost", "::1"}) {
			t.Fatalf("AllowedHosts = %q", got)
		}
		c.Ops.Listen = "0.0.0.0:9090"
		if got := c.AllowedHosts(); got != nil {
			t.Fatalf("AllowedHosts on a public listener = %q, want any", got)
		}
	})
}

// failingSink refuses every batch, as a sink that is down does.
type failingSink struct{}

func (failingSink) Write(context.Context, []metering.Event) error { return errors.New("sink down") }

// TestIssue13_SpoolDir: with metering.spool_dir, events go through a
// crash-safe spool: what a previous process left there is delivered at the
// next start, what is recorded is delivered at Close, and the directory is
// empty of batches afterwards. A spool needs a durable sink.
func TestIssue13_SpoolDir(t *testing.T) {
	t.Run("needs a durable sink", func(t *testing.T) {
		cfg := system.Default()
		cfg.Metering.SpoolDir = t.TempDir()
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "metering.spool_dir") {
			t.Fatalf("Validate() = %v, want metering.spool_dir refused", err)
		}
		cfg.Metering.Sink = "file:" + filepath.Join(t.TempDir(), "usage.jsonl")
		cfg.Metering.SpoolMaxBytes = metering.MaxSpoolMaxBytes + 1
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "metering.spool_max_bytes") {
			t.Fatalf("Validate() = %v, want metering.spool_max_bytes refused", err)
		}
	})
	t.Run("delivers what a dead process spooled and what this one records", func(t *testing.T) {
		spoolDir, out := t.TempDir(), filepath.Join(t.TempDir(), "usage.jsonl")
		// A previous process spooled two batches its sink never took.
		prev, err := metering.NewSpool(metering.SpoolConfig{Dir: spoolDir, Sink: failingSink{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"old-1", "old-2"} {
			ev := metering.Event{ID: id, Tenant: "acme", Operation: metering.OpAgentMessage, Time: time.Unix(1, 0).UTC()}
			if err := prev.Write(t.Context(), []metering.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		cancelled, cancel := context.WithCancel(t.Context())
		cancel()
		_ = prev.Close(cancelled) // leaves both batches on disk, as a crash would

		cfg := system.Default()
		cfg.Metering.Sink, cfg.Metering.SpoolDir = "file:"+out, spoolDir
		sys := newSystem(t, *cfg)
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sys.Run(ctx) }()
		<-sys.Started()
		for i := range 100 {
			sys.Meter().Record(metering.Event{ID: fmt.Sprintf("new-%d", i), Tenant: "acme", Operation: metering.OpAgentMessage})
		}
		// The ops API shows the spool's backlog.
		rec := httptest.NewRecorder()
		sys.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metering", nil))
		var m api.Metering
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.Spool == nil {
			t.Fatalf("GET /metering: %v, spool %v:\n%s", err, m.Spool, rec.Body)
		}
		rec = httptest.NewRecorder()
		sys.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if !strings.Contains(rec.Body.String(), "antifragile_meter_spool_pending_batches") {
			t.Fatalf("GET /metrics has no spool gauge")
		}
		stop()
		if err := <-done; err != nil {
			t.Fatalf("Run() = %v", err)
		}
		events, err := metering.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		ids := make(map[string]bool, len(events))
		for _, e := range events {
			ids[e.ID] = true
		}
		if len(events) != 102 || !ids["old-1"] || !ids["old-2"] || !ids["new-99"] {
			t.Fatalf("the file holds %d events (old-1 %v, old-2 %v, new-99 %v), want 102", len(events), ids["old-1"], ids["old-2"], ids["new-99"])
		}
		if left, _ := filepath.Glob(filepath.Join(spoolDir, "batch-*")); len(left) != 0 {
			t.Fatalf("batches left in the spool: %v", left)
		}
	})
}
