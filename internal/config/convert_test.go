package config_test

import (
	"context"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/config"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestFile_converters(t *testing.T) {
	f, err := config.Parse([]byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("breaker configs", func(t *testing.T) {
		v := f.BreakerConfig("validator")
		if v.Window != breaker.TimeWindow || v.WindowDuration != 10*time.Second || v.Buckets != 5 || v.FailureRate != 0.5 || v.ConsecutiveFailures != 3 {
			t.Errorf("validator = %+v", v)
		}
		if err := v.Validate(); err != nil {
			t.Error(err)
		}
		rc := f.RegistryConfig()
		if rc.Default.OpenTimeout != 5*time.Second || rc.Default.Window != breaker.CountWindow {
			t.Errorf("registry default = %+v", rc.Default)
		}
		if _, err := breaker.NewRegistry(rc); err != nil {
			t.Error(err)
		}
	})
	t.Run("health config", func(t *testing.T) {
		h := f.HealthConfig()
		if h.CheckInterval != 250*time.Millisecond || h.DegradedThreshold != 0.8 || h.CriticalThreshold != 0.4 || h.Weights["payments"] != 3 {
			t.Errorf("health = %+v", h)
		}
		h.Weights["payments"] = 9
		if f.Health.Weights["payments"] != 3 {
			t.Error("HealthConfig shares its Weights map with the File")
		}
		agg, err := health.New(f.HealthConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = agg.Close(context.Background())
	})
	t.Run("recovery config and policies", func(t *testing.T) {
		r := f.RecoveryConfig()
		if !r.Watch || r.MaxConcurrent != 2 || r.MaxRestarts != 3 || r.RestartWindow != time.Minute ||
			r.DefaultPolicy.InitialDelay != 100*time.Millisecond || r.DefaultPolicy.Jitter != 0.1 {
			t.Errorf("recovery = %+v", r)
		}
		p := f.Policies()["validator"]
		if p.Strategy != recovery.LinearBackoff || p.Priority != 1 || p.MaxDelay != 2*time.Second {
			t.Errorf("validator policy = %+v", p)
		}
		reg, _ := breaker.NewRegistry(f.RegistryConfig())
		o, err := recovery.New(r, reg)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range f.Policies() {
			if err := o.SetPolicy(name, p); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("chaos config", func(t *testing.T) {
		c := f.ChaosConfig()
		if c.Seed != 42 || c.MaxDuration != 2*time.Minute || c.MemoryCap != 128<<20 || c.DiskIO.Dir != "/tmp" ||
			c.DiskIO.MaxBytes != 1<<20 || c.NetworkBandwidth != 1e6 || c.StopCheckInterval != 50*time.Millisecond {
			t.Errorf("chaos = %+v", c)
		}
		e, err := chaos.New(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = e.Close(context.Background())
	})
	t.Run("meter config and sink", func(t *testing.T) {
		m := f.MeterConfig()
		if m.BatchSize != 10 || m.FlushInterval != 100*time.Millisecond || m.MaxQueueSize != 1000 ||
			m.Retry.Initial != 10*time.Millisecond || m.Retry.MaxAttempts != 5 || m.Sink != nil {
			t.Errorf("meter = %+v", m)
		}
		if _, err := metering.New(m); err != nil {
			t.Error(err)
		}
		mc := f.MemoryConfig()
		if mc.Window != time.Minute || mc.MaxWindows != 60 {
			t.Errorf("memory = %+v", mc)
		}
		st, err := f.SinkTarget()
		if err != nil || st.Kind != config.SinkFile || st.Path != "/tmp/usage.jsonl" {
			t.Errorf("sink = %+v, %v", st, err)
		}
	})
	t.Run("bus config", func(t *testing.T) {
		b := f.BusConfig()
		if b.MailboxSize != 64 || b.PublishTimeout != 5*time.Second {
			t.Errorf("bus = %+v", b)
		}
		reg, _ := breaker.NewRegistry(f.RegistryConfig())
		b.Registry = reg
		if _, err := bus.New(b); err != nil {
			t.Error(err)
		}
	})
}

func TestFile_zeroValue(t *testing.T) {
	var f config.File
	if err := f.Validate(); err != nil {
		t.Fatalf("the zero File is invalid: %v", err)
	}
	if f.ListenAddr() != config.DefaultListen || f.TokenEnvName() != config.DefaultTokenEnv {
		t.Errorf("ListenAddr = %q, TokenEnvName = %q", f.ListenAddr(), f.TokenEnvName())
	}
	if st, err := f.SinkTarget(); err != nil || st.Kind != config.SinkMemory {
		t.Errorf("SinkTarget = %+v, %v", st, err)
	}
}

func TestFile_Token(t *testing.T) {
	env := map[string]string{"ANTIFRAGILE_TOKEN": "from-default-env", "MY_TOKEN": "from-my-env"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		ops  config.Ops
		want string
	}{
		{"the file's token wins", config.Ops{Token: "from-file", TokenEnv: "MY_TOKEN"}, "from-file"},
		{"else the named variable", config.Ops{TokenEnv: "MY_TOKEN"}, "from-my-env"},
		{"else ANTIFRAGILE_TOKEN", config.Ops{}, "from-default-env"},
		{"an unset variable means no token", config.Ops{TokenEnv: "UNSET"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &config.File{Ops: tt.ops}
			if got := f.Token(getenv); got != tt.want {
				t.Fatalf("Token = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("nil getenv reads the environment", func(t *testing.T) {
		t.Setenv("AF_TEST_TOKEN", "env-token")
		f := &config.File{Ops: config.Ops{TokenEnv: "AF_TEST_TOKEN"}}
		if got := f.Token(nil); got != "env-token" {
			t.Fatalf("Token = %q", got)
		}
	})
	t.Run("the defaults hold no token", func(t *testing.T) {
		if got := config.Default().Token(func(string) string { return "" }); got != "" {
			t.Fatalf("Default().Token = %q", got)
		}
	})
}

func TestFile_Clone(t *testing.T) {
	f, err := config.Parse([]byte(fullDoc))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Clone()
	c.Breakers.Named["validator"] = config.Breaker{}
	c.Health.Weights["payments"] = 1
	c.Recovery.Policies["x"] = config.Policy{}
	c.Ops.ReadyStatuses[0] = health.Critical
	if f.Breakers.Named["validator"].Buckets != 5 || f.Health.Weights["payments"] != 3 ||
		len(f.Recovery.Policies) != 1 || f.Ops.ReadyStatuses[0] != health.Healthy {
		t.Fatal("Clone shares state with the original")
	}
}
