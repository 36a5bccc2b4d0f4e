package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
)

func TestNew(t *testing.T) {
	t.Run("accepts the zero config", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		cfg := e.Config()
		if cfg.MaxDuration != 300*time.Second || cfg.MemoryCap != 256<<20 || cfg.StopCheckInterval != 100*time.Millisecond {
			t.Fatalf("defaults = %+v", cfg)
		}
		if e.ConstitutionalHash() != antifragile.ConstitutionalHash {
			t.Fatal("hash not defaulted")
		}
	})
	cases := []struct {
		name  string
		cfg   chaos.Config
		field string
	}{
		{"a max duration above 300s", chaos.Config{MaxDuration: 301 * time.Second}, "max_duration"},
		{"a negative max duration", chaos.Config{MaxDuration: -1}, "max_duration"},
		{"a negative memory cap", chaos.Config{MemoryCap: -1}, "memory_cap_bytes"},
		{"a negative disk rate", chaos.Config{DiskIO: chaos.DiskIOConfig{BytesPerSecond: -1}}, "disk_io.bytes_per_second"},
		{"a negative disk size", chaos.Config{DiskIO: chaos.DiskIOConfig{MaxBytes: -1}}, "disk_io.max_bytes"},
		{"a negative bandwidth", chaos.Config{NetworkBandwidth: -1}, "network_bandwidth"},
		{"a stop check interval above 100ms", chaos.Config{StopCheckInterval: 101 * time.Millisecond}, "stop_check_interval"},
		{"a stop condition without check", chaos.Config{StopConditions: []chaos.StopCondition{{Name: "x"}}}, "stop_conditions[0]"},
	}
	for _, c := range cases {
		t.Run("rejects "+c.name, func(t *testing.T) {
			_, err := chaos.New(c.cfg, nil)
			if got := fieldsOf(err); !slices.Equal(got, []string{c.field}) {
				t.Fatalf("New() = %v, want a validation error on %q", err, c.field)
			}
		})
	}
	t.Run("rejects a wrong hash", func(t *testing.T) {
		_, err := chaos.New(chaos.Config{ConstitutionalHash: "x"}, nil)
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("New() = %v", err)
		}
	})
}

func TestEngine_Inject(t *testing.T) {
	t.Run("caps a 500s duration to 300s and reports it", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		got := mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, 500*time.Second))
		if got.Duration != 300*time.Second || got.CappedFrom != 500*time.Second {
			t.Fatalf("Duration = %v, CappedFrom = %v", got.Duration, got.CappedFrom)
		}
		if m := e.Metrics(); m.DurationsCapped != 1 {
			t.Fatalf("DurationsCapped = %d", m.DurationsCapped)
		}
	})
	t.Run("caps to a lowered MaxDuration", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MaxDuration: time.Minute}, nil)
		got := mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, 2*time.Minute))
		if got.Duration != time.Minute || got.CappedFrom != 2*time.Minute {
			t.Fatalf("Duration = %v, CappedFrom = %v", got.Duration, got.CappedFrom)
		}
	})
	t.Run("does not cap a duration within the maximum", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		got := mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, 300*time.Second))
		if got.Duration != 300*time.Second || got.CappedFrom != 0 {
			t.Fatalf("Duration = %v, CappedFrom = %v", got.Duration, got.CappedFrom)
		}
	})
	t.Run("rejects an invalid scenario with its field", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		_, err := e.InjectErrors("db", 1.5, nil, time.Second)
		if got := fieldsOf(err); !slices.Equal(got, []string{"error_rate"}) {
			t.Fatalf("Inject() = %v", err)
		}
		if len(e.Active()) != 0 {
			t.Fatal("an invalid scenario became active")
		}
	})
	t.Run("sets CreatedAt and Active and copies the blast radius", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			radius := []string{"a", "b"}
			got, err := e.InjectLatency("a", time.Second, time.Minute, radius...)
			if err != nil {
				t.Fatal(err)
			}
			radius[1] = "zzz"
			if !got.Active || !got.CreatedAt.Equal(time.Now()) || !got.ExpiresAt().Equal(time.Now().Add(time.Minute)) {
				t.Fatalf("got %+v", got)
			}
			if e.Latency("b") != time.Second || e.Latency("zzz") != 0 {
				t.Fatal("the engine shares the caller's blast radius")
			}
			if l, ok := e.Lookup(got.Name); !ok || !equalScenarios(l, got) {
				t.Fatalf("Lookup = %+v, %v", l, ok)
			}
		})
	})
	t.Run("lists active scenarios by name", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.TimeoutScenario("b", time.Minute))
		mustInject(t, e, chaos.PartitionScenario("a", time.Minute))
		var names []string
		for _, s := range e.Active() {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"partition_a", "timeout_b"}) {
			t.Fatalf("Active() names = %q", names)
		}
		if m := e.Metrics(); m.ActiveScenarios != 2 || m.ScenariosRun != 2 {
			t.Fatalf("metrics = %+v", m)
		}
	})
}

