package chaos_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

func TestEngine_cpu(t *testing.T) {
	t.Run("burns every core and stops on emergency stop", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceCPU, 1, "host", time.Minute))
		procs := int64(runtime.GOMAXPROCS(0))
		if got := e.Metrics().Resources.CPUGoroutines; got != procs {
			t.Fatalf("CPUGoroutines = %d, want GOMAXPROCS = %d", got, procs)
		}
		// The burners report busy time at the end of each 10 ms period.
		for e.Metrics().Resources.CPUBusy < 10*time.Millisecond {
			runtime.Gosched()
		}
		start := time.Now()
		e.EmergencyStop()
		elapsed := time.Since(start)
		// EmergencyStop returns only once every burner goroutine has exited.
		r := e.Metrics().Resources
		if r.CPUGoroutines != 0 {
			t.Fatalf("%d burner goroutines still running after EmergencyStop", r.CPUGoroutines)
		}
		for range 100 {
			runtime.Gosched()
		}
		if after := e.Metrics().Resources.CPUBusy; after != r.CPUBusy {
			t.Fatalf("busy time grew from %v to %v after the stop", r.CPUBusy, after)
		}
		t.Logf("cpu burners stopped %v after EmergencyStop (BenchmarkEmergencyStopCPU measures it)", elapsed)
	})
	t.Run("a partial level stops on deactivate", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		s := mustInject(t, e, chaos.ResourceScenario(chaos.ResourceCPU, 0.3, "host", time.Minute))
		if !e.Deactivate(s.Name) || e.Metrics().Resources.CPUGoroutines != 0 {
			t.Fatal("burners survive Deactivate")
		}
	})
	t.Run("levels above 1 in total are refused", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceCPU, 0.6, "a", time.Minute))
		s := chaos.ResourceScenario(chaos.ResourceCPU, 0.6, "b", time.Minute)
		s.Name = "second"
		if _, err := e.Inject(s); !errors.Is(err, chaos.ErrResourceCap) {
			t.Fatalf("Inject() = %v, want ErrResourceCap", err)
		}
		s.ResourceLevel = 0.4
		mustInject(t, e, s)
	})
	t.Run("level 0 starts nothing", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceCPU, 0, "a", time.Minute))
		if e.Metrics().Resources.CPUGoroutines != 0 {
			t.Fatal("level 0 burns cpu")
		}
	})
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestEngine_memory(t *testing.T) {
	const mib = 1 << 20
	t.Run("holds level x cap until emergency stop, then releases it", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MemoryCap: 64 * mib}, nil)
		before := heapAlloc()
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceMemory, 0.5, "host", time.Minute))
		if held := e.Metrics().Resources.MemoryHeld; held != 32*mib {
			t.Fatalf("MemoryHeld = %d", held)
		}
		if during := heapAlloc(); during < before+28*mib {
			t.Fatalf("heap grew by %d MiB, want 32", (int64(during)-int64(before))/mib)
		}
		e.EmergencyStop()
		if held := e.Metrics().Resources.MemoryHeld; held != 0 {
			t.Fatalf("MemoryHeld = %d after the stop", held)
		}
		if after := heapAlloc(); after > before+8*mib {
			t.Fatalf("heap is %d MiB above the start after the stop", (int64(after)-int64(before))/mib)
		}
	})
	t.Run("never holds more than the cap", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MemoryCap: 8 * mib}, nil)
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceMemory, 0.75, "a", time.Minute))
		s := chaos.ResourceScenario(chaos.ResourceMemory, 0.5, "b", time.Minute)
		s.Name = "more"
		if _, err := e.Inject(s); !errors.Is(err, chaos.ErrResourceCap) {
			t.Fatalf("Inject() = %v, want ErrResourceCap", err)
		}
		// Replacing a scenario counts only the new level.
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceMemory, 0.75, "a", time.Minute))
		if held := e.Metrics().Resources.MemoryHeld; held != 6*mib {
			t.Fatalf("MemoryHeld = %d after replacement", held)
		}
	})
}

