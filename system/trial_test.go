package system_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// trialSystem has the breakers "db" (its own config: 5 failures trip it),
// "cache" and "queue" (created later from the default, which it follows),
// and "db" has a recovery policy of its own with a health check.
func trialSystem(t *testing.T) (*system.System, error) {
	t.Helper()
	sys := ledgerSystem(t, "")
	if _, err := sys.Registry().GetOrCreate("queue", breaker.Config{}); err != nil {
		t.Fatal(err)
	}
	check := errors.New("still down")
	err := sys.Recovery().SetPolicy("db", recovery.Policy{MaxRetryAttempts: 7, HealthCheck: func(context.Context) error { return check }})
	if err != nil {
		t.Fatal(err)
	}
	return sys, check
}

func openTimeout(t *testing.T, sys *system.System, name string) time.Duration {
	t.Helper()
	b, ok := sys.Registry().Get(name)
	if !ok {
		t.Fatalf("no breaker %q", name)
	}
	return b.Config().OpenTimeout
}

func TestSystem_Trial(t *testing.T) {
	ctx := context.Background()
	sys, check := trialSystem(t)
	dbBefore, queueBefore := openTimeout(t, sys, "db"), openTimeout(t, sys, "queue")
	services := []string{"db", "queue"}

	tr, err := sys.StartTrial(ctx, api.TrialRequest{Services: services, Breaker: json.RawMessage(`{"open_timeout":"3s"}`),
		Recovery: json.RawMessage(`{"initial_delay":"150ms"}`), By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Active || tr.Runs != 1 || len(tr.Original) != 2 || tr.Original[0].Breaker.OpenTimeout != dbBefore || tr.By != "test" {
		t.Errorf("trial %+v", tr)
	}
	if d := tr.Expires.Sub(tr.Started); d < api.DefaultTrialTTL-time.Second || d > api.DefaultTrialTTL+time.Second {
		t.Errorf("expires %s after it started, want the default TTL %s", d, api.DefaultTrialTTL)
	}
	b, _ := sys.Registry().Get("db")
	if c := b.Config(); c.OpenTimeout != 3*time.Second || c.ConsecutiveFailures != 5 {
		t.Errorf("db breaker in the trial %+v: want open_timeout set, the rest its own", c)
	}
	if p := sys.Recovery().Policy("queue"); p.InitialDelay != 150*time.Millisecond || !sys.Recovery().HasPolicy("queue") {
		t.Errorf("queue policy in the trial %+v", p)
	}

	// The next candidate applies on top of the saved settings, not of the
	// last candidate: the open timeout is back.
	tr, err = sys.StartTrial(ctx, api.TrialRequest{Services: services, Recovery: json.RawMessage(`{"initial_delay":"300ms"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Runs != 2 || openTimeout(t, sys, "db") != dbBefore || sys.Recovery().Policy("db").InitialDelay != 300*time.Millisecond {
		t.Errorf("second candidate: runs %d, db open_timeout %s (want %s), initial_delay %s", tr.Runs, openTimeout(t, sys, "db"), dbBefore,
			sys.Recovery().Policy("db").InitialDelay)
	}

	t.Run("refused while it runs", func(t *testing.T) {
		_, err := sys.StartTrial(ctx, api.TrialRequest{Services: []string{"db"}})
		if !errors.Is(err, api.ErrTrialActive) {
			t.Errorf("a trial of other services: %v", err)
		}
		_, err = sys.ApplyTuning(ctx, measured)
		if !errors.Is(err, api.ErrTrialActive) || len(sys.Ledger()) != 0 {
			t.Errorf("a tuning change during a trial: %v, ledger %d", err, len(sys.Ledger()))
		}
	})

	ended, err := sys.EndTrial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ended.Active || ended.Ended != "ended" || ended.Runs != 2 || sys.Trial().Active || sys.Trial().Ended != "ended" {
		t.Errorf("ended %+v, now %+v", ended, sys.Trial())
	}
	if openTimeout(t, sys, "db") != dbBefore || openTimeout(t, sys, "queue") != queueBefore {
		t.Errorf("open timeouts after the trial: %s, %s; want %s, %s", openTimeout(t, sys, "db"), openTimeout(t, sys, "queue"), dbBefore, queueBefore)
	}
	if !sys.Registry().Follows("queue") || sys.Registry().Follows("db") {
		t.Error("after the trial, queue must follow the default again and db keep its own config")
	}
	if sys.Recovery().HasPolicy("queue") {
		t.Error("queue had no recovery policy of its own before the trial, and has one after")
	}
	if p := sys.Recovery().Policy("db"); p.MaxRetryAttempts != 7 || p.InitialDelay == 300*time.Millisecond || p.HealthCheck == nil || p.HealthCheck(ctx) != check {
		t.Errorf("db policy after the trial %+v: want its own back, with its health check", p)
	}
	if _, err := sys.EndTrial(ctx); !errors.Is(err, api.ErrNoTrial) {
		t.Errorf("ending no trial: %v", err)
	}
	if _, err := sys.ApplyTuning(ctx, measured); err != nil {
		t.Errorf("a tuning change after the trial: %v", err)
	}
}

func TestSystem_StartTrial_invalid(t *testing.T) {
	ctx := context.Background()
	sys, _ := trialSystem(t)
	before := openTimeout(t, sys, "db")
	cases := []struct {
		name  string
		req   api.TrialRequest
		field string
	}{
		{"no services", api.TrialRequest{}, "services"},
		{"twice", api.TrialRequest{Services: []string{"db", "db"}}, "services[1]"},
		{"no breaker", api.TrialRequest{Services: []string{"db", "nosuch"}, Breaker: json.RawMessage(`{"open_timeout":"3s"}`)}, "services[1]"},
		{"out of range", api.TrialRequest{Services: []string{"db"}, Breaker: json.RawMessage(`{"open_timeout":"-3s"}`)}, "open_timeout"},
		{"ttl", api.TrialRequest{Services: []string{"db"}, TTL: api.Duration(2 * time.Hour)}, "ttl"},
		{"negative ttl", api.TrialRequest{Services: []string{"db"}, TTL: api.Duration(-time.Second)}, "ttl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sys.StartTrial(ctx, c.req)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err = %v, want one naming %s", err, c.field)
			}
			if sys.Trial().Active || openTimeout(t, sys, "db") != before {
				t.Error("a refused trial changed something")
			}
		})
	}
}

// TestSystem_Trial_expires: a trial whose tuner went away ends by itself
// when its TTL passes without another StartTrial, restoring the settings.
func TestSystem_Trial_expires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		sys, _ := trialSystem(t)
		before := openTimeout(t, sys, "db")
		req := api.TrialRequest{Services: []string{"db"}, Breaker: json.RawMessage(`{"open_timeout":"3s"}`), TTL: api.Duration(time.Minute)}
		if _, err := sys.StartTrial(ctx, req); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Second)
		if _, err := sys.StartTrial(ctx, req); err != nil { // extends it to 1m50s
			t.Fatal(err)
		}
		time.Sleep(50 * time.Second)
		synctest.Wait()
		if !sys.Trial().Active || openTimeout(t, sys, "db") != 3*time.Second {
			t.Fatal("the trial ended before its extended TTL")
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if tr := sys.Trial(); tr.Active || tr.Ended != "expired" || openTimeout(t, sys, "db") != before {
			t.Errorf("after the TTL: %+v, db open_timeout %s, want %s", tr, openTimeout(t, sys, "db"), before)
		}
	})
}

// TestSystem_Trial_endsOnReload: a reload ends the trial (its settings
// back) before it applies the new configuration.
func TestSystem_Trial_endsOnReload(t *testing.T) {
	ctx := context.Background()
	sys, _ := trialSystem(t)
	req := api.TrialRequest{Services: []string{"db", "queue"}, Breaker: json.RawMessage(`{"open_timeout":"3s"}`)}
	if _, err := sys.StartTrial(ctx, req); err != nil {
		t.Fatal(err)
	}
	next := sys.Config()
	next.Breakers.Default.OpenTimeout = 4 * time.Second
	if _, err := sys.Reload(ctx, next); err != nil {
		t.Fatal(err)
	}
	if tr := sys.Trial(); tr.Active || tr.Ended != "reload" {
		t.Errorf("after a reload: %+v", tr)
	}
	if got := openTimeout(t, sys, "queue"); got != 4*time.Second {
		t.Errorf("queue open_timeout %s: want the reloaded default, which it follows again", got)
	}
	if got := openTimeout(t, sys, "db"); got == 3*time.Second {
		t.Error("db kept the trial's open timeout after the reload")
	}
}
