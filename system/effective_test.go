package system_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/system"
)

// TestConfig_Effective: the configuration Effective shows is the one the
// built components run with, field for field; defaults are written out and
// set values kept.
func TestConfig_Effective(t *testing.T) {
	for name, cfg := range map[string]*system.Config{"zero": {}, "defaults": system.Default(), "full document": mustParse(t, fullDoc)} {
		t.Run(name, func(t *testing.T) {
			cfg.Metering.Sink = "memory"
			eff := cfg.Effective()
			sys := newSystem(t, *cfg)
			checkEffective(t, eff, sys)
		})
	}
	t.Run("set values are kept", func(t *testing.T) {
		eff := mustParse(t, fullDoc).Effective()
		if eff.Ops.ShutdownTimeout != 3*time.Second || eff.Chaos.Engine.MaxDuration != 2*time.Minute || eff.Bus.MailboxSize != 64 ||
			eff.Metering.File.MaxFiles != 2 || eff.Metering.Memory.MaxWindows != 60 || eff.Recovery.MaxConcurrent != 2 {
			t.Fatalf("a set value changed: %+v", eff)
		}
	})
	t.Run("the zero config shows every default", func(t *testing.T) {
		eff := (&system.Config{}).Effective()
		want := map[string]any{
			"ops.listen": eff.Ops.Listen == system.DefaultListen, "ops.token_env": eff.Ops.TokenEnv == system.DefaultTokenEnv,
			"ops.read_token_env": eff.Ops.ReadTokenEnv == system.DefaultReadTokenEnv,
			"ops.allowed_hosts":  len(eff.Ops.AllowedHosts) == 3, "ops.ready_statuses": len(eff.Ops.ReadyStatuses) == 2,
			"ops.max_body_bytes": eff.Ops.MaxBodyBytes == 1<<20, "ops.idle_timeout": eff.Ops.IdleTimeout == system.DefaultIdleTimeout,
			"ops.body_timeout": eff.Ops.BodyTimeout == system.DefaultBodyTimeout, "ops.max_connections": eff.Ops.MaxConnections == system.DefaultMaxConnections,
			"breakers.default.open_timeout": eff.Breakers.Default.OpenTimeout == breaker.DefaultOpenTimeout,
			"health.check_interval":         eff.Health.CheckInterval == health.DefaultCheckInterval,
			"chaos.max_duration":            eff.Chaos.Engine.MaxDuration == chaos.MaxDuration,
			"metering.flush_interval":       eff.Metering.Meter.FlushInterval == metering.DefaultFlushInterval,
			"metering.sink":                 eff.Metering.Sink == system.DefaultSink,
			"metering.close_timeout":        eff.Metering.CloseTimeout == system.DefaultCloseTimeout,
			"metering.spool_max_bytes":      eff.Metering.SpoolMaxBytes == metering.DefaultSpoolMaxBytes,
			"metering.memory.max_windows":   eff.Metering.Memory.MaxWindows == metering.DefaultMemoryWindows,
			"metering.file.max_files":       eff.Metering.File.MaxFiles == metering.DefaultFileMaxFiles,
			"metering.redis.max_len":        eff.Metering.Redis.MaxLen > 0,
			"bus.mailbox_size":              eff.Bus.MailboxSize > 0,
			"constitutional_hash":           eff.ConstitutionalHash == antifragile.ConstitutionalHash,
		}
		for field, ok := range want {
			if ok != true {
				t.Errorf("%s is not its default", field)
			}
		}
	})
	t.Run("it is valid, idempotent and leaves its receiver alone", func(t *testing.T) {
		cfg := mustParse(t, fullDoc)
		before, _ := json.Marshal(cfg)
		eff := cfg.Effective()
		if after, _ := json.Marshal(cfg); string(after) != string(before) {
			t.Fatal("Effective modified its receiver")
		}
		if err := eff.Validate(); err != nil {
			t.Fatalf("the effective config is invalid: %v", err)
		}
		data, _ := json.Marshal(eff)
		back, err := system.Parse(data)
		if err != nil {
			t.Fatalf("Parse of the effective config: %v", err)
		}
		again, _ := json.Marshal(back.Effective())
		if string(again) != string(data) {
			t.Fatalf("Effective is not idempotent:\n%s\n%s", data, again)
		}
	})
	t.Run("a meter in front of a spool flushes every 100ms", func(t *testing.T) {
		cfg := system.Config{Metering: system.MeteringConfig{Sink: "file:/tmp/x.jsonl", SpoolDir: "/tmp/spool"}}
		if got := cfg.Effective().Metering.Meter.FlushInterval; got != metering.SpoolFlushInterval {
			t.Fatalf("flush_interval = %v", got)
		}
	})
	t.Run("cluster mode off leaves the section alone", func(t *testing.T) {
		if eff := (&system.Config{}).Effective(); !reflect.DeepEqual(eff.Cluster, system.ClusterConfig{}) {
			t.Fatalf("cluster = %+v", eff.Cluster)
		}
		eff := (&system.Config{Cluster: system.ClusterConfig{URL: "nats://127.0.0.1:4222"}}).Effective()
		if eff.Cluster.Member.HeartbeatInterval == 0 || eff.Cluster.NATS.Timeout == 0 || eff.Cluster.NATS.URL != "" {
			t.Fatalf("cluster = %+v", eff.Cluster)
		}
	})
}

