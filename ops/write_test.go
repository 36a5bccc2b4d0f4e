package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/opstest"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

// writeRoute is one write route with a request that succeeds on a system
// prepared by setup.
type writeRoute struct {
	method, target, body string
	ok                   int
	setup                func(t testing.TB, s *system)
	// acted reports whether the request took effect.
	acted func(s *system) bool
}

var errDown = errors.New("still down")

// awaitManual leaves the recovery of "db" awaiting an operator.
func awaitManual(t testing.TB, s *system) {
	t.Helper()
	if err := s.orch.SetPolicy("db", recovery.Policy{HealthCheck: func(context.Context) error { return errDown }}); err != nil {
		t.Fatal(err)
	}
	if err := s.orch.Schedule("db", recovery.Manual, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.orch.Execute(context.Background(), "db"); err != nil {
		t.Fatal(err)
	}
	if task, _ := s.orch.Task("db"); task.State != recovery.AwaitingManual {
		t.Fatalf("task = %+v", task)
	}
}

func breakerState(s *system, name string) breaker.State {
	b, _ := s.reg.Get(name)
	return b.State()
}

func taskState(s *system) recovery.State {
	t, ok := s.orch.Task("db")
	if !ok {
		return recovery.Idle
	}
	return t.State
}

func writeRoutes() []writeRoute {
	forceDB := func(t testing.TB, s *system) { b, _ := s.reg.Get("db"); b.ForceOpen() }
	return []writeRoute{
		{"POST", "/breakers/db/reset", "", 200, forceDB, func(s *system) bool { return breakerState(s, "db") == breaker.Closed }},
		{"POST", "/breakers/db/force-open", "", 200, nil, func(s *system) bool { return breakerState(s, "db") == breaker.ForcedOpen }},
		{"POST", "/breakers/db/release", "", 200, forceDB, func(s *system) bool { return breakerState(s, "db") == breaker.Closed }},
		{"DELETE", "/breakers/db", "", 200, nil, func(s *system) bool { _, ok := s.reg.Get("db"); return !ok }},
		{"POST", "/recovery/db", `{"strategy":"immediate","priority":1}`, 202, nil, func(s *system) bool { return taskState(s) == recovery.Scheduled }},
		{"POST", "/recovery/db/resume", "", 200, awaitManual, func(s *system) bool { return taskState(s) == recovery.Scheduled }},
		{"POST", "/recovery/db/resolve", "", 200, awaitManual, func(s *system) bool { return taskState(s) == recovery.Idle }},
		{"DELETE", "/recovery/db", "", 200, func(t testing.TB, s *system) {
			if err := s.orch.Schedule("db", recovery.Manual, 0, nil); err != nil {
				t.Fatal(err)
			}
		}, func(s *system) bool { return taskState(s) == recovery.Idle }},
		{"POST", "/chaos/scenarios", `{"name":"slow","type":"latency","target":"validator","delay":"5ms","duration":"1m"}`, 201, nil,
			func(s *system) bool { _, ok := s.eng.Lookup("slow"); return ok }},
		{"DELETE", "/chaos/scenarios/slow", "", 200, func(t testing.TB, s *system) {
			if _, err := s.eng.Inject(chaos.Scenario{Name: "slow", Type: chaos.TypeLatency, Target: "validator", Delay: time.Millisecond, Duration: time.Minute}); err != nil {
				t.Fatal(err)
			}
		}, func(s *system) bool { _, ok := s.eng.Lookup("slow"); return !ok }},
		{"POST", "/chaos/emergency-stop", "", 200, nil, func(s *system) bool { return s.eng.Stopped() }},
		{"POST", "/chaos/reset", "", 200, func(t testing.TB, s *system) { s.eng.EmergencyStop() }, func(s *system) bool { return !s.eng.Stopped() }},
		{"POST", "/config/reload", "", 200, nil, func(s *system) bool { return s.eng.Config().MaxDelay == opstest.ReloadedMaxDelay }},
		{"POST", "/tune/apply", `{"services":["db"],"breaker":{"open_timeout":"7s"},"why":"measured","before":{"x":2},"after":{"x":1}}`, 200, nil,
			func(s *system) bool { b, _ := s.reg.Get("db"); return b.Config().OpenTimeout == 7*time.Second }},
		{"POST", "/tune/trial", `{"services":["db"],"breaker":{"open_timeout":"9s"},"ttl":"1m"}`, 200, nil,
			func(s *system) bool { b, _ := s.reg.Get("db"); return b.Config().OpenTimeout == 9*time.Second }},
		{"DELETE", "/tune/trial", "", 200, func(t testing.TB, s *system) {
			req := api.TrialRequest{Services: []string{"db"}, Breaker: json.RawMessage(`{"open_timeout":"9s"}`)}
			if _, err := s.opts.Tuner.(ops.Trialer).StartTrial(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}, func(s *system) bool { return !s.opts.Tuner.(ops.Trialer).Trial().Active }},
	}
}

func TestHandler_Auth(t *testing.T) {
	cases := []struct {
		name   string
		header []string
		status int
	}{
		{"no token", nil, 401},
		{"another scheme", []string{"Authorization", "Basic " + token}, 401},
		{"empty bearer", []string{"Authorization", "Bearer "}, 401},
		{"wrong token", []string{"Authorization", "Bearer wrong"}, 403},
		{"token prefix", []string{"Authorization", "Bearer " + token[:4]}, 403},
		{"right token", auth(), 0},
		{"scheme in lower case", []string{"Authorization", "bearer " + token}, 0},
	}
	for _, r := range writeRoutes() {
		for _, c := range cases {
			t.Run(r.method+" "+r.target+"/"+c.name, func(t *testing.T) {
				s := newSystem(t)
				if r.setup != nil {
					r.setup(t, s)
				}
				before := r.acted(s)
				rec := do(t, s.h, r.method, r.target, r.body, c.header...)
				if c.status == 0 {
					if rec.Code != r.ok {
						t.Fatalf("status = %d, want %d: %s", rec.Code, r.ok, rec.Body)
					}
					if !r.acted(s) {
						t.Error("the request did not take effect")
					}
					return
				}
				envelope(t, rec, c.status)
				if c.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
				}
				if r.acted(s) != before {
					t.Error("a refused request took effect")
				}
			})
		}
	}
	t.Run("no token configured: writes disabled", func(t *testing.T) {
		s := newSystem(t, func(o *ops.Options) { o.Token = "" })
		for _, r := range writeRoutes() {
			for _, hdr := range [][]string{nil, {"Authorization", "Bearer "}, {"Authorization", "Bearer anything"}} {
				env := envelope(t, do(t, s.h, r.method, r.target, r.body, hdr...), 403)
				if env.Error != "writes disabled: no token configured" {
					t.Errorf("%s %s: %+v", r.method, r.target, env)
				}
			}
		}
	})
	t.Run("reads need no token", func(t *testing.T) {
		s := newSystem(t)
		for _, path := range []string{"/health", "/breakers", "/recovery", "/chaos/scenarios", "/chaos/metrics", "/metering", "/bus", "/livez", "/readyz", "/metrics"} {
			if rec := do(t, s.h, "GET", path, ""); rec.Code != 200 {
				t.Errorf("GET %s = %d", path, rec.Code)
			}
		}
	})
}

func TestHandler_BreakerActions(t *testing.T) {
	s := newSystem(t)
	steps := []struct {
		action  string
		changed bool
		state   breaker.State
	}{
		{"force-open", true, breaker.ForcedOpen},
		{"force-open", false, breaker.ForcedOpen},
		{"release", true, breaker.Closed},
		{"release", false, breaker.Closed},
		{"reset", true, breaker.Closed},
	}
	for _, st := range steps {
		var a api.BreakerAction
		decode(t, do(t, s.h, "POST", "/breakers/db/"+st.action, "", auth()...), 200, &a)
		if a.Breaker != "db" || a.Action != st.action || a.Changed != st.changed || a.State != st.state {
			t.Errorf("%s: %+v", st.action, a)
		}
	}
	t.Run("unknown breaker is 404", func(t *testing.T) {
		for _, action := range []string{"reset", "force-open", "release"} {
			env := envelope(t, do(t, s.h, "POST", "/breakers/nope/"+action, "", auth()...), 404)
			if !strings.Contains(env.Error, `"nope"`) {
				t.Errorf("%+v", env)
			}
		}
	})
	t.Run("unknown action is 404", func(t *testing.T) {
		envelope(t, do(t, s.h, "POST", "/breakers/db/explode", "", auth()...), 404)
	})
}

func TestHandler_Recovery(t *testing.T) {
	t.Run("schedule", func(t *testing.T) {
		tests := []struct {
			name, body string
			status     int
			field      string
			strategy   recovery.Strategy
			priority   int
		}{
			{"empty body takes the defaults", "", 202, "", recovery.ExponentialBackoff, 0},
			{"empty object", "{}", 202, "", recovery.ExponentialBackoff, 0},
			{"strategy and priority", `{"strategy":"linear_backoff","priority":3}`, 202, "", recovery.LinearBackoff, 3},
			{"policy strategy", `{"policy":{"strategy":"manual","max_retry_attempts":2,"initial_delay":"10ms"}}`, 202, "", recovery.Manual, 0},
			{"request strategy wins", `{"strategy":"immediate","policy":{"strategy":"manual"}}`, 202, "", recovery.Immediate, 0},
			{"white space around", " \n{\"strategy\":\"immediate\"}\n ", 202, "", recovery.Immediate, 0},
			{"unknown strategy", `{"strategy":"yolo"}`, 400, "strategy", 0, 0},
			{"unknown field", `{"strategy":"immediate","urgent":true}`, 400, "urgent", 0, 0},
			{"unknown policy field", `{"policy":{"retries":3}}`, 400, "retries", 0, 0},
			{"wrong type", `{"priority":"high"}`, 400, "priority", 0, 0},
			{"wrong nested type", `{"policy":{"jitter":"lots"}}`, 400, "policy.jitter", 0, 0},
			{"bad duration", `{"policy":{"initial_delay":"soon"}}`, 400, "policy.initial_delay", 0, 0},
			{"invalid policy", `{"policy":{"max_retry_attempts":-1}}`, 400, "policy.max_retry_attempts", 0, 0},
			{"invalid policy strategy", `{"policy":{"strategy":"later"}}`, 400, "policy.strategy", 0, 0},
			{"trailing data", `{"strategy":"immediate"} {}`, 400, "", 0, 0},
			{"trailing garbage", `{"strategy":"immediate"}x`, 400, "", 0, 0},
			{"not JSON", `strategy=immediate`, 400, "", 0, 0},
			{"truncated", `{"strategy":`, 400, "", 0, 0},
			{"array", `[]`, 400, "body", 0, 0},
			{"wrong hash", `{"policy":{"constitutional_hash":"deadbeef"}}`, 409, "constitutional_hash", 0, 0},
			{"too large", `{"strategy":"` + strings.Repeat("x", 2048) + `"}`, 413, "body", 0, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newSystem(t, func(o *ops.Options) { o.MaxBodyBytes = 1024 })
				rec := do(t, s.h, "POST", "/recovery/db", tt.body, auth()...)
				if tt.status != 202 {
					env := envelope(t, rec, tt.status)
					if env.Field != tt.field {
						t.Errorf("field = %q, want %q (%+v)", env.Field, tt.field, env)
					}
					if _, ok := s.orch.Task("db"); ok {
						t.Error("a refused request scheduled a task")
					}
					return
				}
				var a api.RecoveryAction
				decode(t, rec, 202, &a)
				if a.Service != "db" || a.Action != "schedule" || a.Task == nil {
					t.Fatalf("action = %+v", a)
				}
				if a.Task.Strategy != tt.strategy || a.Task.Priority != tt.priority {
					t.Errorf("task = %+v, want strategy %v priority %d", a.Task, tt.strategy, tt.priority)
				}
			})
		}
	})
	t.Run("resume and resolve", func(t *testing.T) {
		s := newSystem(t)
		envelope(t, do(t, s.h, "POST", "/recovery/db/resume", "", auth()...), 404)
		envelope(t, do(t, s.h, "POST", "/recovery/db/resolve", "", auth()...), 404)
		if err := s.orch.Schedule("db", recovery.ExponentialBackoff, 0, nil); err != nil {
			t.Fatal(err)
		}
		env := envelope(t, do(t, s.h, "POST", "/recovery/db/resume", "", auth()...), 409)
		if !strings.Contains(env.Error, "awaiting") {
			t.Errorf("%+v", env)
		}
		envelope(t, do(t, s.h, "POST", "/recovery/db/resolve", "", auth()...), 409)

		awaitManual(t, s)
		var a api.RecoveryAction
		decode(t, do(t, s.h, "POST", "/recovery/db/resume", "", auth()...), 200, &a)
		if a.Action != "resume" || a.Task == nil || a.Task.State != recovery.Scheduled {
			t.Errorf("resume = %+v", a)
		}
		if _, err := s.orch.Execute(context.Background(), "db"); err != nil {
			t.Fatal(err)
		}
		a = api.RecoveryAction{}
		decode(t, do(t, s.h, "POST", "/recovery/db/resolve", "", auth()...), 200, &a)
		if a.Action != "resolve" || a.Task != nil {
			t.Errorf("resolve = %+v", a)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		s := newSystem(t)
		envelope(t, do(t, s.h, "DELETE", "/recovery/db", "", auth()...), 404)
		if err := s.orch.Schedule("db", recovery.ExponentialBackoff, 0, nil); err != nil {
			t.Fatal(err)
		}
		var a api.RecoveryAction
		decode(t, do(t, s.h, "DELETE", "/recovery/db", "", auth()...), 200, &a)
		if a.Action != "cancel" || a.Task != nil {
			t.Errorf("cancel = %+v", a)
		}
		envelope(t, do(t, s.h, "DELETE", "/recovery/db", "", auth()...), 404)
	})
}

func TestHandler_Chaos(t *testing.T) {
	t.Run("inject", func(t *testing.T) {
		tests := []struct {
			name, body string
			status     int
			field      string
		}{
			{"latency", `{"name":"slow","type":"latency","target":"validator","delay":"5ms","duration":"1m"}`, 201, ""},
			{"default duration", `{"name":"slow","type":"error","target":"validator","error_rate":0.5}`, 201, ""},
			{"breaker", `{"name":"slow","type":"circuit_breaker","target":"db"}`, 201, ""},
			{"empty body", ``, 400, "body"},
			{"invalid rate", `{"name":"slow","type":"error","target":"validator","error_rate":2}`, 400, "error_rate"},
			{"unknown type", `{"name":"slow","type":"meteor","target":"validator"}`, 400, "type"},
			{"unknown field", `{"name":"slow","type":"latency","target":"validator","delay":"5ms","severity":9}`, 400, "severity"},
			{"bad duration", `{"name":"slow","type":"latency","target":"validator","delay":"soon"}`, 400, "delay"},
			{"trailing data", `{"name":"slow","type":"latency","target":"v","delay":"5ms"} {}`, 400, ""},
			{"not JSON", `latency please`, 400, ""},
			{"wrong hash", `{"name":"slow","type":"latency","target":"v","delay":"5ms","constitutional_hash":"deadbeef"}`, 409, "constitutional_hash"},
			{"too large", `{"name":"` + strings.Repeat("s", 4096) + `","type":"latency","target":"v"}`, 413, "body"},
			{"no pool", `{"name":"slow","type":"resource_exhaustion","target":"nopool","resource_type":"connections","resource_level":0.5}`, 400, "target"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newSystem(t, func(o *ops.Options) { o.MaxBodyBytes = 2048 })
				rec := do(t, s.h, "POST", "/chaos/scenarios", tt.body, auth()...)
				if tt.status != 201 {
					env := envelope(t, rec, tt.status)
					if env.Field != tt.field {
						t.Errorf("field = %q, want %q (%+v)", env.Field, tt.field, env)
					}
					if n := len(s.eng.Active()); n != 0 {
						t.Errorf("%d scenarios active after a refused request", n)
					}
					return
				}
				var ans api.Injected
				decode(t, rec, 201, &ans)
				if sc := ans.Scenario; sc.Name != "slow" || !sc.Active || sc.CreatedAt.IsZero() {
					t.Errorf("scenario = %+v", sc)
				}
				if len(ans.Warnings) != 0 {
					t.Errorf("warnings %q for a known target", ans.Warnings)
				}
				if _, ok := s.eng.Lookup("slow"); !ok {
					t.Error("scenario not active")
				}
			})
		}
	})
	t.Run("unknown targets and capped durations", testChaosWarnings)
	t.Run("emergency stop refuses injections until reset", func(t *testing.T) {
		s := newSystem(t)
		body := `{"name":"slow","type":"latency","target":"validator","delay":"5ms"}`
		decode(t, do(t, s.h, "POST", "/chaos/scenarios", body, auth()...), 201, &api.Injected{})
		var m chaos.Metrics
		decode(t, do(t, s.h, "POST", "/chaos/emergency-stop", "", auth()...), 200, &m)
		if !m.EmergencyStop || m.ActiveScenarios != 0 {
			t.Errorf("after stop: %+v", m)
		}
		env := envelope(t, do(t, s.h, "POST", "/chaos/scenarios", body, auth()...), 409)
		if !strings.Contains(env.Error, "emergency stop") {
			t.Errorf("%+v", env)
		}
		decode(t, do(t, s.h, "POST", "/chaos/reset", "", auth()...), 200, &m)
		if m.EmergencyStop {
			t.Errorf("after reset: %+v", m)
		}
		decode(t, do(t, s.h, "POST", "/chaos/scenarios", body, auth()...), 201, &api.Injected{})
	})
	t.Run("stop a scenario", func(t *testing.T) {
		s := newSystem(t)
		envelope(t, do(t, s.h, "DELETE", "/chaos/scenarios/slow", "", auth()...), 404)
		if _, err := s.eng.ForceBreakerOpen("db", time.Minute); err != nil {
			t.Fatal(err)
		}
		var a api.ScenarioAction
		decode(t, do(t, s.h, "DELETE", "/chaos/scenarios/circuit_open_db", "", auth()...), 200, &a)
		if !a.Deactivated || a.Scenario != "circuit_open_db" {
			t.Errorf("%+v", a)
		}
		if breakerState(s, "db") != breaker.Closed {
			t.Error("the forced breaker was not released")
		}
	})
}