func TestEngine_duration(t *testing.T) {
	t.Run("a scenario deactivates itself when its duration ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			sub := e.Subscribe(0)
			defer sub.Close()
			mustInject(t, e, chaos.LatencyScenario("db", time.Second, 10*time.Second))
			time.Sleep(10*time.Second - time.Nanosecond)
			if e.Latency("db") != time.Second || len(e.Active()) != 1 {
				t.Fatal("scenario ended early")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if e.Latency("db") != 0 || len(e.Active()) != 0 {
				t.Fatal("scenario still active after its duration")
			}
			want := []evKey{{"latency_db_1000ms", chaos.EventStarted, chaos.ReasonInjected}, {"latency_db_1000ms", chaos.EventEnded, chaos.ReasonExpired}}
			evs := drain(sub)
			if got := keys(evs); !slices.Equal(got, want) {
				t.Fatalf("events = %v, want %v", got, want)
			}
			if d := evs[1].At.Sub(evs[0].At); d != 10*time.Second {
				t.Fatalf("ended after %v", d)
			}
		})
	})
	t.Run("re-injecting a name replaces the scenario and its timer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			sub := e.Subscribe(0)
			defer sub.Close()
			s := chaos.Scenario{Name: "slow", Type: chaos.TypeLatency, Target: "db", Delay: time.Second, Duration: 10 * time.Second}
			mustInject(t, e, s)
			time.Sleep(5 * time.Second)
			s.Delay = 2 * time.Second
			mustInject(t, e, s)
			time.Sleep(5 * time.Second) // the first scenario's timer would fire now
			synctest.Wait()
			if got := e.Latency("db"); got != 2*time.Second {
				t.Fatalf("after the old timer: Latency = %v, want the new scenario's 2s", got)
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if got := e.Latency("db"); got != 0 {
				t.Fatalf("after the new timer: Latency = %v", got)
			}
			want := []evKey{
				{"slow", chaos.EventStarted, chaos.ReasonInjected},
				{"slow", chaos.EventEnded, chaos.ReasonReplaced},
				{"slow", chaos.EventStarted, chaos.ReasonInjected},
				{"slow", chaos.EventEnded, chaos.ReasonExpired},
			}
			if got := keys(drain(sub)); !slices.Equal(got, want) {
				t.Fatalf("events = %v, want %v", got, want)
			}
		})
	})
}

func TestEngine_Deactivate(t *testing.T) {
	e := newEngine(t, chaos.Config{}, nil)
	sub := e.Subscribe(0)
	defer sub.Close()
	mustInject(t, e, chaos.PartitionScenario("db", time.Minute))
	if !e.Partitioned("db") {
		t.Fatal("not partitioned")
	}
	t.Run("ends an active scenario", func(t *testing.T) {
		if !e.Deactivate("partition_db") {
			t.Fatal("Deactivate() = false")
		}
		if e.Partitioned("db") || len(e.Active()) != 0 {
			t.Fatal("still active")
		}
	})
	t.Run("reports an unknown name", func(t *testing.T) {
		if e.Deactivate("partition_db") {
			t.Fatal("Deactivate() = true for an inactive scenario")
		}
	})
	t.Run("publishes the reason", func(t *testing.T) {
		evs := drain(sub)
		if len(evs) != 2 || evs[1].Reason != chaos.ReasonDeactivated || evs[1].Type != chaos.TypeNetworkPartition || evs[1].Target != "db" {
			t.Fatalf("events = %+v", evs)
		}
	})
}

