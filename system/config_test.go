package system_test

import (
	"context"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// newSystem builds a system from cfg, closed when the test ends.
func newSystem(t *testing.T, cfg system.Config) *system.System {
	t.Helper()
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	return sys
}

// TestNew_configuresEveryComponent: what the config file says reaches each
// component that New builds (the file's sections are the components' own
// Configs, so there is no converter to get wrong).
func TestNew_configuresEveryComponent(t *testing.T) {
	f, err := system.Parse([]byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	f.Metering.Sink = "file:" + t.TempDir() + "/usage.jsonl"
	sys := newSystem(t, *f)
	t.Run("breakers", func(t *testing.T) {
		b, ok := sys.Registry().Get("validator")
		if !ok {
			t.Fatal("the named breaker validator was not created")
		}
		v := b.Config()
		if v.Window != breaker.TimeWindow || v.WindowDuration != 10*time.Second || v.Buckets != 5 || v.FailureRate != 0.5 || v.ConsecutiveFailures != 3 {
			t.Errorf("validator = %+v", v)
		}
		other, err := sys.Registry().GetOrCreate("other", breaker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if c := other.Config(); c.OpenTimeout != 5*time.Second || c.Window != breaker.CountWindow {
			t.Errorf("a breaker created later has %+v, want the default config", c)
		}
	})
	t.Run("health", func(t *testing.T) {
		h := sys.Config().Health
		if h.CheckInterval != 250*time.Millisecond || h.DegradedThreshold != 0.8 || h.CriticalThreshold != 0.4 || h.Weights["payments"] != 3 {
			t.Errorf("health = %+v", h)
		}
		h.Weights["payments"] = 9
		if sys.Config().Health.Weights["payments"] != 3 {
			t.Error("Config shares its Weights map with the system")
		}
	})
	t.Run("recovery and policies", func(t *testing.T) {
		o := sys.Recovery()
		p := o.Policy("validator")
		if p.Strategy != recovery.LinearBackoff || p.Priority != 1 || p.MaxDelay != 2*time.Second {
			t.Errorf("validator policy = %+v", p)
		}
		if d := o.Policy("anyone"); d.InitialDelay != 100*time.Millisecond || d.Jitter != 0.1 {
			t.Errorf("default policy = %+v", d)
		}
	})
	t.Run("chaos", func(t *testing.T) {
		c := sys.Config().Chaos.Engine
		if c.Seed != 42 || c.MaxDuration != 2*time.Minute || c.MemoryCap != 128<<20 || c.DiskIO.Dir != "/tmp" ||
			c.DiskIO.MaxBytes != 1<<20 || c.NetworkBandwidth != 1e6 || c.StopCheckInterval != 50*time.Millisecond {
			t.Errorf("chaos = %+v", c)
		}
	})
	t.Run("meter and sink", func(t *testing.T) {
		m := sys.Config().Metering
		if m.Meter.BatchSize != 10 || m.Meter.FlushInterval != 100*time.Millisecond || m.Meter.MaxQueueSize != 1000 ||
			m.Meter.Retry.Initial != 10*time.Millisecond || m.Meter.Retry.MaxAttempts != 5 {
			t.Errorf("meter = %+v", m)
		}
		if got := sys.Meter().Metrics().MaxQueueSize; got != 1000 {
			t.Errorf("meter queue = %d", got)
		}
		st, err := sys.Config().SinkTarget()
		if err != nil || st.Kind != system.SinkFile {
			t.Errorf("sink = %+v, %v", st, err)
		}
	})
	t.Run("bus", func(t *testing.T) {
		b := sys.Config().Bus
		if b.MailboxSize != 64 || b.PublishTimeout != 5*time.Second {
			t.Errorf("bus = %+v", b)
		}
	})
}

func TestConfig_zeroValue(t *testing.T) {
	var c system.Config
	if err := c.Validate(); err != nil {
		t.Fatalf("the zero Config is invalid: %v", err)
	}
	if c.ListenAddr() != system.DefaultListen || c.TokenEnvName() != system.DefaultTokenEnv {
		t.Errorf("ListenAddr = %q, TokenEnvName = %q", c.ListenAddr(), c.TokenEnvName())
	}
	if st, err := c.SinkTarget(); err != nil || st.Kind != system.SinkMemory {
		t.Errorf("SinkTarget = %+v, %v", st, err)
	}
}

func TestConfig_Token(t *testing.T) {
	env := map[string]string{"ANTIFRAGILE_TOKEN": "from-default-env", "MY_TOKEN": "from-my-env"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		ops  system.OpsConfig
		want string
	}{
		{"the file's token wins", system.OpsConfig{Token: "from-file", TokenEnv: "MY_TOKEN"}, "from-file"},
		{"else the named variable", system.OpsConfig{TokenEnv: "MY_TOKEN"}, "from-my-env"},
		{"else ANTIFRAGILE_TOKEN", system.OpsConfig{}, "from-default-env"},
		{"an unset variable means no token", system.OpsConfig{TokenEnv: "UNSET"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &system.Config{Ops: tt.ops, Getenv: getenv}
			if got := c.Token(); got != tt.want {
				t.Fatalf("Token = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("nil Getenv reads the environment", func(t *testing.T) {
		t.Setenv("AF_TEST_TOKEN", "env-token")
		c := &system.Config{Ops: system.OpsConfig{TokenEnv: "AF_TEST_TOKEN"}}
		if got := c.Token(); got != "env-token" {
			t.Fatalf("Token = %q", got)
		}
	})
	t.Run("the defaults hold no token", func(t *testing.T) {
		c := system.Default()
		c.Getenv = func(string) string { return "" }
		if got := c.Token(); got != "" {
			t.Fatalf("Default().Token = %q", got)
		}
	})
}

func TestConfig_Clone(t *testing.T) {
	f, err := system.Parse([]byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Clone()
	c.Breakers.Named["validator"] = breaker.Config{}
	c.Health.Weights["payments"] = 1
	c.Recovery.Policies["x"] = recovery.Policy{}
	c.Ops.ReadyStatuses[0] = health.Critical
	if f.Breakers.Named["validator"].Buckets != 5 || f.Health.Weights["payments"] != 3 ||
		len(f.Recovery.Policies) != 1 || f.Ops.ReadyStatuses[0] != health.Healthy {
		t.Fatal("Clone shares state with the original")
	}
}

// TestExampleFile keeps the example configuration in examples/ valid.
func TestExampleFile(t *testing.T) {
	c, err := system.Load("../examples/antifragile.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BreakerConfig("payments"); got.FailureRate != 0.5 || got.MinimumCalls != 20 {
		t.Fatalf("payments breaker = %+v", got)
	}
}

// TestConfig_JSONRoundTrip: the file form written by MarshalJSON parses
// back to the same Config.
func TestConfig_JSONRoundTrip(t *testing.T) {
	f, err := system.Parse([]byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	g, err := system.Parse(b)
	if err != nil {
		t.Fatalf("Parse of %s: %v", b, err)
	}
	again, _ := g.MarshalJSON()
	if string(again) != string(b) {
		t.Fatalf("round trip changed the document:\n%s\n%s", b, again)
	}
}