// testChaosWarnings is TestIssue14's part on POST /chaos/scenarios: an
// unknown target is injected with a warning, or refused in strict mode (the
// query or the engine's strict_targets) with a 422 naming the target; a
// capped duration says so.
func testChaosWarnings(t *testing.T) {
	t.Run("an unknown target is injected with a warning", func(t *testing.T) {
		s := newSystem(t)
		rec := do(t, s.h, "POST", "/chaos/scenarios", `{"name":"ghost","type":"latency","target":"nosuchservice","delay":"5ms"}`, auth()...)
		var ans api.Injected
		decode(t, rec, 201, &ans)
		if len(ans.Warnings) != 1 || !strings.Contains(ans.Warnings[0], `target "nosuchservice" is unknown`) {
			t.Fatalf("warnings = %q", ans.Warnings)
		}
		if _, ok := s.eng.Lookup("ghost"); !ok {
			t.Fatal("not injected")
		}
	})
	for _, tc := range []struct{ name, query, body, field string }{
		{"strict=1 refuses an unknown target", "?strict=1", `{"name":"ghost","type":"partition","target":"nosuchservice"}`, "target"},
		{"strict=true names the blast radius entry", "?strict=true", `{"name":"ghost","type":"network_partition","target":"db","blast_radius":["validator","phantom"]}`, "blast_radius[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSystem(t)
			rec := do(t, s.h, "POST", "/chaos/scenarios"+tc.query, strings.Replace(tc.body, `"partition"`, `"network_partition"`, 1), auth()...)
			env := envelope(t, rec, 422)
			if env.Field != tc.field || !strings.Contains(env.Error, "unknown target") {
				t.Fatalf("envelope %+v", env)
			}
			if len(s.eng.Active()) != 0 {
				t.Fatal("a refused scenario is active")
			}
		})
	}
	t.Run("strict mode injects a known target", func(t *testing.T) {
		s := newSystem(t)
		decode(t, do(t, s.h, "POST", "/chaos/scenarios?strict=1", `{"name":"slow","type":"latency","target":"validator","delay":"5ms"}`, auth()...), 201, &api.Injected{})
	})
	t.Run("a bad strict value is a 400", func(t *testing.T) {
		s := newSystem(t)
		env := envelope(t, do(t, s.h, "POST", "/chaos/scenarios?strict=maybe", `{"name":"slow","type":"latency","target":"validator","delay":"5ms"}`, auth()...), 400)
		if env.Field != "strict" {
			t.Fatalf("envelope %+v", env)
		}
	})
	t.Run("the engine's strict_targets refuses without the query", func(t *testing.T) {
		s := newSystem(t, func(o *ops.Options) {
			e, err := chaos.New(chaos.Config{StrictTargets: true}, o.Registry)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close(context.Background()) })
			o.Chaos = e
		})
		envelope(t, do(t, s.h, "POST", "/chaos/scenarios", `{"name":"ghost","type":"latency","target":"nosuchservice","delay":"5ms"}`, auth()...), 422)
	})
	t.Run("a capped duration says so", func(t *testing.T) {
		s := newSystem(t)
		var ans api.Injected
		decode(t, do(t, s.h, "POST", "/chaos/scenarios", `{"name":"long","type":"latency","target":"validator","delay":"5ms","duration":"10m"}`, auth()...), 201, &ans)
		if ans.Scenario.CappedFrom != 10*time.Minute || len(ans.Warnings) != 1 || !strings.Contains(ans.Warnings[0], "capped from 10m to 5m") {
			t.Fatalf("answer %+v", ans)
		}
	})
}