func TestEngine_ForceBreakerOpen(t *testing.T) {
	t.Run("forces the breaker open and releases it at the end", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			e := newEngine(t, chaos.Config{}, reg)
			s, err := e.ForceBreakerOpen("payments", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != "circuit_open_payments" {
				t.Fatalf("name = %q", s.Name)
			}
			b, ok := reg.Get("payments")
			if !ok || b.State() != breaker.ForcedOpen {
				t.Fatalf("breaker = %v, %v", b, ok)
			}
			time.Sleep(time.Minute)
			synctest.Wait()
			if b.State() != breaker.Closed {
				t.Fatalf("state after the scenario = %v", b.State())
			}
			if m := e.Metrics(); m.BreakersForced != 1 {
				t.Fatalf("BreakersForced = %d", m.BreakersForced)
			}
		})
	})
	t.Run("forces every breaker of the blast radius", func(t *testing.T) {
		reg := newRegistry(t)
		for _, n := range []string{"a", "b"} {
			if _, err := reg.GetOrCreate(n, breaker.Config{}); err != nil {
				t.Fatal(err)
			}
		}
		e := newEngine(t, chaos.Config{}, reg)
		mustInject(t, e, chaos.BreakerScenario("a", time.Minute, "b"))
		for _, n := range []string{"a", "b"} {
			if b, _ := reg.Get(n); b == nil || b.State() != breaker.ForcedOpen {
				t.Fatalf("breaker %q not forced", n)
			}
		}
		e.Deactivate("circuit_open_a")
		for _, n := range []string{"a", "b"} {
			if b, _ := reg.Get(n); b.State() != breaker.Closed {
				t.Fatalf("breaker %q not released", n)
			}
		}
	})
	t.Run("leaves a breaker an operator forced open", func(t *testing.T) {
		reg := newRegistry(t)
		b, _ := reg.GetOrCreate("payments", breaker.Config{})
		b.ForceOpen()
		e := newEngine(t, chaos.Config{}, reg)
		mustInject(t, e, chaos.BreakerScenario("payments", time.Minute))
		e.Deactivate("circuit_open_payments")
		if b.State() != breaker.ForcedOpen {
			t.Fatalf("state = %v, want the operator's forced_open", b.State())
		}
		if m := e.Metrics(); m.BreakersForced != 0 {
			t.Fatalf("BreakersForced = %d", m.BreakersForced)
		}
	})
	t.Run("keeps a breaker forced while another scenario forces it", func(t *testing.T) {
		reg := newRegistry(t)
		e := newEngine(t, chaos.Config{}, reg)
		mustInject(t, e, chaos.BreakerScenario("a", time.Minute))
		mustInject(t, e, chaos.BreakerScenario("b", time.Minute, "a"))
		a, _ := reg.Get("a")
		e.Deactivate("circuit_open_a")
		if a.State() != breaker.ForcedOpen {
			t.Fatal("released while circuit_open_b still forces it")
		}
		e.Deactivate("circuit_open_b")
		if a.State() != breaker.Closed {
			t.Fatalf("state = %v after both ended", a.State())
		}
	})
	t.Run("replacing the scenario does not flap the breaker", func(t *testing.T) {
		reg := newRegistry(t)
		e := newEngine(t, chaos.Config{}, reg)
		mustInject(t, e, chaos.BreakerScenario("a", time.Minute))
		sub := reg.Subscribe(0)
		defer sub.Close()
		mustInject(t, e, chaos.BreakerScenario("a", 2*time.Minute))
		select {
		case ev := <-sub.C:
			t.Fatalf("breaker event %+v on replacement", ev)
		default:
		}
		if a, _ := reg.Get("a"); a.State() != breaker.ForcedOpen {
			t.Fatal("not forced after replacement")
		}
	})
	t.Run("needs a registry", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		if _, err := e.ForceBreakerOpen("a", time.Minute); !errors.Is(err, chaos.ErrNoRegistry) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEngine_EmergencyStop(t *testing.T) {
	reg := newRegistry(t)
	e := newEngine(t, chaos.Config{}, reg)
	pool := e.Pool("db", 4)
	sub := e.Subscribe(0)
	defer sub.Close()
	mustInject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
	mustInject(t, e, chaos.ErrorScenario("db", 1, nil, time.Minute))
	mustInject(t, e, chaos.BreakerScenario("payments", time.Minute))
	mustInject(t, e, chaos.ResourceScenario(chaos.ResourceConnections, 1, "db", time.Minute))
	mustInject(t, e, chaos.ResourceScenario(chaos.ResourceCPU, 0.1, "host", time.Minute))
	b, _ := reg.Get("payments")

	e.EmergencyStop()

	t.Run("clears every scenario", func(t *testing.T) {
		if n := len(e.Active()); n != 0 {
			t.Fatalf("%d scenarios active", n)
		}
		if e.Latency("db") != 0 || e.Error("db") != nil {
			t.Fatal("faults still injected")
		}
		var ended int
		for _, ev := range drain(sub) {
			if ev.Kind == chaos.EventEnded {
				if ev.Reason != chaos.ReasonEmergencyStop {
					t.Errorf("event %+v", ev)
				}
				ended++
			}
		}
		if ended != 5 {
			t.Fatalf("%d ended events, want 5", ended)
		}
	})
	t.Run("releases forced breakers", func(t *testing.T) {
		if b.State() != breaker.Closed {
			t.Fatalf("breaker state = %v", b.State())
		}
	})
	t.Run("gives back every resource", func(t *testing.T) {
		r := e.Metrics().Resources
		if r.CPUGoroutines != 0 || r.ConnectionsOccupied != 0 || pool.Available() != 4 {
			t.Fatalf("resources = %+v, pool available %d", r, pool.Available())
		}
	})
	t.Run("refuses injections until Reset", func(t *testing.T) {
		if !e.Stopped() {
			t.Fatal("Stopped() = false")
		}
		if _, err := e.InjectLatency("db", time.Second, time.Minute); !errors.Is(err, chaos.ErrEmergencyStop) {
			t.Fatalf("Inject() = %v", err)
		}
		m := e.Metrics()
		if !m.EmergencyStop || m.StopReason != "emergency stop" {
			t.Fatalf("metrics = %+v", m)
		}
		e.Reset()
		if e.Stopped() || e.Metrics().StopReason != "" {
			t.Fatal("still stopped after Reset")
		}
		mustInject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
		if e.Latency("db") != time.Second {
			t.Fatal("no latency after Reset")
		}
	})
	t.Run("is idempotent", func(t *testing.T) {
		e.EmergencyStop()
		e.EmergencyStop()
		if !e.Stopped() || len(e.Active()) != 0 {
			t.Fatal("not stopped")
		}
	})
}

func TestEngine_stopConditions(t *testing.T) {
	t.Run("a scenario's stop condition aborts the experiment", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			e := newEngine(t, chaos.Config{}, reg)
			startRun(t, e)
			sub := e.Subscribe(0)
			defer sub.Close()
			var critical atomic.Bool
			s := chaos.BreakerScenario("payments", time.Minute)
			s.StopConditions = []chaos.StopCondition{{Name: "health is CRITICAL", Check: critical.Load}}
			mustInject(t, e, s)
			mustInject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
			time.Sleep(time.Second)
			if e.Stopped() {
				t.Fatal("stopped while the condition does not hold")
			}
			critical.Store(true)
			start := time.Now()
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if !e.Stopped() {
				t.Fatalf("not stopped %v after the condition held", time.Since(start))
			}
			if len(e.Active()) != 0 || e.Latency("db") != 0 {
				t.Fatal("scenarios survive the stop condition")
			}
			if b, _ := reg.Get("payments"); b.State() != breaker.Closed {
				t.Fatalf("breaker %v", b.State())
			}
			reason := e.Metrics().StopReason
			if !strings.Contains(reason, "health is CRITICAL") || !strings.Contains(reason, "circuit_open_payments") {
				t.Fatalf("StopReason = %q", reason)
			}
			for _, ev := range drain(sub) {
				if ev.Kind == chaos.EventEnded && ev.Reason != chaos.ReasonStopCondition {
					t.Fatalf("event %+v", ev)
				}
			}
			if _, err := e.InjectLatency("db", time.Second, time.Minute); !errors.Is(err, chaos.ErrEmergencyStop) {
				t.Fatalf("Inject after abort = %v", err)
			}
		})
	})
	t.Run("an engine stop condition is checked every interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var critical atomic.Bool
			var checks atomic.Int64
			cond := chaos.StopCondition{Name: "error budget spent", Check: func() bool { checks.Add(1); return critical.Load() }}
			e := newEngine(t, chaos.Config{StopConditions: []chaos.StopCondition{cond}, StopCheckInterval: 50 * time.Millisecond}, nil)
			startRun(t, e)
			time.Sleep(time.Second + 25*time.Millisecond) // between two ticks
			if checks.Load() != 0 {
				t.Fatal("conditions checked with nothing active")
			}
			mustInject(t, e, chaos.TimeoutScenario("db", time.Minute))
			before := checks.Load() // Inject checked once
			time.Sleep(time.Second)
			synctest.Wait()
			if got := checks.Load() - before; got != 20 {
				t.Fatalf("%d checks in 1s at 50ms", got)
			}
			critical.Store(true)
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			if !e.Stopped() || !strings.Contains(e.Metrics().StopReason, "error budget spent") {
				t.Fatalf("Stopped = %v, reason %q", e.Stopped(), e.Metrics().StopReason)
			}
		})
	})
	t.Run("a condition that already holds refuses the injection", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			startRun(t, e)
			s := chaos.TimeoutScenario("db", time.Minute)
			s.StopConditions = []chaos.StopCondition{{Name: "always", Check: func() bool { return true }}}
			if _, err := e.Inject(s); !errors.Is(err, chaos.ErrStopCondition) {
				t.Fatalf("Inject() = %v", err)
			}
			if e.Stopped() || len(e.Active()) != 0 {
				t.Fatal("refused injection changed the engine")
			}
		})
	})
	t.Run("a panicking condition holds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			startRun(t, e)
			var boom atomic.Bool
			s := chaos.TimeoutScenario("db", time.Minute)
			s.StopConditions = []chaos.StopCondition{{Name: "probe", Check: func() bool {
				if boom.Load() {
					panic("probe failed")
				}
				return false
			}}}
			mustInject(t, e, s)
			boom.Store(true)
			if !e.CheckStopConditions() || !e.Stopped() {
				t.Fatal("a panicking condition did not stop the engine")
			}
		})
	})
	t.Run("guarded scenarios need Run", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		s := chaos.TimeoutScenario("db", time.Minute)
		s.StopConditions = []chaos.StopCondition{{Name: "x", Check: func() bool { return false }}}
		if _, err := e.Inject(s); !errors.Is(err, chaos.ErrNotRunning) {
			t.Fatalf("Inject() = %v", err)
		}
		mustInject(t, e, chaos.TimeoutScenario("db", time.Minute)) // unguarded is fine
	})
	t.Run("guarded scenarios end when Run returns", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			sub := e.Subscribe(0)
			defer sub.Close()
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- e.Run(ctx) }()
			synctest.Wait()
			s := chaos.TimeoutScenario("guarded", time.Minute)
			s.StopConditions = []chaos.StopCondition{{Name: "x", Check: func() bool { return false }}}
			mustInject(t, e, s)
			mustInject(t, e, chaos.TimeoutScenario("free", time.Minute))
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if _, ok := e.Lookup("timeout_guarded"); ok {
				t.Fatal("guarded scenario outlived Run")
			}
			if _, ok := e.Lookup("timeout_free"); !ok {
				t.Fatal("unguarded scenario ended with Run")
			}
			evs := drain(sub)
			if last := evs[len(evs)-1]; last.Reason != chaos.ReasonUnwatched || last.Scenario != "timeout_guarded" {
				t.Fatalf("last event %+v", last)
			}
		})
	})
}