// checkEffective compares what eff says with what each component of sys
// was built with.
func checkEffective(t *testing.T, eff *system.Config, sys *system.System) {
	t.Helper()
	engine := sys.Chaos().Config()
	engine.StopConditions, engine.Logger = nil, nil // not data: the system hands its own logger
	if !reflect.DeepEqual(eff.Chaos.Engine, engine) {
		t.Errorf("chaos: shown %+v, runs %+v", eff.Chaos.Engine, engine)
	}
	shownHealth, runsHealth := eff.Health, sys.Health().Config()
	shownHealth.Weights, runsHealth.Weights = nil, nil // the aggregator keeps them apart
	runsHealth.Logger = nil                            // not data: the system hands its own logger
	if !reflect.DeepEqual(shownHealth, runsHealth) {
		t.Errorf("health: shown %+v, runs %+v", shownHealth, runsHealth)
	}
	for name, shown := range eff.Breakers.Named {
		b, ok := sys.Registry().Get(name)
		if !ok {
			t.Fatalf("no breaker %s", name)
		}
		runs := b.Config()
		runs.Name = ""
		shown.Classify, runs.Classify = nil, nil // a function: not comparable, not shown
		if !reflect.DeepEqual(shown, runs) {
			t.Errorf("breaker %s: shown %+v, runs %+v", name, shown, runs)
		}
	}
	for name, shown := range eff.Recovery.Policies {
		if runs := sys.Recovery().Policy(name); !reflect.DeepEqual(shown, runs) {
			t.Errorf("policy %s: shown %+v, runs %+v", name, shown, runs)
		}
	}
	if runs := sys.Recovery().Policy("some-service"); !reflect.DeepEqual(eff.Recovery.DefaultPolicy, runs) {
		t.Errorf("default policy: shown %+v, runs %+v", eff.Recovery.DefaultPolicy, runs)
	}
	if mc := sys.Usage().Config(); mc.MaxWindows != eff.Metering.Memory.MaxWindows || mc.MaxSeries != eff.Metering.Memory.MaxSeries {
		t.Errorf("memory sink: shown %+v, runs %+v", eff.Metering.Memory, mc)
	}
}

func mustParse(t *testing.T, doc string) *system.Config {
	t.Helper()
	c, err := system.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIssue14_strictTargets: chaos.strict_targets in the config file makes
// the system's engine refuse a fault on a target it has never seen, and
// accept one on a configured breaker.
func TestIssue14_strictTargets(t *testing.T) {
	sys := newSystem(t, *mustParse(t, `{"chaos":{"strict_targets":true},"breakers":{"named":{"payments":{}}}}`))
	if _, err := sys.Chaos().Inject(chaos.PartitionScenario("nosuchservice", time.Minute)); !errors.Is(err, chaos.ErrUnknownTarget) {
		t.Fatalf("Inject on an unknown target: %v", err)
	}
	if _, err := sys.Chaos().Inject(chaos.PartitionScenario("payments", time.Minute)); err != nil {
		t.Fatal(err)
	}
}
