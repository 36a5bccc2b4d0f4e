package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
)

func TestEngine_Latency(t *testing.T) {
	t.Run("admits the blast radius and nothing else", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.LatencyScenario("s1", time.Second, time.Minute, "s1", "s2", "s3"))
		for target, want := range map[string]time.Duration{"s1": time.Second, "s2": time.Second, "s3": time.Second, "s4": 0} {
			if got := e.Latency(target); got != want {
				t.Errorf("Latency(%q) = %v, want %v", target, got, want)
			}
		}
	})
	t.Run("an empty blast radius admits only the target", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.LatencyScenario("s1", time.Second, time.Minute))
		if e.Latency("s1") != time.Second || e.Latency("s2") != 0 {
			t.Fatal("wrong blast radius")
		}
	})
	t.Run("adds the delays of matching scenarios", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.LatencyScenario("db", 100*time.Millisecond, time.Minute))
		mustInject(t, e, chaos.LatencyScenario("cache", 50*time.Millisecond, time.Minute, "db"))
		if got := e.Latency("db"); got != 150*time.Millisecond {
			t.Fatalf("Latency = %v", got)
		}
		m := e.Metrics()
		if m.LatencyInjections != 1 || m.LatencyInjected != 150*time.Millisecond {
			t.Fatalf("metrics = %+v", m)
		}
	})
	t.Run("is zero with nothing active", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		if e.Latency("db") != 0 || e.Error("db") != nil || e.Partitioned("db") || e.TimesOut("db") {
			t.Fatal("fault with nothing active")
		}
		if _, ok := e.Bandwidth("db"); ok {
			t.Fatal("throttled with nothing active")
		}
	})
}

// rate counts the share of n calls of Error(target) that fail.
func rate(e *chaos.Engine, target string, n int) float64 {
	fails := 0
	for range n {
		if e.Error(target) != nil {
			fails++
		}
	}
	return float64(fails) / float64(n)
}