func TestEngine_Run(t *testing.T) {
	t.Run("refuses a second Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			startRun(t, e)
			if err := e.Run(t.Context()); !errors.Is(err, chaos.ErrRunning) {
				t.Fatalf("Run() = %v", err)
			}
		})
	})
	t.Run("returns when the engine closes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e, _ := chaos.New(chaos.Config{}, nil)
			done := make(chan error)
			go func() { done <- e.Run(context.Background()) }()
			synctest.Wait()
			if err := e.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if err := e.Run(context.Background()); !errors.Is(err, chaos.ErrClosed) {
				t.Fatalf("Run after Close = %v", err)
			}
		})
	})
}

func TestEngine_Close(t *testing.T) {
	reg := newRegistry(t)
	e, _ := chaos.New(chaos.Config{}, reg)
	mustInject(t, e, chaos.BreakerScenario("a", time.Minute))
	mustInject(t, e, chaos.ResourceScenario(chaos.ResourceCPU, 0.2, "host", time.Minute))
	mustInject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Run("ends everything and releases breakers", func(t *testing.T) {
		if len(e.Active()) != 0 || e.Latency("db") != 0 || e.Metrics().Resources.CPUGoroutines != 0 {
			t.Fatal("still active after Close")
		}
		if b, _ := reg.Get("a"); b.State() != breaker.Closed {
			t.Fatal("breaker still forced")
		}
	})
	t.Run("refuses injections", func(t *testing.T) {
		if _, err := e.InjectLatency("db", time.Second, time.Minute); !errors.Is(err, chaos.ErrClosed) {
			t.Fatalf("Inject() = %v", err)
		}
	})
	t.Run("is idempotent", func(t *testing.T) {
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEngine_With(t *testing.T) {
	t.Run("activates the scenario only while fn runs", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		boom := errors.New("boom")
		err := e.With(t.Context(), chaos.PartitionScenario("db", time.Minute), func(ctx context.Context) error {
			if !errors.Is(e.Apply(ctx, "db"), chaos.ErrPartitioned) {
				t.Error("not partitioned inside With")
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("With() = %v, want fn's error", err)
		}
		if e.Partitioned("db") {
			t.Fatal("still partitioned after With")
		}
	})
	t.Run("deactivates when fn panics", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		func() {
			defer func() { _ = recover() }()
			_ = e.With(t.Context(), chaos.PartitionScenario("db", time.Minute), func(context.Context) error { panic("x") })
		}()
		if e.Partitioned("db") {
			t.Fatal("still partitioned after a panic")
		}
	})
	t.Run("does not run fn when the injection fails", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		ran := false
		err := e.With(t.Context(), chaos.Scenario{}, func(context.Context) error { ran = true; return nil })
		if err == nil || ran {
			t.Fatalf("With() = %v, ran = %v", err, ran)
		}
	})
	t.Run("refuses a nil fn without injecting", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		err := e.With(t.Context(), chaos.PartitionScenario("db", time.Minute), nil)
		var ve *chaos.ValidationError
		if !errors.As(err, &ve) || ve.Field != "fn" || !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("With(nil) = %v, want a *ValidationError for fn wrapping ErrNil", err)
		}
		if e.Partitioned("db") || len(e.Active()) != 0 {
			t.Fatal("With(nil) injected its scenario")
		}
	})
	t.Run("leaves a scenario that replaced its own", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		s := chaos.LatencyScenario("db", time.Second, time.Minute)
		_ = e.With(t.Context(), s, func(context.Context) error {
			s.Delay = 2 * time.Second
			mustInject(t, e, s)
			return nil
		})
		if e.Latency("db") != 2*time.Second {
			t.Fatal("With ended the scenario that replaced its own")
		}
	})
}