func TestEngine_diskIO(t *testing.T) {
	t.Run("writes in a temporary directory removed at the end", func(t *testing.T) {
		dir := t.TempDir()
		e := newEngine(t, chaos.Config{DiskIO: chaos.DiskIOConfig{Dir: dir}}, nil)
		s := mustInject(t, e, chaos.ResourceScenario(chaos.ResourceDiskIO, 0.5, "host", time.Minute))
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 || !entries[0].IsDir() {
			t.Fatalf("entries = %v, want one temporary directory", entries)
		}
		if e.Metrics().Resources.DiskWriters != 1 {
			t.Fatal("no writer running")
		}
		e.Deactivate(s.Name)
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("left behind: %v", entries)
		}
		r := e.Metrics().Resources
		if r.DiskWriters != 0 || r.DiskBytesWritten <= 0 || r.DiskErrors != 0 {
			t.Fatalf("resources = %+v", r)
		}
	})
	t.Run("writes at the bounded rate within the size cap", func(t *testing.T) {
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{DiskIO: chaos.DiskIOConfig{Dir: dir, BytesPerSecond: 100_000, MaxBytes: 40_000}}, nil)
			mustInject(t, e, chaos.ResourceScenario(chaos.ResourceDiskIO, 0.5, "host", time.Minute))
			time.Sleep(10 * time.Second)
			synctest.Wait()
			// 0.5 × 100 kB/s for 10 s, in chunks of 5 kB.
			if got := e.Metrics().Resources.DiskBytesWritten; got < 495_000 || got > 510_000 {
				t.Fatalf("wrote %d bytes in 10s, want about 500000", got)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
			if len(files) != 1 {
				t.Fatalf("files = %v", files)
			}
			if fi, err := os.Stat(files[0]); err != nil || fi.Size() > 20_000 {
				t.Fatalf("file size %d exceeds 0.5 × 40000 (err %v)", fi.Size(), err)
			}
			e.EmergencyStop()
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("left behind: %v", entries)
			}
		})
	})
	t.Run("a bad directory refuses the injection", func(t *testing.T) {
		e := newEngine(t, chaos.Config{DiskIO: chaos.DiskIOConfig{Dir: filepath.Join(t.TempDir(), "missing")}}, nil)
		if _, err := e.ExhaustResource(chaos.ResourceDiskIO, 0.5, "host", time.Minute); err == nil {
			t.Fatal("Inject() = nil error")
		}
		if len(e.Active()) != 0 {
			t.Fatal("scenario active")
		}
	})
}

func TestEngine_connections(t *testing.T) {
	t.Run("occupies level x size slots so callers wait or fail", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			p := e.Pool("db", 10)
			s := mustInject(t, e, chaos.ResourceScenario(chaos.ResourceConnections, 0.5, "db", time.Minute))
			if p.Occupied() != 5 || p.Available() != 5 || e.Metrics().Resources.ConnectionsOccupied != 5 {
				t.Fatalf("occupied %d, available %d", p.Occupied(), p.Available())
			}
			for i := range 5 {
				if !p.TryAcquire() {
					t.Fatalf("TryAcquire %d failed", i)
				}
			}
			if p.TryAcquire() {
				t.Fatal("TryAcquire succeeded on an exhausted pool")
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if err := p.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Acquire() = %v", err)
			}
			got := make(chan error)
			go func() { got <- p.Acquire(t.Context()) }()
			synctest.Wait()
			e.Deactivate(s.Name)
			if err := <-got; err != nil {
				t.Fatalf("waiter: %v", err)
			}
			if p.Occupied() != 0 || p.InUse() != 6 || p.Available() != 4 {
				t.Fatalf("occupied %d, in use %d, available %d", p.Occupied(), p.InUse(), p.Available())
			}
		})
	})
	t.Run("occupies every pool of the blast radius", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		a, b := e.Pool("a", 4), e.Pool("b", 8)
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceConnections, 1, "a", time.Minute, "b", "not-a-pool"))
		if a.Available() != 0 || b.Available() != 0 {
			t.Fatalf("available a=%d b=%d", a.Available(), b.Available())
		}
	})
	t.Run("needs a pool", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		if _, err := e.ExhaustResource(chaos.ResourceConnections, 0.5, "db", time.Minute); !errors.Is(err, chaos.ErrNoPool) {
			t.Fatalf("Inject() = %v", err)
		}
	})
	t.Run("never occupies more than the pool", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		e.Pool("db", 10)
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceConnections, 0.7, "db", time.Minute))
		s := chaos.ResourceScenario(chaos.ResourceConnections, 0.7, "db", time.Minute)
		s.Name = "more"
		if _, err := e.Inject(s); !errors.Is(err, chaos.ErrResourceCap) {
			t.Fatalf("Inject() = %v", err)
		}
	})
}
