package chaos_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
)

func validLatency() chaos.Scenario {
	return chaos.LatencyScenario("db", 250*time.Millisecond, 10*time.Second)
}

// fieldsOf returns the Field of every *ValidationError joined in err.
func fieldsOf(err error) []string { return antifragile.InvalidFields(err) }

func TestScenario_Validate(t *testing.T) {
	valid := []struct {
		name string
		s    chaos.Scenario
	}{
		{"latency", validLatency()},
		{"errors", chaos.ErrorScenario("db", 0.5, nil, time.Second)},
		{"breaker", chaos.BreakerScenario("db", time.Second)},
		{"resource", chaos.ResourceScenario(chaos.ResourceCPU, 1, "host", time.Second)},
		{"partition", chaos.PartitionScenario("db", time.Second)},
		{"timeout", chaos.TimeoutScenario("db", time.Second, "db2")},
		{"error rate bounds", chaos.ErrorScenario("db", 1, nil, time.Second)},
		{"zero error rate", chaos.ErrorScenario("db", 0, nil, time.Second)},
		{"duration above the cap is not an error", chaos.LatencyScenario("db", 0, 500*time.Second)},
		{"explicit hash", func() chaos.Scenario {
			s := validLatency()
			s.ConstitutionalHash = antifragile.ConstitutionalHash
			return s
		}()},
	}
	for _, c := range valid {
		t.Run("accepts "+c.name, func(t *testing.T) {
			if err := c.s.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}

	invalid := []struct {
		name   string
		mutate func(*chaos.Scenario)
		field  string
	}{
		{"empty name", func(s *chaos.Scenario) { s.Name = "" }, "name"},
		{"blank name", func(s *chaos.Scenario) { s.Name = "  " }, "name"},
		{"empty target", func(s *chaos.Scenario) { s.Target = "" }, "target"},
		{"unknown type", func(s *chaos.Scenario) { s.Type = "flood" }, "type"},
		{"negative delay", func(s *chaos.Scenario) { s.Delay = -time.Millisecond }, "delay"},
		{"error rate below 0", func(s *chaos.Scenario) { s.ErrorRate = -0.1 }, "error_rate"},
		{"error rate above 1", func(s *chaos.Scenario) { s.ErrorRate = 1.5 }, "error_rate"},
		{"error rate NaN", func(s *chaos.Scenario) { s.ErrorRate = math.NaN() }, "error_rate"},
		{"resource level above 1", func(s *chaos.Scenario) { s.ResourceLevel = 1.01 }, "resource_level"},
		{"resource level below 0", func(s *chaos.Scenario) { s.ResourceLevel = -1 }, "resource_level"},
		{"zero duration", func(s *chaos.Scenario) { s.Duration = 0 }, "duration"},
		{"negative duration", func(s *chaos.Scenario) { s.Duration = -time.Second }, "duration"},
		{"resource type on a latency scenario", func(s *chaos.Scenario) { s.ResourceType = chaos.ResourceCPU }, "resource_type"},
		{"resource scenario without a resource type", func(s *chaos.Scenario) { s.Type = chaos.TypeResourceExhaustion }, "resource_type"},
		{"unknown resource type", func(s *chaos.Scenario) {
			s.Type, s.ResourceType = chaos.TypeResourceExhaustion, "gpu"
		}, "resource_type"},
		{"empty blast radius entry", func(s *chaos.Scenario) { s.BlastRadius = []string{"a", ""} }, "blast_radius"},
		{"stop condition without check", func(s *chaos.Scenario) {
			s.StopConditions = []chaos.StopCondition{{Name: "x"}}
		}, "stop_conditions[0]"},
		{"typed-nil error", func(s *chaos.Scenario) {
			*s = chaos.ErrorScenario("db", 0.5, (*pointerError)(nil), time.Second)
		}, "err"},
	}
	for _, c := range invalid {
		t.Run("rejects "+c.name, func(t *testing.T) {
			s := validLatency()
			c.mutate(&s)
			err := s.Validate()
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("Validate() = %v, want a validation error", err)
			}
			if got := fieldsOf(err); !slices.Equal(got, []string{c.field}) {
				t.Fatalf("fields = %q, want [%q] (err: %v)", got, c.field, err)
			}
		})
	}

	t.Run("a typed-nil error is ErrNil, and Inject refuses it", func(t *testing.T) {
		s := chaos.ErrorScenario("db", 1, (*pointerError)(nil), time.Second)
		if err := s.Validate(); !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("Validate() = %v, want ErrNil", err)
		}
		e := newEngine(t, chaos.Config{}, nil)
		if _, err := e.Inject(s); !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("Inject() = %v, want ErrNil", err)
		}
		if err := e.Error("db"); err != nil {
			t.Fatalf("a refused scenario injects %v", err)
		}
	})
	t.Run("reports every invalid field", func(t *testing.T) {
		s := chaos.Scenario{ErrorRate: 2, Delay: -1}
		got := fieldsOf(s.Validate())
		want := []string{"name", "type", "target", "delay", "error_rate", "duration"}
		if !slices.Equal(got, want) {
			t.Fatalf("fields = %q, want %q", got, want)
		}
	})
	t.Run("rejects a wrong hash", func(t *testing.T) {
		s := validLatency()
		s.ConstitutionalHash = "deadbeefdeadbeef"
		err := s.Validate()
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("Validate() = %v, want a hash mismatch", err)
		}
		if !strings.Contains(err.Error(), s.Name) {
			t.Fatalf("error %q does not name the scenario", err)
		}
	})
}