func TestEngine_Subscribe(t *testing.T) {
	e := newEngine(t, chaos.Config{}, nil)
	sub := e.Subscribe(1)
	mustInject(t, e, chaos.PartitionScenario("a", time.Minute))
	mustInject(t, e, chaos.PartitionScenario("b", time.Minute))
	t.Run("drops and counts events beyond the buffer", func(t *testing.T) {
		if got := len(drain(sub)); got != 1 || sub.Dropped() != 1 {
			t.Fatalf("received %d, dropped %d", got, sub.Dropped())
		}
	})
	t.Run("delivers nothing after Close", func(t *testing.T) {
		sub.Close()
		sub.Close()
		e.Deactivate("partition_a")
		if got := len(drain(sub)); got != 0 || sub.Dropped() != 1 {
			t.Fatalf("received %d, dropped %d after Close", got, sub.Dropped())
		}
	})
}

func TestMetrics_MarshalJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.LatencyScenario("db", 1500*time.Millisecond, time.Minute))
		e.Latency("db")
		data, err := json.Marshal(e.Metrics())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"latency_injected":"1.5s"`, `"latency_injections":1`, `"cpu_busy":"0s"`,
			`"active_scenarios":1`, `"emergency_stop":false`, `"constitutional_hash":"cdd01ef066bc6cf2"`} {
			if !strings.Contains(string(data), want) {
				t.Errorf("%s lacks %s", data, want)
			}
		}
	})
}
