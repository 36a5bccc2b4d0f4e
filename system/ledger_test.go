package system_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

func ledgerSystem(t *testing.T, path string) *system.System {
	t.Helper()
	var cfg system.Config
	cfg.Metering.Sink = "memory"
	cfg.Getenv = func(string) string { return "" }
	cfg.Tune.LedgerPath = path
	cfg.Breakers.Named = map[string]breaker.Config{"db": {ConsecutiveFailures: 5}, "cache": {}}
	return newSystem(t, cfg)
}

var measured = api.TuningChange{
	Services: []string{"db", "cache"},
	Breaker:  json.RawMessage(`{"open_timeout":"750ms"}`),
	Recovery: json.RawMessage(`{"initial_delay":"250ms"}`),
	Why:      "recovery.initial_delay 500ms → 250ms: 22.8s → 18s",
	Before:   json.RawMessage(`{"time_below_min":22800000000}`),
	After:    json.RawMessage(`{"time_below_min":18000000000}`),
}

func TestSystem_ApplyTuning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	sys := ledgerSystem(t, path)
	check := errors.New("still down")
	if err := sys.Recovery().SetPolicy("db", recovery.Policy{MaxRetryAttempts: 7, HealthCheck: func(context.Context) error { return check }}); err != nil {
		t.Fatal(err)
	}
	e, err := sys.ApplyTuning(context.Background(), measured)
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 1 || len(e.Applied) != 4 || e.Why != measured.Why {
		t.Errorf("entry %+v", e)
	}
	b, _ := sys.Registry().Get("db")
	if c := b.Config(); c.OpenTimeout != 750*time.Millisecond || c.ConsecutiveFailures != 5 {
		t.Errorf("db breaker %+v: want open_timeout changed, the rest kept", c)
	}
	p := sys.Recovery().Policy("db")
	if p.InitialDelay != 250*time.Millisecond || p.MaxRetryAttempts != 7 || p.HealthCheck == nil || p.HealthCheck(context.Background()) != check {
		t.Errorf("db policy %+v: want initial_delay changed, the rest and the health check kept", p)
	}
	t.Run("the ledger survives a restart", func(t *testing.T) {
		again := ledgerSystem(t, path)
		got := again.Ledger()
		if len(got) != 1 || got[0].Seq != 1 || got[0].Why != measured.Why || string(got[0].After) != string(measured.After) {
			t.Fatalf("ledger after a restart: %+v", got)
		}
		if e, err := again.ApplyTuning(context.Background(), measured); err != nil || e.Seq != 2 {
			t.Fatalf("the next entry: %+v, %v", e, err)
		}
	})
	t.Run("a change with a problem applies nothing", func(t *testing.T) {
		for name, c := range map[string]api.TuningChange{
			"unknown service":   {Services: []string{"db", "nope"}, Breaker: measured.Breaker, Why: "w", Before: measured.Before, After: measured.After},
			"bad field":         {Services: []string{"db"}, Breaker: json.RawMessage(`{"open_timeout":"soon"}`), Why: "w", Before: measured.Before, After: measured.After},
			"out of range":      {Services: []string{"db"}, Breaker: json.RawMessage(`{"failure_rate":3}`), Why: "w", Before: measured.Before, After: measured.After},
			"no measurement":    {Services: []string{"db"}, Breaker: json.RawMessage(`{"open_timeout":"9s"}`), Why: "trust me"},
			"nothing to change": {Services: []string{"db"}, Why: "w", Before: measured.Before, After: measured.After},
		} {
			before := len(sys.Ledger())
			if _, err := sys.ApplyTuning(context.Background(), c); err == nil {
				t.Errorf("%s: applied", name)
			}
			if c := b.Config(); c.OpenTimeout != 750*time.Millisecond || c.FailureRate != 0 || len(sys.Ledger()) != before {
				t.Errorf("%s: something changed: %+v, ledger %d", name, c, len(sys.Ledger()))
			}
		}
	})
	t.Run("a corrupt line is skipped", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "l.jsonl")
		line, _ := json.Marshal(api.LedgerEntry{Seq: 3, TuningChange: api.TuningChange{Why: "ok"}})
		if err := os.WriteFile(p, []byte("{torn\n"+string(line)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := ledgerSystem(t, p).Ledger(); len(got) != 1 || got[0].Seq != 3 {
			t.Errorf("ledger %+v", got)
		}
	})
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Errorf("the ledger file holds %d lines, want 2", n)
	}
}