func TestScenario_Allows(t *testing.T) {
	t.Run("a blast radius admits its members and not others", func(t *testing.T) {
		s := chaos.LatencyScenario("s1", time.Millisecond, time.Second, "s1", "s2", "s3")
		for _, target := range []string{"s1", "s2", "s3"} {
			if !s.Allows(target) {
				t.Errorf("Allows(%q) = false", target)
			}
		}
		if s.Allows("s4") {
			t.Error(`Allows("s4") = true`)
		}
	})
	t.Run("an empty blast radius admits only the target", func(t *testing.T) {
		s := chaos.LatencyScenario("s1", time.Millisecond, time.Second)
		if !s.Allows("s1") || s.Allows("s2") || s.Allows("") {
			t.Errorf("Allows: s1=%v s2=%v empty=%v", s.Allows("s1"), s.Allows("s2"), s.Allows(""))
		}
	})
	t.Run("targets lists the target first without duplicates", func(t *testing.T) {
		s := chaos.LatencyScenario("s1", time.Millisecond, time.Second, "s2", "s1", "s2", "s3")
		if got := s.Targets(); !slices.Equal(got, []string{"s1", "s2", "s3"}) {
			t.Fatalf("Targets() = %q", got)
		}
	})
}

func TestFormatRate(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	cases := []struct {
		in   float64
		want string
	}{
		{0.5, "0.5"}, {1, "1.0"}, {0, "0.0"}, {0.25, "0.25"}, {0.1, "0.1"},
		{0.0001, "0.0001"}, {0.00001, "1e-05"}, {tenth + fifth, "0.30000000000000004"},
	}
	for _, c := range cases {
		if got := chaos.FormatRate(c.in); got != c.want {
			t.Errorf("FormatRate(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestScenarioNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{chaos.LatencyScenario("db", 250*time.Millisecond, time.Second).Name, "latency_db_250ms"},
		{chaos.LatencyScenario("db", 1500*time.Microsecond, time.Second).Name, "latency_db_1ms"},
		{chaos.ErrorScenario("db", 0.5, nil, time.Second).Name, "errors_db_0.5"},
		{chaos.ErrorScenario("db", 1, nil, time.Second).Name, "errors_db_1.0"},
		{chaos.BreakerScenario("payments", time.Second).Name, "circuit_open_payments"},
		{chaos.ResourceScenario(chaos.ResourceCPU, 0.75, "host", time.Second).Name, "resource_cpu_0.75"},
		{chaos.ResourceScenario(chaos.ResourceMemory, 1, "host", time.Second).Name, "resource_memory_1.0"},
		{chaos.PartitionScenario("db", time.Second).Name, "partition_db"},
		{chaos.TimeoutScenario("db", time.Second).Name, "timeout_db"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("name = %q, want %q", c.got, c.want)
		}
	}
}

func TestScenario_MarshalJSON(t *testing.T) {
	t.Run("writes durations as strings and the default hash", func(t *testing.T) {
		s := chaos.LatencyScenario("db", 250*time.Millisecond, 10*time.Second)
		got, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"name":"latency_db_250ms","type":"latency","target":"db","delay":"250ms","error_rate":0,` +
			`"resource_level":0,"duration":"10s","blast_radius":[],"active":false,"constitutional_hash":"cdd01ef066bc6cf2"}`
		if string(got) != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("writes Err's message when there is no error message", func(t *testing.T) {
		s := chaos.ErrorScenario("db", 0.5, errors.New("boom"), time.Second)
		got, _ := json.Marshal(s)
		if !strings.Contains(string(got), `"error_message":"boom"`) {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("round-trips through ParseScenario", func(t *testing.T) {
		s := chaos.ResourceScenario(chaos.ResourceMemory, 0.25, "host", 90*time.Second, "a", "b")
		s.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
		s.Active = true
		s.CappedFrom = 500 * time.Second
		s.ErrorMessage = "x"
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := chaos.ParseScenario(data)
		if err != nil {
			t.Fatal(err)
		}
		s.ConstitutionalHash = antifragile.ConstitutionalHash
		if !equalScenarios(s, back) {
			t.Fatalf("got  %+v\nwant %+v", back, s)
		}
	})
}

func equalScenarios(a, b chaos.Scenario) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Target == b.Target && a.Delay == b.Delay &&
		a.ErrorRate == b.ErrorRate && a.ErrorMessage == b.ErrorMessage && a.ResourceType == b.ResourceType &&
		a.ResourceLevel == b.ResourceLevel && a.Duration == b.Duration && slices.Equal(a.BlastRadius, b.BlastRadius) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.Active == b.Active && a.CappedFrom == b.CappedFrom &&
		a.ConstitutionalHash == b.ConstitutionalHash
}

func TestParseScenario(t *testing.T) {
	t.Run("decodes every field", func(t *testing.T) {
		s, err := chaos.ParseScenario([]byte(`{"name":"n","type":"error","target":"db","error_rate":0.25,
			"error_message":"boom","duration":"1m30s","blast_radius":["db","cache"],"delay":"5ms",
			"created_at":"2025-01-02T03:04:05Z","active":true,"constitutional_hash":"cdd01ef066bc6cf2"}`))
		if err != nil {
			t.Fatal(err)
		}
		want := chaos.Scenario{Name: "n", Type: chaos.TypeError, Target: "db", ErrorRate: 0.25, ErrorMessage: "boom",
			Duration: 90 * time.Second, BlastRadius: []string{"db", "cache"}, Delay: 5 * time.Millisecond,
			CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Active: true, ConstitutionalHash: antifragile.ConstitutionalHash}
		if !equalScenarios(s, want) {
			t.Fatalf("got  %+v\nwant %+v", s, want)
		}
	})
	t.Run("defaults the duration to 10s and the hash", func(t *testing.T) {
		s, err := chaos.ParseScenario([]byte(`{"name":"n","type":"timeout","target":"db"}`))
		if err != nil {
			t.Fatal(err)
		}
		if s.Duration != chaos.DefaultDuration || s.Delay != 0 || s.BlastRadius != nil {
			t.Fatalf("got %+v", s)
		}
	})
	errCases := []struct {
		name, in, field string
	}{
		{"zero duration", `{"name":"n","type":"timeout","target":"db","duration":"0s"}`, "duration"},
		{"malformed duration", `{"name":"n","type":"timeout","target":"db","duration":"10"}`, "duration"},
		{"malformed delay", `{"name":"n","type":"latency","target":"db","delay":"soon"}`, "delay"},
		{"negative delay", `{"name":"n","type":"latency","target":"db","delay":"-1s"}`, "delay"},
		{"unknown type", `{"name":"n","type":"meteor","target":"db"}`, "type"},
		{"bad resource", `{"name":"n","type":"resource_exhaustion","resource_type":"gpu","target":"db"}`, "resource_type"},
		{"missing name", `{"type":"timeout","target":"db"}`, "name"},
		{"error rate", `{"name":"n","type":"error","target":"db","error_rate":2}`, "error_rate"},
	}
	for _, c := range errCases {
		t.Run("rejects "+c.name, func(t *testing.T) {
			_, err := chaos.ParseScenario([]byte(c.in))
			if got := fieldsOf(err); !slices.Contains(got, c.field) {
				t.Fatalf("ParseScenario() = %v, want a validation error on %q", err, c.field)
			}
		})
	}
	for name, in := range map[string]string{
		"an unknown field": `{"name":"n","type":"timeout","target":"db","duration_s":10}`,
		"trailing data":    `{"name":"n","type":"timeout","target":"db"} {}`,
		"a wrong type":     `{"name":"n","type":"timeout","target":"db","duration":10}`,
		"not an object":    `[]`,
		"null":             `null`,
		"empty input":      ``,
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			if _, err := chaos.ParseScenario([]byte(in)); err == nil {
				t.Fatal("ParseScenario() = nil error")
			}
		})
	}
	t.Run("rejects a wrong hash", func(t *testing.T) {
		_, err := chaos.ParseScenario([]byte(`{"name":"n","type":"timeout","target":"db","constitutional_hash":"nope"}`))
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("ParseScenario() = %v", err)
		}
	})
}

// pointerError is an error whose nil pointer panics in Error.
type pointerError struct{ msg string }

func (e *pointerError) Error() string { return e.msg }
