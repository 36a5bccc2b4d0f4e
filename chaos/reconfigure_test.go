package chaos_test

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
)

func TestEngine_Reconfigure(t *testing.T) {
	const mib = 1 << 20
	t.Run("invalid or fixed fields change nothing and are all named", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MaxDelay: time.Second, Seed: 1}, nil)
		err := e.Reconfigure(chaos.Config{MaxDelay: -time.Second, MemoryCap: -1, Seed: 2, StopCheckInterval: 50 * time.Millisecond})
		if err == nil {
			t.Fatal("accepted")
		}
		fields := antifragile.InvalidFields(err)
		for _, f := range []string{"max_delay", "memory_cap_bytes"} {
			if !slices.Contains(fields, f) {
				t.Errorf("%s not reported: %v", f, err)
			}
		}
		// Fixed fields are checked once the values are valid.
		err = e.Reconfigure(chaos.Config{Seed: 2, StopCheckInterval: 50 * time.Millisecond})
		fields = antifragile.InvalidFields(err)
		for _, f := range []string{"seed", "stop_check_interval"} {
			if !slices.Contains(fields, f) {
				t.Errorf("%s not reported: %v", f, err)
			}
		}
		if e.Config().MaxDelay != time.Second {
			t.Fatalf("max_delay = %s after refused reconfigures", e.Config().MaxDelay)
		}
	})
	t.Run("new injections follow the new limits", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		if err := e.Reconfigure(chaos.Config{MaxDelay: time.Second, MaxDuration: time.Minute, StrictTargets: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Inject(chaos.LatencyScenario("db", 2*time.Second, time.Minute)); err == nil {
			t.Fatal("a delay above the new max_delay was injected")
		}
		e.Pool("db", 4) // known now
		s := mustInject(t, e, chaos.LatencyScenario("db", time.Second, time.Hour))
		if s.Duration != time.Minute || s.CappedFrom != time.Hour {
			t.Fatalf("duration %s capped from %s; want 1m from 1h", s.Duration, s.CappedFrom)
		}
		if _, err := e.Inject(chaos.LatencyScenario("nowhere", time.Second, time.Minute)); err == nil {
			t.Fatal("strict_targets not in force")
		}
	})
	t.Run("a running scenario ends by the new max_duration", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			db := mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, 200*time.Second))
			mustInject(t, e, chaos.LatencyScenario("cache", time.Millisecond, 200*time.Second))
			time.Sleep(90 * time.Second)
			if err := e.Reconfigure(chaos.Config{MaxDuration: 100 * time.Second}); err != nil {
				t.Fatal(err)
			}
			s, ok := e.Lookup(db.Name)
			if !ok || s.Duration != 100*time.Second || s.CappedFrom != 200*time.Second {
				t.Fatalf("db: %+v, %v", s, ok)
			}
			time.Sleep(10*time.Second - time.Nanosecond)
			synctest.Wait()
			if len(e.Active()) != 2 {
				t.Fatal("ended before the new cap")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if len(e.Active()) != 0 {
				t.Fatalf("still active past the new cap: %v", e.Active())
			}
			// Already past the new cap: it ends at once.
			mustInject(t, e, db)
			time.Sleep(60 * time.Second)
			if err := e.Reconfigure(chaos.Config{MaxDuration: 30 * time.Second}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if _, ok := e.Lookup(db.Name); ok {
				t.Fatal("a scenario past the new cap still runs")
			}
		})
	})
	t.Run("the hot path follows a lowered max_delay and bandwidth at once", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MaxDelay: 10 * time.Second}, nil)
		mustInject(t, e, chaos.LatencyScenario("db", 5*time.Second, time.Minute))
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0.5, "net", time.Minute))
		if err := e.Reconfigure(chaos.Config{MaxDelay: time.Second, NetworkBandwidth: 1000}); err != nil {
			t.Fatal(err)
		}
		if d := e.Latency("db"); d != time.Second {
			t.Fatalf("latency = %s, want the new max_delay 1s", d)
		}
		if bw, ok := e.Bandwidth("net"); !ok || bw != 500 {
			t.Fatalf("bandwidth = %d, %v; want 500", bw, ok)
		}
	})
	t.Run("memory held beyond a lowered cap is given back", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MemoryCap: 8 * mib}, nil)
		sub := e.Subscribe(8)
		defer sub.Close()
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceMemory, 0.5, "host", time.Minute))
		lat := mustInject(t, e, chaos.LatencyScenario("db", time.Millisecond, time.Minute))
		if err := e.Reconfigure(chaos.Config{MemoryCap: 16 * mib}); err != nil { // raised: kept
			t.Fatal(err)
		}
		if e.Metrics().Resources.MemoryHeld != 4*mib {
			t.Fatalf("memory held %d after a raise", e.Metrics().Resources.MemoryHeld)
		}
		if err := e.Reconfigure(chaos.Config{MemoryCap: 4 * mib}); err != nil {
			t.Fatal(err)
		}
		if m := e.Metrics(); m.Resources.MemoryHeld != 0 {
			t.Fatalf("memory held %d beyond the lowered cap", m.Resources.MemoryHeld)
		}
		if _, ok := e.Lookup(lat.Name); !ok {
			t.Fatal("a latency scenario was ended by a memory cap")
		}
		var ended []chaos.Event
		for len(sub.C) > 0 {
			if ev := <-sub.C; ev.Kind == chaos.EventEnded {
				ended = append(ended, ev)
			}
		}
		if len(ended) != 1 || ended[0].Type != chaos.TypeResourceExhaustion || ended[0].Reason != chaos.ReasonLimits {
			t.Fatalf("ended events = %+v, want the memory scenario with reason limits", ended)
		}
	})
}

func TestEngine_ReconfigureDisk(t *testing.T) {
	dir := t.TempDir()
	cfg := chaos.Config{DiskIO: chaos.DiskIOConfig{Dir: dir, BytesPerSecond: 1 << 20, MaxBytes: 1 << 20}}
	e := newEngine(t, cfg, nil)
	s := mustInject(t, e, chaos.ResourceScenario(chaos.ResourceDiskIO, 0.5, "host", time.Minute))
	cfg.DiskIO.MaxBytes = 4 << 20 // raised: the writer is within it
	if err := e.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Lookup(s.Name); !ok {
		t.Fatal("a raised disk cap ended the writer")
	}
	cfg.DiskIO.BytesPerSecond = 1 << 10 // lowered below the writer's rate
	if err := e.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Lookup(s.Name); ok {
		t.Fatal("a writer faster than the lowered rate still runs")
	}
	if w := e.Metrics().Resources.DiskWriters; w != 0 {
		t.Fatalf("%d disk writers after the reconfigure returned", w)
	}
}

// TestEngine_ReconfigureRace changes the limits while the hot path is asked:
// under -race the checks must read only what Reconfigure published whole.
func TestEngine_ReconfigureRace(t *testing.T) {
	e := newEngine(t, chaos.Config{}, nil)
	mustInject(t, e, chaos.LatencyScenario("db", 20*time.Millisecond, time.Minute))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if d := e.Latency("db"); d != 10*time.Millisecond && d != 20*time.Millisecond {
					t.Errorf("latency = %s", d)
					return
				}
				_ = e.Config()
			}
		})
	}
	for i := range 200 {
		d := 10 * time.Millisecond
		if i%2 == 1 {
			d = time.Second
		}
		if err := e.Reconfigure(chaos.Config{MaxDelay: d}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