func TestEngine_Error(t *testing.T) {
	t.Run("a rate of 0.5 fails half of 10000 calls", func(t *testing.T) {
		e := newEngine(t, chaos.Config{Seed: 1}, nil)
		mustInject(t, e, chaos.ErrorScenario("db", 0.5, nil, time.Minute))
		if got := rate(e, "db", 10000); math.Abs(got-0.5) > 0.02 {
			t.Fatalf("rate = %v, want 0.5 ± 0.02", got)
		}
		if m := e.Metrics(); m.ErrorsInjected == 0 || m.ErrorsInjected > 10000 {
			t.Fatalf("ErrorsInjected = %d", m.ErrorsInjected)
		}
	})
	t.Run("an unseeded engine draws at the rate too", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ErrorScenario("db", 0.5, nil, time.Minute))
		// 10 sigma: this fails with probability ~1e-23.
		if got := rate(e, "db", 10000); math.Abs(got-0.5) > 0.05 {
			t.Fatalf("rate = %v", got)
		}
	})
	t.Run("rates 0.5 and 0.25 combine to 0.625", func(t *testing.T) {
		e := newEngine(t, chaos.Config{Seed: 7}, nil)
		mustInject(t, e, chaos.ErrorScenario("db", 0.5, nil, time.Minute))
		mustInject(t, e, chaos.ErrorScenario("db", 0.25, nil, time.Minute))
		if got := rate(e, "db", 10000); math.Abs(got-0.625) > 0.02 {
			t.Fatalf("rate = %v, want 0.625 ± 0.02", got)
		}
	})
	t.Run("rates 0 and 1 are exact", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ErrorScenario("never", 0, nil, time.Minute))
		mustInject(t, e, chaos.ErrorScenario("always", 1, nil, time.Minute))
		if rate(e, "never", 1000) != 0 || rate(e, "always", 1000) != 1 {
			t.Fatal("rate 0 or 1 is not exact")
		}
	})
	t.Run("a seed makes the draws repeatable", func(t *testing.T) {
		run := func(seed uint64) []bool {
			e := newEngine(t, chaos.Config{Seed: seed}, nil)
			mustInject(t, e, chaos.ErrorScenario("a", 0.5, nil, time.Minute))
			mustInject(t, e, chaos.ErrorScenario("b", 0.3, nil, time.Minute, "a"))
			mustInject(t, e, chaos.ErrorScenario("c", 0.1, nil, time.Minute))
			out := make([]bool, 0, 3000)
			for range 1000 {
				for _, target := range []string{"a", "b", "c"} {
					out = append(out, e.Error(target) != nil)
				}
			}
			return out
		}
		first, second, other := run(42), run(42), run(43)
		for i := range first {
			if first[i] != second[i] {
				t.Fatalf("draw %d differs between two runs with the same seed", i)
			}
		}
		same := 0
		for i := range first {
			if first[i] == other[i] {
				same++
			}
		}
		if same == len(first) {
			t.Fatal("another seed gives the same draws")
		}
	})
	t.Run("injected errors say where they come from", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ErrorScenario("db", 1, nil, time.Minute, "replica"))
		err := e.Error("replica")
		if !errors.Is(err, chaos.ErrInjected) {
			t.Fatalf("err = %v, want ErrInjected", err)
		}
		var ie *chaos.InjectedError
		if !errors.As(err, &ie) || ie.Scenario != "errors_db_1.0" || ie.Target != "replica" {
			t.Fatalf("InjectedError = %+v", ie)
		}
		if !strings.Contains(err.Error(), `"errors_db_1.0"`) {
			t.Fatalf("message %q does not name the scenario", err)
		}
	})
	t.Run("a scenario's own error is wrapped", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		custom := errors.New("connection reset")
		mustInject(t, e, chaos.ErrorScenario("db", 1, custom, time.Minute))
		err := e.Error("db")
		if !errors.Is(err, custom) || !errors.Is(err, chaos.ErrInjected) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the error message is carried", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		s := chaos.ErrorScenario("db", 1, nil, time.Minute)
		s.ErrorMessage = "disk on fire"
		mustInject(t, e, s)
		if err := e.Error("db"); !strings.HasSuffix(err.Error(), ": disk on fire") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEngine_hotPathAllocations(t *testing.T) {
	e := newEngine(t, chaos.Config{Seed: 3}, nil)
	mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, time.Minute))
	mustInject(t, e, chaos.ErrorScenario("db", 0.5, nil, time.Minute))
	mustInject(t, e, chaos.PartitionScenario("db", time.Minute))
	mustInject(t, e, chaos.TimeoutScenario("db", time.Minute))
	mustInject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0.5, "db", time.Minute))
	checks := map[string]func(){
		"Latency":     func() { e.Latency("db") },
		"Error":       func() { _ = e.Error("db") },
		"Partitioned": func() { e.Partitioned("db") },
		"TimesOut":    func() { e.TimesOut("db") },
		"Bandwidth":   func() { e.Bandwidth("db") },
		"Apply":       func() { _ = e.Apply(context.Background(), "db") }, // partition: returns at once
		"other":       func() { e.Latency("x"); _ = e.Error("x") },
	}
	for name, fn := range checks {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func TestEngine_Apply(t *testing.T) {
	t.Run("returns nil with nothing active", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		if err := e.Apply(t.Context(), "db"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("sleeps the latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.LatencyScenario("db", 250*time.Millisecond, time.Minute))
			start := time.Now()
			if err := e.Apply(t.Context(), "db"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != 250*time.Millisecond {
				t.Fatalf("slept %v", d)
			}
		})
	})
	t.Run("returns early when ctx ends during the latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			if err := e.Apply(ctx, "db"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Apply() = %v", err)
			}
			if d := time.Since(start); d != 100*time.Millisecond {
				t.Fatalf("returned after %v", d)
			}
		})
	})
	t.Run("returns at once on an emergency stop during the latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.LatencyScenario("db", 20*time.Second, time.Minute))
			start := time.Now()
			go func() {
				time.Sleep(time.Second)
				e.EmergencyStop()
			}()
			if err := e.Apply(t.Context(), "db"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != time.Second {
				t.Fatalf("returned after %v", d)
			}
		})
	})
	t.Run("returns the injected error", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ErrorScenario("db", 1, nil, time.Minute))
		if err := e.Apply(t.Context(), "db"); !errors.Is(err, chaos.ErrInjected) {
			t.Fatalf("Apply() = %v", err)
		}
	})
	t.Run("returns ErrPartitioned for a partition", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.PartitionScenario("db", time.Minute, "replica"))
		if err := e.Apply(t.Context(), "replica"); !errors.Is(err, chaos.ErrPartitioned) {
			t.Fatalf("Apply() = %v", err)
		}
		if !e.Partitioned("db") || e.Partitioned("other") {
			t.Fatal("Partitioned is wrong")
		}
		if m := e.Metrics(); m.PartitionsInjected != 2 {
			t.Fatalf("PartitionsInjected = %d", m.PartitionsInjected)
		}
	})
	t.Run("blocks on a timeout until ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.TimeoutScenario("db", time.Minute))
			if !e.TimesOut("db") || e.TimesOut("other") {
				t.Fatal("TimesOut is wrong")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			start := time.Now()
			if err := e.Apply(ctx, "db"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Apply() = %v", err)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Fatalf("returned after %v", d)
			}
		})
	})
	t.Run("a timeout ends with its scenario", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.TimeoutScenario("db", 10*time.Second))
			mustInject(t, e, chaos.TimeoutScenario("db2", 20*time.Second, "db"))
			start := time.Now()
			if err := e.Apply(t.Context(), "db"); err != nil {
				t.Fatalf("Apply() = %v", err)
			}
			if d := time.Since(start); d != 20*time.Second {
				t.Fatalf("returned after %v, want when the last timeout scenario ended", d)
			}
		})
	})
	t.Run("a timeout ends on an emergency stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.TimeoutScenario("db", time.Minute))
			go func() {
				time.Sleep(time.Second)
				e.EmergencyStop()
			}()
			if err := e.Apply(t.Context(), "db"); err != nil {
				t.Fatalf("Apply() = %v", err)
			}
		})
	})
}

