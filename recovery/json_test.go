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
