package tune_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/internal/tune"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// slowToHeal are settings that keep a healed dependency waiting: the
// recovery's first attempt 2 s after the trip, the breaker open 5 s.
var slowToHeal = tune.Settings{
	Breaker:  breaker.Config{ConsecutiveFailures: 5, OpenTimeout: 5 * time.Second, OpenTimeoutMultiplier: 2, MaxOpenTimeout: 30 * time.Second},
	Recovery: recovery.Policy{MaxRetryAttempts: 10, BackoffMultiplier: 2, InitialDelay: 2 * time.Second, MaxDelay: 8 * time.Second, Strategy: recovery.ExponentialBackoff},
}

func mustScenario(t *testing.T, doc string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func knobs(t *testing.T, names ...string) []tune.Knob {
	t.Helper()
	var out []tune.Knob
	for _, k := range tune.DefaultKnobs() {
		for _, n := range names {
			if k.Name == n {
				out = append(out, k)
			}
		}
	}
	if len(out) != len(names) {
		t.Fatalf("knobs %v: found %d", names, len(out))
	}
	return out
}

// stormScenario is a game day built to have a better setting: an error
// storm that ends after a second, which slowToHeal's recovery waits 2 s to
// try.
const stormScenario = `{"name": "storm", "steady_state": {"recovery_budget": "10s"}, "traffic": {"rate": 200},
  "phases": [
    {"name": "steady", "duration": "500ms", "expect": "steady"},
    {"name": "storm", "duration": "1s", "expect": "degrade",
     "faults": [{"type": "error", "target": "policy_engine", "error_rate": 1.0}]},
    {"name": "after", "duration": "3s", "expect": "degrade"}],
  "objective": {"metric": "time_below_min"}}`

// TestSearch_findsTheBetterSetting: on a game day built to have one — an
// error storm that ends after a second, with recovery waiting 2 s to try —
// the search finds that an earlier first attempt heals sooner, and proves
// it in a confirming run.
func TestSearch_findsTheBetterSetting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six game days of 4.5 s")
	}
	sc := mustScenario(t, stormScenario)
	k := knobs(t, "recovery.initial_delay")
	k[0].Values = []string{"100ms", "2s"}
	var progress bytes.Buffer
	out, err := tune.Search(context.Background(), tune.Config{
		Current: slowToHeal, Objective: sc.Objective, Knobs: k, Progress: &progress,
		Run: tune.Local{Scenario: sc, Seed: 7}.Run,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n%s", progress.String(), out.Why)
	if !out.Better {
		t.Fatalf("no better setting found: %s", out.Why)
	}
	if out.Proposed.Recovery.InitialDelay != 100*time.Millisecond || len(out.Changes) != 1 || out.Changes[0].Setting != "recovery.initial_delay" {
		t.Errorf("proposed %+v, changes %+v", out.Proposed.Recovery, out.Changes)
	}
	if !(out.After.BelowMin < out.Before.BelowMin) {
		t.Errorf("below the minimum %s → %s: not better", out.Before.BelowMin, out.After.BelowMin)
	}
	if n := len(out.Trials); n != 4 { // current ×2, 100ms, proposed
		t.Errorf("%d runs, want 4", n)
	}
	if !strings.Contains(progress.String(), "recovery.initial_delay=100ms") {
		t.Errorf("progress:\n%s", progress.String())
	}
}

// TestSearch_noBetterSetting: on a game day with nothing to improve (no
// fault), the search says so and proposes nothing.
func TestSearch_noBetterSetting(t *testing.T) {
	sc := mustScenario(t, `{"name": "calm", "traffic": {"rate": 100},
	  "phases": [{"name": "steady", "duration": "600ms", "expect": "steady"}]}`)
	out, err := tune.Search(context.Background(), tune.Config{
		Current: slowToHeal, Objective: sc.Objective, Knobs: knobs(t, "breaker.open_timeout"),
		Run: tune.Local{Scenario: sc, Seed: 3}.Run,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Better || len(out.Changes) != 0 || out.Proposed.Breaker.OpenTimeout != out.Current.Breaker.OpenTimeout {
		t.Fatalf("proposed a change on a calm game day: %+v", out.Changes)
	}
	if !strings.HasPrefix(out.Why, "no better setting found") {
		t.Errorf("why = %q", out.Why)
	}
	if n := len(out.Trials); n != 2+3 {
		t.Errorf("%d runs, want 5 (current twice, the three other open timeouts)", n)
	}
}

func TestValidate(t *testing.T) {
	if err := tune.Validate(slowToHeal, tune.DefaultKnobs()); err != nil {
		t.Fatal(err)
	}
	k := knobs(t, "breaker.open_timeout")
	k[0].Values = []string{"soon", "-1s"}
	if err := tune.Validate(slowToHeal, k); err == nil || !strings.Contains(err.Error(), "breaker.open_timeout") {
		t.Errorf("bad values: %v", err)
	}
	if err := tune.Validate(slowToHeal, nil); err != tune.ErrNoKnobs {
		t.Errorf("no knobs: %v", err)
	}
}

func TestOutcome_Patch(t *testing.T) {
	out := &tune.Outcome{Changes: []tune.Change{
		{Setting: "breaker.consecutive_failures", From: "5", To: "3"},
		{Setting: "breaker.open_timeout", From: "2s", To: "500ms"},
		{Setting: "recovery.strategy", From: "exponential_backoff", To: "linear_backoff"},
	}}
	want := `{"breakers":{"default":{"consecutive_failures":3,"open_timeout":"500ms"}},"recovery":{"default_policy":{"strategy":"linear_backoff"}}}`
	if got := string(out.Patch()); got != want {
		t.Errorf("patch\n%s\nwant\n%s", got, want)
	}
	cfg, err := system.Parse(out.Patch())
	if err != nil {
		t.Fatalf("the patch is not a config file: %v", err)
	}
	if cfg.Breakers.Default.ConsecutiveFailures != 3 || cfg.Breakers.Default.OpenTimeout != 500*time.Millisecond ||
		cfg.Recovery.DefaultPolicy.Strategy != recovery.LinearBackoff {
		t.Errorf("the patch parses as %+v / %+v", cfg.Breakers.Default, cfg.Recovery.DefaultPolicy)
	}
	if got := string((&tune.Outcome{}).Patch()); got != "{}" {
		t.Errorf("empty patch = %s", got)
	}
}

// TestMeasure_lateObservations: the time below the minimum counts each
// observation's status until the next one, so observations that come late
// (a loaded server) do not shorten it.
func TestMeasure_lateObservations(t *testing.T) {
	ms := time.Millisecond
	sc := mustScenario(t, `{"name": "x", "phases": [{"name": "p", "duration": "2s", "expect": "steady"}]}`)
	r := &gameday.Result{Scenario: sc, SampleInterval: 100 * ms, Samples: []gameday.Sample{
		{At: 0, Status: health.Healthy},
		{At: 100 * ms, Status: health.Healthy},
		{At: 200 * ms, Status: health.Degraded}, // the next observation came 700 ms later
		{At: 900 * ms, Status: health.Critical},
		{At: 1000 * ms, Status: health.Healthy},
		{At: 1100 * ms, Status: health.Degraded}, // the last: one interval
	}}
	if got, want := tune.Measure(r).BelowMin, 900*ms; got != want {
		t.Errorf("below the minimum %s, want %s (700 + 100 ms + the last interval)", got, want)
	}
}
