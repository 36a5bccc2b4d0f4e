package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

func TestEngine_Known(t *testing.T) {
	t.Run("a name nothing carries is unknown", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, newRegistry(t))
		if e.Known("nosuchservice") {
			t.Fatal("Known(nosuchservice) = true")
		}
	})
	t.Run("a breaker of the registry is known", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, newRegistry(t))
		if !e.Known("payments") {
			t.Fatal("Known(payments) = false")
		}
	})
	t.Run("a pool of the engine is known", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		e.Pool("db-pool", 4)
		if !e.Known("db-pool") || e.Known("other-pool") {
			t.Fatal("Known does not follow the pools")
		}
	})
	ctx := context.Background()
	for name, call := range map[string]func(*chaos.Engine, string){
		"Apply":       func(e *chaos.Engine, s string) { _ = e.Apply(ctx, s) },
		"Latency":     func(e *chaos.Engine, s string) { e.Latency(s) },
		"Error":       func(e *chaos.Engine, s string) { _ = e.Error(s) },
		"Partitioned": func(e *chaos.Engine, s string) { e.Partitioned(s) },
		"TimesOut":    func(e *chaos.Engine, s string) { e.TimesOut(s) },
		"Bandwidth":   func(e *chaos.Engine, s string) { e.Bandwidth(s) },
	} {
		t.Run("a name "+name+" was asked about is known", func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			call(e, "checkout")
			if !e.Known("checkout") || e.Known("checkou") {
				t.Fatal("Known does not follow the hot path")
			}
		})
	}
	t.Run("a breaker the engine created for a scenario is not known", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, newRegistry(t))
		mustInject(t, e, chaos.BreakerScenario("typo", time.Minute))
		if e.Known("typo") {
			t.Fatal("Known(typo) = true: the scenario's own breaker counts")
		}
	})
	t.Run("the hot path remembers a bounded number of names", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		for i := range chaos.MaxSeenTargets + 500 {
			e.Latency(fmt.Sprintf("svc-%d", i))
		}
		known := 0
		for i := range chaos.MaxSeenTargets + 500 {
			if e.Known(fmt.Sprintf("svc-%d", i)) {
				known++
			}
		}
		if known != chaos.MaxSeenTargets {
			t.Fatalf("%d names known, want the first %d", known, chaos.MaxSeenTargets)
		}
		if !e.Known("svc-0") || e.Known(fmt.Sprintf("svc-%d", chaos.MaxSeenTargets+499)) {
			t.Fatal("the first names should stay, the last ones should not be remembered")
		}
	})
	t.Run("concurrent calls remember every name once", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					_ = e.Apply(ctx, fmt.Sprintf("svc-%d", (i+g*25)%300))
				}
			})
		}
		wg.Wait()
		for i := range 300 {
			if !e.Known(fmt.Sprintf("svc-%d", i)) {
				t.Fatalf("svc-%d unknown", i)
			}
		}
	})
}

// TestEngine_seenByAddress: the hot path's cache of names by the address of
// their bytes tells apart strings that start at the same address, and a
// name passed again (the cached path) stays known.
func TestEngine_seenByAddress(t *testing.T) {
	e := newEngine(t, chaos.Config{}, nil)
	long := strings.Repeat("x", 3) + "validator" // built at run time: its own bytes
	full, prefix := long[3:], long[3:8]          // "validator" and "valid" share their first byte's address
	for range 3 {
		_ = e.Error(full)
	}
	if !e.Known(full) {
		t.Fatal("a name checked three times is unknown")
	}
	if e.Known(prefix) {
		t.Fatal("a name never checked is known")
	}
	_ = e.Error(prefix) // same address, other length: must be noted, not taken from the cache
	if !e.Known(prefix) {
		t.Fatal("a name that starts where a cached one does was not noted")
	}
}

