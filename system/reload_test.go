package system_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// TestSettings: every setting of Config is classified live or restart by
// the settings table — a field added to a section listed field by field
// fails here until it is classified.
func TestSettings(t *testing.T) {
	all := system.Settings()
	if len(all) < 40 {
		t.Fatalf("only %d settings walked", len(all))
	}
	for _, s := range all {
		if !s.Listed {
			t.Errorf("setting %s is not classified live or restart in system/settings.go", s.Path)
		}
	}
	live := system.LiveSettings()
	for _, want := range []string{"breakers", "chaos.max_delay", "ops.token", "recovery.policies"} {
		if !slices.Contains(live, want) {
			t.Errorf("%s is not live", want)
		}
	}
	for _, p := range []string{"ops.listen", "ops.tls_cert_file", "metering.sink", "cluster.url", "bus.mailbox_size", "chaos.seed"} {
		if system.SettingApplies(p) != system.Restart {
			t.Errorf("%s should need a restart", p)
		}
	}
	if system.SettingApplies(`breakers.named["a.b"]`) != system.Live {
		t.Error("a quoted breaker name is not under breakers")
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## Live reload")
	for _, p := range live {
		if !strings.Contains(section, "`"+p+"`") {
			t.Errorf("docs/configuration.md, Live reload, does not name the live setting %s", p)
		}
	}
}

const reloadToken = "reload-test-token-0001"

func reloadBase() *system.Config {
	return &system.Config{
		Ops: system.OpsConfig{Token: reloadToken},
		Breakers: system.BreakersConfig{
			Default: breaker.Config{ConsecutiveFailures: 5},
			Named:   map[string]breaker.Config{"db": {ConsecutiveFailures: 3}, "gone": {ConsecutiveFailures: 4}},
		},
		Recovery: recovery.Config{Policies: map[string]recovery.Policy{"validator": {MaxRetryAttempts: 2}}},
	}
}

func TestSystem_Reload(t *testing.T) {
	t.Run("valid: live settings applied, restart ones listed and kept", func(t *testing.T) {
		sys := newSystem(t, *reloadBase())
		agent, err := sys.Registry().GetOrCreate("agent", breaker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		next := reloadBase()
		next.Ops.Listen = "127.0.0.1:9999"
		next.Ops.Token = "reload-test-token-0002"
		next.Breakers.Default.ConsecutiveFailures = 8
		next.Breakers.Named = map[string]breaker.Config{"db": {ConsecutiveFailures: 2}, "new": {ConsecutiveFailures: 6}}
		next.Recovery.Policies = map[string]recovery.Policy{"api": {MaxRetryAttempts: 7}}
		next.Chaos.Engine.MaxDelay = time.Second
		next.Chaos.Engine.Seed = 42
		next.Metering.Sink = "file:" + t.TempDir() + "/usage.jsonl"

		res, err := sys.Reload(context.Background(), next)
		if err != nil {
			t.Fatal(err)
		}
		wantApplied := []string{"ops.token", "breakers.default.consecutive_failures", "breakers.named.db",
			"breakers.named.gone", "breakers.named.new", "recovery.policies.api", "chaos.max_delay"}
		wantRestart := []string{"ops.listen", "recovery.policies.validator", "chaos.seed", "metering.sink"}
		if !sameSet(res.Applied, wantApplied) || !sameSet(res.Restart, wantRestart) {
			t.Fatalf("applied %q\nrestart %q\nwant    %q\nand     %q", res.Applied, res.Restart, wantApplied, wantRestart)
		}
		if len(res.Changed) != len(wantApplied)+len(wantRestart) {
			t.Fatalf("changed %q", res.Changed)
		}
		reg := sys.Registry()
		for name, want := range map[string]int{"db": 2, "new": 6, "gone": 8, "agent": 8} {
			b, ok := reg.Get(name)
			if !ok || b.Config().ConsecutiveFailures != want {
				t.Errorf("%s: consecutive_failures %v, want %d", name, b.Config().ConsecutiveFailures, want)
			}
		}
		if !reg.Follows("gone") || agent.Config().ConsecutiveFailures != 8 {
			t.Error("a breaker no longer named does not follow the default")
		}
		if p := sys.Recovery().Policy("api"); p.MaxRetryAttempts != 7 {
			t.Errorf("policy api: %+v", p)
		}
		if p := sys.Recovery().Policy("validator"); p.MaxRetryAttempts != 2 {
			t.Errorf("a removed policy should stay until a restart: %+v", p)
		}
		if c := sys.Chaos().Config(); c.MaxDelay != time.Second || c.Seed != 0 {
			t.Errorf("chaos: max_delay %s seed %d; want 1s and the seed kept (0)", c.MaxDelay, c.Seed)
		}
		in := sys.Config()
		if in.Ops.Listen != "" || in.Metering.Sink != "" || in.Chaos.Engine.Seed != 0 {
			t.Errorf("restart-only values changed in Config(): listen %q sink %q seed %d", in.Ops.Listen, in.Metering.Sink, in.Chaos.Engine.Seed)
		}
		if in.Ops.Token != "reload-test-token-0002" || in.Chaos.Engine.MaxDelay != time.Second ||
			in.Breakers.Named["db"].ConsecutiveFailures != 2 || in.Recovery.Policies["api"].MaxRetryAttempts != 7 ||
			in.Recovery.Policies["validator"].MaxRetryAttempts != 2 {
			t.Errorf("live values not in Config(): %+v", in)
		}
		if code := write(t, sys, reloadToken); code != http.StatusForbidden {
			t.Errorf("old token after reload: %d, want 403", code)
		}
		if code := write(t, sys, "reload-test-token-0002"); code != http.StatusOK {
			t.Errorf("new token after reload: %d, want 200", code)
		}
		// The same config again: restart-only changes are still pending, nothing else.
		res, err = sys.Reload(context.Background(), next)
		if err != nil || len(res.Applied) != 0 || !sameSet(res.Restart, wantRestart) {
			t.Fatalf("second reload: %+v, %v", res, err)
		}
	})
	t.Run("invalid: every problem reported, nothing applied", func(t *testing.T) {
		sys := newSystem(t, *reloadBase())
		next := reloadBase()
		next.Ops.Token = "short"
		next.Breakers.Default.ConsecutiveFailures = 9
		next.Breakers.Named["db"] = breaker.Config{FailureRate: 3}
		next.Chaos.Engine.MaxDelay = -time.Second
		_, err := sys.Reload(context.Background(), next)
		fields := antifragile.InvalidFields(errors.Unwrap(err))
		for _, f := range []string{"ops.token", "breakers.named.db.failure_rate", "chaos.max_delay"} {
			if !slices.Contains(fields, f) {
				t.Errorf("%s not reported: %v", f, err)
			}
		}
		b, _ := sys.Registry().Get("db")
		if b.Config().ConsecutiveFailures != 3 || sys.Registry().Default().ConsecutiveFailures != 5 ||
			sys.Chaos().Config().MaxDelay == -time.Second {
			t.Fatal("an invalid reload applied something")
		}
		if in := sys.Config(); in.Breakers.Default.ConsecutiveFailures != 5 || in.Ops.Token != reloadToken {
			t.Fatalf("Config() changed by an invalid reload: %+v", in.Ops)
		}
		if code := write(t, sys, reloadToken); code != http.StatusOK {
			t.Fatalf("the last good token is refused: %d", code)
		}
	})
	t.Run("a token from the environment is re-read", func(t *testing.T) {
		env := map[string]string{"ANTIFRAGILE_TOKEN": "env-token-000000001"}
		cfg := system.Config{Getenv: func(k string) string { return env[k] }}
		sys := newSystem(t, cfg)
		if _, err := sys.Registry().GetOrCreate("db", breaker.Config{}); err != nil {
			t.Fatal(err)
		}
		env["ANTIFRAGILE_TOKEN"] = "env-token-000000002"
		res, err := sys.Reload(context.Background(), &cfg)
		if err != nil || !slices.Equal(res.Applied, []string{"ops.token"}) {
			t.Fatalf("reload: %+v, %v", res, err)
		}
		if write(t, sys, "env-token-000000001") != http.StatusForbidden || write(t, sys, "env-token-000000002") != http.StatusOK {
			t.Fatal("the token of the environment was not swapped")
		}
	})
}

// write sends one write request with tok to the system's ops handler.
func write(t *testing.T, sys *system.System, tok string) int {
	t.Helper()
	req := httptest.NewRequest("POST", "/breakers/db/reset", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	sys.Handler().ServeHTTP(rec, req)
	return rec.Code
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) || strings.Join(a, ",") == strings.Join(b, ",")
}
