package recovery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestState_Text(t *testing.T) {
	want := []string{"idle", "scheduled", "in_progress", "succeeded", "failed", "cancelled", "awaiting_manual"}
	for i, name := range want {
		st := recovery.State(i)
		b, err := json.Marshal(st)
		if err != nil || string(b) != `"`+name+`"` {
			t.Errorf("Marshal(%d) = %s, %v; want %q", i, b, err, name)
		}
		var back recovery.State
		if err := json.Unmarshal(b, &back); err != nil || back != st {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	if _, err := recovery.ParseState("asleep"); err == nil || !strings.Contains(err.Error(), "awaiting_manual") {
		t.Errorf("ParseState(asleep) = %v, want an error listing the states", err)
	}
	if _, err := json.Marshal(recovery.State(99)); err == nil {
		t.Error("Marshal(unknown state) succeeded")
	}
	if !recovery.Failed.Terminal() || recovery.Scheduled.Terminal() {
		t.Error("Terminal is wrong")
	}
}

func TestStrategy_Text(t *testing.T) {
	for st, name := range map[recovery.Strategy]string{
		recovery.ExponentialBackoff: "exponential_backoff",
		recovery.LinearBackoff:      "linear_backoff",
		recovery.Immediate:          "immediate",
		recovery.Manual:             "manual",
	} {
		b, _ := json.Marshal(st)
		if string(b) != `"`+name+`"` {
			t.Errorf("Marshal = %s, want %q", b, name)
		}
		if back, err := recovery.ParseStrategy(name); err != nil || back != st {
			t.Errorf("ParseStrategy(%q) = %v, %v", name, back, err)
		}
	}
}

func TestPolicy_JSON(t *testing.T) {
	t.Run("durations are strings", func(t *testing.T) {
		b, err := json.Marshal(recovery.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		want := `{"max_retry_attempts":5,"backoff_multiplier":2,"initial_delay":"1s","max_delay":"1m0s","jitter":0,` +
			`"action_timeout":"30s","health_check_timeout":"5s","strategy":"exponential_backoff","priority":0,"constitutional_hash":"cdd01ef066bc6cf2"}`
		if string(b) != want {
			t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
		}
	})
	t.Run("decoding keeps the functions and missing fields", func(t *testing.T) {
		called := false
		p := recovery.Policy{MaxRetryAttempts: 9, HealthCheck: func(context.Context) error { called = true; return nil }}
		if err := json.Unmarshal([]byte(`{"initial_delay":"250ms","strategy":"linear_backoff","priority":2}`), &p); err != nil {
			t.Fatal(err)
		}
		if p.InitialDelay != 250*time.Millisecond || p.Strategy != recovery.LinearBackoff || p.Priority != 2 || p.MaxRetryAttempts != 9 {
			t.Errorf("decoded %+v", p)
		}
		_ = p.HealthCheck(context.Background())
		if !called {
			t.Error("health check lost")
		}
	})
	t.Run("bad input is an error", func(t *testing.T) {
		for _, in := range []string{`{"initial_delay":5}`, `{"max_delay":"soon"}`, `{"strategy":"retry"}`, `[]`} {
			var p recovery.Policy
			if err := json.Unmarshal([]byte(in), &p); err == nil {
				t.Errorf("Unmarshal(%s) succeeded", in)
			}
		}
	})
}

func TestResult_JSON(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := recovery.Result{Service: "db", AttemptNumber: 2, TotalAttempts: 5, Elapsed: antifragile.Duration(1500 * time.Millisecond),
		State: recovery.Scheduled, Error: "health check: db down", Timestamp: at, ConstitutionalHash: "cdd01ef066bc6cf2"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"service":"db","success":false,"attempt_number":2,"total_attempts":5,"elapsed":"1.5s","state":"scheduled",` +
		`"error":"health check: db down","health_check_passed":false,"timestamp":"2025-01-02T03:04:05Z","constitutional_hash":"cdd01ef066bc6cf2"}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
	var back recovery.Result
	if err := json.Unmarshal(b, &back); err != nil || back != r {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestStatus_JSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := mustNew(t, recovery.Config{}, nil)
		_ = o.Schedule("db", recovery.Immediate, 1, nil)
		b, err := json.Marshal(o.Status())
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"running", "active_count", "queued_count", "in_progress_count", "services", "recent_results", "timestamp", "constitutional_hash"} {
			if _, ok := m[k]; !ok {
				t.Errorf("status JSON lacks %q: %s", k, b)
			}
		}
		task := m["services"].([]any)[0].(map[string]any)
		if task["service"] != "db" || task["state"] != "scheduled" || task["strategy"] != "immediate" || task["priority"] != 1.0 || task["max_attempts"] != 5.0 {
			t.Errorf("task JSON = %v", task)
		}
		if _, ok := task["last_attempt_at"]; ok {
			t.Errorf("unset last_attempt_at encoded: %v", task)
		}
		if _, ok := task["next_attempt_at"]; !ok {
			t.Errorf("next_attempt_at missing: %v", task)
		}
		if m["recent_results"] == nil {
			t.Errorf("recent_results is null, want []")
		}
	})
}

func FuzzPolicy_UnmarshalJSON(f *testing.F) {
	b, _ := json.Marshal(recovery.DefaultPolicy())
	f.Add(b)
	f.Add([]byte(`{"initial_delay":"250ms","strategy":"manual","jitter":0.5}`))
	f.Add([]byte(`{"max_delay":"-1h"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var p recovery.Policy
		if err := json.Unmarshal(in, &p); err != nil {
			return
		}
		_ = p.Validate() // must not panic
		out, err := json.Marshal(p)
		if err != nil {
			return // an out-of-range strategy number cannot be encoded
		}
		var q recovery.Policy
		if err := json.Unmarshal(out, &q); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		again, _ := json.Marshal(q)
		if !bytes.Equal(out, again) {
			t.Fatalf("not stable:\n%s\n%s", out, again)
		}
	})
}

func FuzzParseState(f *testing.F) {
	for _, s := range []string{"idle", "scheduled", "awaiting_manual", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		st, err := recovery.ParseState(in)
		if err == nil && st.String() != in {
			t.Fatalf("ParseState(%q) = %v", in, st)
		}
	})
}

func TestOutcome_Text(t *testing.T) {
	for i, name := range []string{"recovered", "closed_by_itself", "gave_up", "abandoned"} {
		c := recovery.Outcome(i)
		b, err := json.Marshal(c)
		if err != nil || string(b) != `"`+name+`"` {
			t.Errorf("Marshal(%d) = %s, %v; want %q", i, b, err, name)
		}
		var back recovery.Outcome
		if err := json.Unmarshal(b, &back); err != nil || back != c {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
		if c.Healed() != (i < 2) {
			t.Errorf("%v.Healed() = %v", c, c.Healed())
		}
	}
	if _, err := json.Marshal(recovery.Outcome(9)); err == nil {
		t.Error("Marshal(unknown outcome) succeeded")
	}
	var c recovery.Outcome
	if err := json.Unmarshal([]byte(`"exploded"`), &c); err == nil || !strings.Contains(err.Error(), "gave_up") {
		t.Errorf("Unmarshal(exploded) = %v", err)
	}
}

func TestOutage_JSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	u := recovery.Outage{Service: "db", OpenedAt: at, EndedAt: at.Add(7 * time.Second), HealedAt: at.Add(7 * time.Second),
		LastFailureAt: at.Add(3 * time.Second), Attempts: 3, Strategy: recovery.Learned, Learned: true,
		Delays: []antifragile.Duration{antifragile.Duration(time.Second), antifragile.Duration(1500 * time.Millisecond)}, Outcome: recovery.Recovered}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"service":"db","opened_at":"2026-12-02T20:00:00Z","ended_at":"2026-12-02T20:00:07Z","healed_at":"2026-12-02T20:00:07Z",` +
		`"last_failure_at":"2026-12-02T20:00:03Z","attempts":3,"strategy":"learned","learned":true,"delays":["1s","1.5s"],"outcome":"recovered"}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
	u.HealedAt, u.LastFailureAt, u.Outcome = time.Time{}, time.Time{}, recovery.GaveUp
	b, _ = json.Marshal(u)
	if strings.Contains(string(b), "healed_at") || strings.Contains(string(b), "last_failure_at") {
		t.Errorf("unset times encoded: %s", b)
	}
}

func TestLearning_JSON(t *testing.T) {
	l := recovery.Learning{Learned: true, Outages: 12, MinOutages: 3, MedianHeal: antifragile.Duration(4200 * time.Millisecond),
		Targets: []antifragile.Duration{antifragile.Duration(4200 * time.Millisecond), antifragile.Duration(5 * time.Second)}, FirstAttempt: antifragile.Duration(4200 * time.Millisecond),
		Fallback: recovery.LinearBackoff, Reason: "learned from 12 outages: median heal 4.2s → first attempt at 4.2s"}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"learned":true,"outages":12,"min_outages":3,"median_heal":"4.2s","targets":["4.2s","5s"],"first_attempt":"4.2s",` +
		`"fallback":"linear_backoff","reason":"learned from 12 outages: median heal 4.2s → first attempt at 4.2s"}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
}

func TestStatus_JSON_learning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := mustNew(t, recovery.Config{PredictionHorizon: time.Minute}, nil)
		_ = o.Schedule("db", recovery.Learned, 0, nil)
		o.AtRisk("cache", time.Time{})
		b, err := json.Marshal(o.Status())
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Services    []map[string]json.RawMessage `json:"services"`
			History     json.RawMessage              `json:"history"`
			Predictions json.RawMessage              `json:"predictions"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if want := `{"services":0,"outages":0,"evicted":0,"skipped":0,"store_errors":0,"persistent":false}`; string(m.History) != want {
			t.Errorf("history =\n%s\nwant\n%s", m.History, want)
		}
		want := `{"horizon":"1m0s","total":{"true_positives":0,"false_positives":0,"misses":1,"pending":1,"recall":0},` +
			`"services":[{"service":"cache","true_positives":0,"false_positives":0,"misses":0,"pending":1}]}`
		if string(m.Predictions) != want {
			t.Errorf("predictions =\n%s\nwant\n%s", m.Predictions, want)
		}
		want = `{"learned":false,"outages":0,"min_outages":3,"median_heal":"0s","targets":[],"first_attempt":"1s","fallback":"exponential_backoff",` +
			`"reason":"too little history (0 of 3 healed outages): exponential_backoff, first attempt at 1s"}`
		if got := string(m.Services[0]["learning"]); got != want {
			t.Errorf("task learning =\n%s\nwant\n%s", got, want)
		}
	})
}

func TestConfig_JSON_learning(t *testing.T) {
	var c recovery.Config
	in := `{"history_path":"/var/lib/af/outages.jsonl","max_outages_per_service":20,"max_outages":500,"learn_min_outages":5,"prediction_horizon":"2m",` +
		`"default_policy":{"strategy":"learned","fallback":"linear_backoff"}}`
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.HistoryPath != "/var/lib/af/outages.jsonl" || c.MaxOutagesPerService != 20 || c.MaxOutages != 500 || c.LearnMinOutages != 5 ||
		c.PredictionHorizon != 2*time.Minute || c.DefaultPolicy.Strategy != recovery.Learned || c.DefaultPolicy.Fallback != recovery.LinearBackoff {
		t.Errorf("decoded %+v", c)
	}
	b, _ := json.Marshal(c)
	for _, part := range []string{`"history_path":"/var/lib/af/outages.jsonl"`, `"max_outages_per_service":20`, `"max_outages":500`,
		`"learn_min_outages":5`, `"prediction_horizon":"2m0s"`, `"fallback":"linear_backoff"`} {
		if !strings.Contains(string(b), part) {
			t.Errorf("Marshal lacks %s: %s", part, b)
		}
	}
	if b, _ := json.Marshal(recovery.DefaultPolicy()); strings.Contains(string(b), "fallback") {
		t.Errorf("a zero fallback is encoded: %s", b)
	}
	for field, cfg := range map[string]recovery.Config{
		"max_outages_per_service": {MaxOutagesPerService: recovery.MaxMaxOutagesPerService + 1},
		"max_outages":             {MaxOutages: -1},
		"learn_min_outages":       {MaxOutagesPerService: 4, LearnMinOutages: 5},
		"prediction_horizon":      {PredictionHorizon: 25 * time.Hour},
	} {
		if f := antifragile.InvalidFields(cfg.Validate()); len(f) != 1 || f[0] != field {
			t.Errorf("Validate(%s) names %v", field, f)
		}
	}
}