func TestEngine_CheckTargets(t *testing.T) {
	t.Run("names every unknown target and the field of the first", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, newRegistry(t))
		err := e.CheckTargets(chaos.LatencyScenario("a", time.Millisecond, time.Minute, "ghost", "payments", "phantom"))
		var ue *chaos.UnknownTargetError
		if !errors.As(err, &ue) || !errors.Is(err, chaos.ErrUnknownTarget) {
			t.Fatalf("CheckTargets = %v, want an *UnknownTargetError", err)
		}
		if fmt.Sprint(ue.Targets) != "[ghost phantom]" || ue.Field != "blast_radius[0]" {
			t.Fatalf("Targets %q, Field %q", ue.Targets, ue.Field)
		}
		if msg := err.Error(); !strings.Contains(msg, `"ghost", "phantom"`) || !strings.Contains(msg, "latency_a_1ms") {
			t.Fatalf("Error() = %q", msg)
		}
		if w := ue.Warnings(); len(w) != 2 || !strings.HasPrefix(w[0], `target "ghost" is unknown`) {
			t.Fatalf("Warnings() = %q", w)
		}
	})
	t.Run("the target field first", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		var ue *chaos.UnknownTargetError
		if err := e.CheckTargets(chaos.PartitionScenario("nosuchservice", time.Minute)); !errors.As(err, &ue) || ue.Field != "target" {
			t.Fatalf("CheckTargets = %v", err)
		}
	})
	t.Run("known targets pass", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, newRegistry(t))
		if err := e.CheckTargets(chaos.ErrorScenario("a", 0.5, nil, time.Minute, "b")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("process-wide faults are never refused", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		for _, r := range []chaos.ResourceType{chaos.ResourceCPU, chaos.ResourceMemory, chaos.ResourceDiskIO} {
			if err := e.CheckTargets(chaos.ResourceScenario(r, 0.1, "host", time.Minute)); err != nil {
				t.Errorf("%s: %v", r, err)
			}
		}
		if err := e.CheckTargets(chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0.5, "host", time.Minute)); err == nil {
			t.Error("network_bandwidth on an unknown target passed")
		}
	})
}

func TestEngine_Inject_strictTargets(t *testing.T) {
	e := newEngine(t, chaos.Config{StrictTargets: true}, newRegistry(t))
	if _, err := e.Inject(chaos.LatencyScenario("nosuchservice", time.Millisecond, time.Minute)); !errors.Is(err, chaos.ErrUnknownTarget) {
		t.Fatalf("Inject = %v, want ErrUnknownTarget", err)
	}
	if m := e.Metrics(); m.ScenariosRun != 0 || m.ActiveScenarios != 0 {
		t.Fatalf("a refused scenario ran: %+v", m)
	}
	mustInject(t, e, chaos.LatencyScenario("payments", time.Millisecond, time.Minute))
	e.Latency("late")
	mustInject(t, e, chaos.LatencyScenario("late", time.Millisecond, time.Minute))
}

func TestEngine_seenAllocatesNothing(t *testing.T) {
	e := newEngine(t, chaos.Config{}, nil)
	i := 0
	names := make([]string, 200)
	for j := range names {
		names[j] = fmt.Sprintf("svc-%d", j)
	}
	if n := testing.AllocsPerRun(100, func() {
		e.Latency(names[i%len(names)]) // new names, then seen ones
		i++
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

func TestScenario_CapNote(t *testing.T) {
	for _, tc := range []struct {
		asked, capped time.Duration
		want          string
	}{
		{10 * time.Minute, 5 * time.Minute, "capped from 10m to 5m"},
		{2 * time.Hour, 5 * time.Minute, "capped from 2h to 5m"},
		{90 * time.Minute, 90 * time.Second, "capped from 1h30m to 1m30s"},
		{0, 5 * time.Minute, ""},
	} {
		s := chaos.Scenario{Duration: tc.capped, CappedFrom: tc.asked}
		if got := s.CapNote(); got != tc.want {
			t.Errorf("CapNote(%v → %v) = %q, want %q", tc.asked, tc.capped, got, tc.want)
		}
	}
	e := newEngine(t, chaos.Config{}, nil)
	got := mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, 10*time.Minute))
	if got.CapNote() != "capped from 10m to 5m" {
		t.Fatalf("CapNote of an injected scenario = %q", got.CapNote())
	}
}
