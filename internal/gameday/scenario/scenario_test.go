package scenario_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/agentsim"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// fields returns the Field of every *ValidationError in err.
func fields(err error) []string { return antifragile.InvalidFields(err) }

func TestParse(t *testing.T) {
	t.Run("the built-in scenario is valid and lasts a minute", func(t *testing.T) {
		sc := scenario.Default()
		if got := sc.Total(); got != time.Minute {
			t.Errorf("Total() = %s, want 1m", got)
		}
		if sc.SteadyState.MinStatus != health.Healthy || sc.SteadyState.RecoveryBudget != 20*time.Second {
			t.Errorf("steady state = %+v", sc.SteadyState)
		}
		if err := sc.CheckTargets(agentsim.Agents()); err != nil {
			t.Errorf("CheckTargets: %v", err)
		}
		var types []chaos.Type
		for _, p := range sc.Phases {
			for _, f := range p.Faults {
				types = append(types, f.Scenario.Type)
			}
		}
		want := []chaos.Type{chaos.TypeLatency, chaos.TypeError, chaos.TypeResourceExhaustion, chaos.TypeNetworkPartition}
		if !slices.Equal(types, want) {
			t.Errorf("fault types = %v, want %v", types, want)
		}
	})
	t.Run("defaults fill the optional fields", func(t *testing.T) {
		sc, err := scenario.Parse([]byte(`{"name":"x","phases":[
			{"name":"a","duration":"1s"},
			{"name":"b","duration":"2s","faults":[{"type":"error","target":"validator","error_rate":0.5}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if sc.SteadyState.MinStatus != health.Healthy || sc.SteadyState.RecoveryBudget != scenario.DefaultRecoveryBudget {
			t.Errorf("steady state = %+v", sc.SteadyState)
		}
		if sc.Traffic.Rate != scenario.DefaultRate || !slices.Equal(sc.Traffic.Tenants, scenario.DefaultTenants()) {
			t.Errorf("traffic = %+v", sc.Traffic)
		}
		if sc.Phases[0].Expect != scenario.ExpectSteady || sc.Phases[1].Expect != scenario.ExpectDegrade {
			t.Errorf("expect = %q, %q", sc.Phases[0].Expect, sc.Phases[1].Expect)
		}
		f := sc.Phases[1].Faults[0]
		if !f.ForPhase || f.Scenario.Duration != 2*time.Second {
			t.Errorf("fault without a duration: ForPhase=%v Duration=%s, want true, 2s", f.ForPhase, f.Scenario.Duration)
		}
		if f.Scenario.Name != "b-error-validator" {
			t.Errorf("default fault name = %q", f.Scenario.Name)
		}
		if f.Scenario.ConstitutionalHash != antifragile.ConstitutionalHash {
			t.Errorf("hash = %q", f.Scenario.ConstitutionalHash)
		}
	})
	t.Run("the steady tolerance is read and scaled", func(t *testing.T) {
		sc, err := scenario.Parse([]byte(`{"name":"x","steady_state":{"tolerance":"2s"},"phases":[{"name":"a","duration":"10s"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if sc.SteadyState.Tolerance != 2*time.Second {
			t.Errorf("tolerance = %s, want 2s", sc.SteadyState.Tolerance)
		}
		if half, _ := sc.Scaled(5 * time.Second); half.SteadyState.Tolerance != time.Second {
			t.Errorf("scaled tolerance = %s, want 1s", half.SteadyState.Tolerance)
		}
		if rule := sc.SteadyState.Rule(); !strings.Contains(rule, "2s in all below HEALTHY") {
			t.Errorf("rule = %q", rule)
		}
	})
	t.Run("a fault keeps a duration of its own", func(t *testing.T) {
		sc, err := scenario.Parse([]byte(`{"name":"x","phases":[{"name":"a","duration":"1s",
			"faults":[{"name":"long","type":"network_partition","target":"validator","duration":"10m"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if f := sc.Phases[0].Faults[0]; f.ForPhase || f.Scenario.Duration != 10*time.Minute {
			t.Errorf("fault = %+v", f)
		}
	})

	bad := []struct {
		name, in string
		want     []string // JSON paths reported
	}{
		{"not JSON", `{"name":`, []string{"$"}},
		{"not an object", `[1,2]`, []string{"$"}},
		{"trailing data", `{"name":"x","phases":[{"name":"a","duration":"1s"}]} {}`, []string{"$"}},
		{"missing name and phases", `{}`, []string{"name", "phases"}},
		{"empty phases", `{"name":"x","phases":[]}`, []string{"phases"}},
		{"unknown fields everywhere", `{"name":"x","extra":1,"steady_state":{"min":1},"traffic":{"rps":3},
			"phases":[{"name":"a","duration":"1s","wat":true,"faults":[{"type":"latency","target":"v","delay":"1s","bogus":1}]}]}`,
			[]string{"extra", "steady_state.min", "traffic.rps", "phases[0].wat", "phases[0].faults[0].bogus"}},
		{"bad steady state", `{"name":"x","steady_state":{"min_status":"GREAT","recovery_budget":"-1s"},"phases":[{"name":"a","duration":"1s"}]}`,
			[]string{"steady_state.min_status", "steady_state.recovery_budget"}},
		{"bad tolerance", `{"name":"x","steady_state":{"tolerance":"-1s"},"phases":[{"name":"a","duration":"1s"}]}`,
			[]string{"steady_state.tolerance"}},
		{"tolerance of the wrong kind", `{"name":"x","steady_state":{"tolerance":2},"phases":[{"name":"a","duration":"1s"}]}`,
			[]string{"steady_state.tolerance"}},
		{"unknown status", `{"name":"x","steady_state":{"min_status":"UNKNOWN"},"phases":[{"name":"a","duration":"1s"}]}`,
			[]string{"steady_state.min_status"}},
		{"bad traffic", `{"name":"x","traffic":{"rate":0,"tenants":["a","","a"]},"phases":[{"name":"a","duration":"1s"}]}`,
			[]string{"traffic.rate", "traffic.tenants[1]", "traffic.tenants[2]"}},
		{"wrong kinds", `{"name":3,"traffic":{"rate":"fast","tenants":"acme"},"phases":[{"name":"a","duration":5}]}`,
			[]string{"name", "traffic.rate", "traffic.tenants", "phases[0].duration"}},
		{"bad phases", `{"name":"x","phases":[{"duration":"1s"},{"name":"b","duration":"0s","expect":"sometimes"},
			{"name":"b","duration":"soon"}, 7]}`,
			[]string{"phases[0].name", "phases[1].duration", "phases[1].expect", "phases[2].duration", "phases[2].name", "phases[3]"}},
		{"bad faults", `{"name":"x","phases":[{"name":"a","duration":"1s","faults":[
			{"type":"error","target":"v","error_rate":1.5},
			{"type":"wobble","target":""},
			{"type":"latency","target":"v","delay":"soon"},
			{"type":"latency","target":"v","delay":5},
			{"type":"latency","target":"v","created_at":"2020-01-01T00:00:00Z"},
			"nope"]}]}`,
			[]string{"phases[0].faults[0].error_rate", "phases[0].faults[1].type", "phases[0].faults[1].target",
				"phases[0].faults[2].delay", "phases[0].faults[3].delay", "phases[0].faults[4].created_at", "phases[0].faults[5]"}},
		{"duplicate fault names", `{"name":"x","phases":[
			{"name":"a","duration":"1s","faults":[{"name":"f","type":"network_partition","target":"v"}]},
			{"name":"b","duration":"1s","faults":[{"name":"f","type":"network_partition","target":"w"}]}]}`,
			[]string{"phases[1].faults[0].name"}},
		{"wrong hash", `{"name":"x","phases":[{"name":"a","duration":"1s","faults":[
			{"type":"network_partition","target":"v","constitutional_hash":"deadbeef"}]}]}`,
			[]string{"phases[0].faults[0].constitutional_hash"}},
		{"too long", `{"name":"x","phases":[{"name":"a","duration":"2h"}]}`, []string{"phases"}},
		{"null values", `{"name":null,"phases":[{"name":"a","duration":null}]}`, []string{"name", "phases[0].duration"}},
	}
	for _, tc := range bad {
		t.Run("reports every problem with its path: "+tc.name, func(t *testing.T) {
			sc, err := scenario.Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", sc)
			}
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false: %v", err)
			}
			got := fields(err)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("no problem reported at %q; got %q\n%v", w, got, err)
				}
			}
		})
	}
}

func TestScenario_Scaled(t *testing.T) {
	sc := scenario.Default()
	t.Run("shrinks every duration by the same factor", func(t *testing.T) {
		s, f := sc.Scaled(6 * time.Second)
		if f != 0.1 {
			t.Errorf("factor = %v, want 0.1", f)
		}
		if got := s.Total(); got < 5990*time.Millisecond || got > 6010*time.Millisecond {
			t.Errorf("Total() = %s, want about 6s", got)
		}
		if s.SteadyState.RecoveryBudget != 2*time.Second {
			t.Errorf("recovery budget = %s, want 2s", s.SteadyState.RecoveryBudget)
		}
		for i, p := range s.Phases {
			if p.Duration != sc.Phases[i].Duration/10 {
				t.Errorf("phase %s: %s, want %s", p.Name, p.Duration, sc.Phases[i].Duration/10)
			}
			for _, fl := range p.Faults {
				if fl.Scenario.Duration != p.Duration {
					t.Errorf("fault %s lasts %s, its phase %s", fl.Scenario.Name, fl.Scenario.Duration, p.Duration)
				}
			}
		}
		if sc.Total() != time.Minute {
			t.Error("Scaled modified its receiver")
		}
	})
	t.Run("zero keeps the durations", func(t *testing.T) {
		s, f := sc.Scaled(0)
		if f != 1 || s.Total() != sc.Total() {
			t.Errorf("factor %v total %s", f, s.Total())
		}
	})
}

func TestScenario_CheckTargets(t *testing.T) {
	sc, err := scenario.Parse([]byte(`{"name":"x","phases":[{"name":"a","duration":"1s","faults":[
		{"type":"network_partition","target":"validator","blast_radius":["ghost"]},
		{"type":"resource_exhaustion","target":"anything","resource_type":"cpu","resource_level":0.1},
		{"type":"latency","target":"nobody","delay":"1ms"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := fields(sc.CheckTargets(agentsim.Agents()))
	want := []string{"phases[0].faults[0].blast_radius[0]", "phases[0].faults[2].target"}
	if !slices.Equal(got, want) {
		t.Errorf("CheckTargets fields = %q, want %q", got, want)
	}
	if !strings.Contains(sc.CheckTargets(nil).Error(), "nobody") {
		t.Error("the error does not name the target")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(scenario.DefaultJSON())
	f.Add([]byte(`{"name":"x","phases":[{"name":"a","duration":"1s"}]}`))
	f.Add([]byte(`{"name":"x","steady_state":{"min_status":"DEGRADED","recovery_budget":"1s"},"traffic":{"rate":5,"tenants":["t"]},
		"phases":[{"name":"a","duration":"1s","expect":"degrade","faults":[{"type":"timeout","target":"v","duration":"5s"}]}]}`))
	f.Add([]byte(`{"phases":[{"faults":[{"type":"error","error_rate":2}]}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"name":"x","phases":[{"name":"a","duration":"1s"}]}garbage`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenario.Parse(data)
		if err != nil {
			if sc != nil {
				t.Fatal("a scenario returned with an error")
			}
			if len(fields(err)) == 0 && !errors.Is(err, antifragile.ErrInvalid) {
				// Syntax errors of the top level are validation errors too.
				t.Fatalf("error without a path: %v", err)
			}
			return
		}
		if sc.Name == "" || len(sc.Phases) == 0 || sc.Total() <= 0 || sc.Total() > scenario.MaxTotal {
			t.Fatalf("invalid scenario accepted: %+v", sc)
		}
		for _, p := range sc.Phases {
			if p.Duration <= 0 || (p.Expect != scenario.ExpectSteady && p.Expect != scenario.ExpectDegrade) {
				t.Fatalf("invalid phase accepted: %+v", p)
			}
			for _, f := range p.Faults {
				if err := f.Scenario.Validate(); err != nil {
					t.Fatalf("invalid fault accepted: %v", err)
				}
			}
		}
		scaled, _ := sc.Scaled(time.Second)
		if len(scaled.Phases) != len(sc.Phases) {
			t.Fatal("Scaled lost phases")
		}
	})
}

func TestParse_objective(t *testing.T) {
	base := `{"name": "t", "phases": [{"name": "p", "duration": "1s", "expect": "steady"}]`
	s, err := scenario.Parse([]byte(base + `}`))
	if err != nil || s.Objective != (scenario.Objective{Metric: scenario.MetricBelowMin}) {
		t.Fatalf("default objective = %+v, %v", s.Objective, err)
	}
	s, err = scenario.Parse([]byte(base + `, "objective": {"metric": "failed", "error_budget": 250}}`))
	if err != nil || s.Objective != (scenario.Objective{Metric: scenario.MetricFailed, ErrorBudget: 250}) {
		t.Fatalf("objective = %+v, %v", s.Objective, err)
	}
	_, err = scenario.Parse([]byte(base + `, "objective": {"metric": "speed", "error_budget": -1, "x": 1}}`))
	for _, want := range []string{"objective.metric", "objective.error_budget", "objective.x"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := scenario.Parse([]byte(base + `, "objective": {"error_budget": 1.5}}`)); err == nil {
		t.Error("a fractional error budget was accepted")
	}
}

func TestBuiltin(t *testing.T) {
	for _, name := range scenario.BuiltinNames() {
		s, err := scenario.Builtin(name)
		if err != nil || s.Name != name {
			t.Errorf("%s: %v, %+v", name, err, s)
			continue
		}
		if err := s.CheckTargets([]string{"proposer", "validator", "policy_engine", "deliberation", "executor", "auditor"}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := scenario.Builtin("nope"); err == nil || !strings.Contains(err.Error(), "byzantine-bus") {
		t.Errorf("unknown builtin: %v", err)
	}
	if s, _ := scenario.Builtin("cascade"); s.Traffic.Topology != scenario.TopologyCascade {
		t.Errorf("cascade topology = %q", s.Traffic.Topology)
	}
	if _, err := scenario.Parse([]byte(`{"name":"x","traffic":{"topology":"mesh"},"phases":[{"name":"p","duration":"1s","expect":"steady"}]}`)); err == nil || !strings.Contains(err.Error(), "traffic.topology") {
		t.Errorf("bad topology: %v", err)
	}
}