func TestEngine_Bandwidth(t *testing.T) {
	e := newEngine(t, chaos.Config{NetworkBandwidth: 1000}, nil)
	mustInject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0.75, "db", time.Minute, "cache"))
	t.Run("leaves 1 - level of the bandwidth", func(t *testing.T) {
		if bw, ok := e.Bandwidth("cache"); !ok || bw != 250 {
			t.Fatalf("Bandwidth = %d, %v", bw, ok)
		}
	})
	t.Run("the most restrictive scenario wins", func(t *testing.T) {
		s := chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 1, "db", time.Minute)
		s.Name = "cut"
		mustInject(t, e, s)
		if bw, ok := e.Bandwidth("db"); !ok || bw != 0 {
			t.Fatalf("Bandwidth = %d, %v", bw, ok)
		}
		if bw, _ := e.Bandwidth("cache"); bw != 250 {
			t.Fatalf("Bandwidth(cache) = %d", bw)
		}
	})
	t.Run("ends with the scenarios", func(t *testing.T) {
		e.Deactivate("cut")
		e.Deactivate("resource_network_bandwidth_0.75")
		if _, ok := e.Bandwidth("db"); ok {
			t.Fatal("still throttled")
		}
	})
}

// TestMetrics_JSON checks that the metrics' JSON form (durations as strings)
// decodes back to the same metrics.
func TestMetrics_JSON(t *testing.T) {
	m := chaos.Metrics{
		ScenariosRun: 3, LatencyInjections: 4, LatencyInjected: 1500 * time.Millisecond, ErrorsInjected: 5,
		PartitionsInjected: 6, TimeoutsInjected: 7, BreakersForced: 8, DurationsCapped: 9, ActiveScenarios: 2,
		EmergencyStop: true, StopReason: "health critical",
		Resources: chaos.Resources{CPUGoroutines: 1, CPUBusy: 2 * time.Second, MemoryHeld: 3, DiskWriters: 4,
			DiskBytesWritten: 5, DiskErrors: 6, ConnectionsOccupied: 7},
		Timestamp:          time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		ConstitutionalHash: antifragile.ConstitutionalHash,
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"latency_injected":"1.5s"`) || !strings.Contains(string(b), `"cpu_busy":"2s"`) {
		t.Fatalf("durations not written as strings: %s", b)
	}
	var got chaos.Metrics
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	if err := json.Unmarshal([]byte(`{"latency_injected":"soon"}`), &got); err == nil {
		t.Fatal("a bad duration decoded")
	}
}