// TestHandler_Tuning: the ledger is an empty list (not null) before any
// change; a tuning trial answers what it saved, refuses a change meanwhile
// (409) and a second DELETE finds none (404).
func TestHandler_Tuning(t *testing.T) {
	s := newSystem(t)
	rec := do(t, s.h, "GET", "/tune/ledger", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"entries":[]`) {
		t.Errorf("empty ledger: %d %s", rec.Code, rec.Body)
	}
	var tr api.Trial
	decode(t, do(t, s.h, "POST", "/tune/trial", `{"services":["db"],"breaker":{"open_timeout":"9s"}}`, auth()...), 200, &tr)
	if !tr.Active || len(tr.Original) != 1 || tr.Original[0].Service != "db" || tr.Original[0].Breaker.OpenTimeout == 9*time.Second {
		t.Errorf("trial %+v", tr)
	}
	envelope(t, do(t, s.h, "POST", "/tune/apply", `{"services":["db"],"breaker":{"open_timeout":"7s"},"why":"measured","before":{"x":2},"after":{"x":1}}`, auth()...), 409)
	envelope(t, do(t, s.h, "POST", "/tune/trial", `{"services":["cache"]}`, auth()...), 409)
	decode(t, do(t, s.h, "GET", "/tune/trial", ""), 200, &tr)
	if !tr.Active || tr.Runs != 1 {
		t.Errorf("GET /tune/trial: %+v", tr)
	}
	decode(t, do(t, s.h, "DELETE", "/tune/trial", "", auth()...), 200, &tr)
	if tr.Active || tr.Ended != "ended" {
		t.Errorf("DELETE /tune/trial: %+v", tr)
	}
	envelope(t, do(t, s.h, "DELETE", "/tune/trial", "", auth()...), 404)
	envelope(t, do(t, s.h, "POST", "/tune/trial", `{"services":["db"],"ttl":"2h"}`, auth()...), 400)

	// Without a Tuner that runs trials, none runs: GET answers so, the
	// writes are unavailable.
	bare := newSystem(t, func(o *ops.Options) { o.Tuner = nil })
	decode(t, do(t, bare.h, "GET", "/tune/trial", ""), 200, &tr)
	if tr.Active || tr.ConstitutionalHash == "" {
		t.Errorf("GET /tune/trial without a tuner: %+v", tr)
	}
	envelope(t, do(t, bare.h, "POST", "/tune/trial", `{"services":["db"]}`, auth()...), 503)
	envelope(t, do(t, bare.h, "DELETE", "/tune/trial", "", auth()...), 503)
}
