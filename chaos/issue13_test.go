package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/flock"
)

// TestIssue13_StrictScenarios: a scenario's JSON is read strictly, and its
// names are printable and bounded.
func TestIssue13_StrictScenarios(t *testing.T) {
	cases := []struct {
		name, in, field string
	}{
		{"keys are case-sensitive", `{"Name":"n","type":"timeout","target":"db"}`, "Name"},
		{"a duplicate key is refused", `{"name":"a","name":"b","type":"timeout","target":"db"}`, "name"},
		{"a NUL in the name", `{"name":"a\u0000b","type":"timeout","target":"db"}`, "name"},
		{"an ANSI escape in the target", `{"name":"n","type":"timeout","target":"\u001b[31mred"}`, "target"},
		{"a right-to-left override", `{"name":"n\u202egnp.exe","type":"timeout","target":"db"}`, "name"},
		{"a 100,000-character name", `{"name":"` + strings.Repeat("n", 100_000) + `","type":"timeout","target":"db"}`, "name"},
		{"a delay beyond the cap", `{"name":"n","type":"latency","target":"db","delay":"2562047h"}`, "delay"},
		{"a blast radius with a control character", `{"name":"n","type":"timeout","target":"db","blast_radius":["ok","b\u0007"]}`, "blast_radius[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := chaos.ParseScenario([]byte(c.in))
			if !slices.Contains(antifragile.InvalidFields(err), c.field) {
				t.Fatalf("ParseScenario = %v, want a problem at %q", err, c.field)
			}
		})
	}
	t.Run("invalid UTF-8 is refused, not replaced", func(t *testing.T) {
		if _, err := chaos.ParseScenario([]byte("{\"name\":\"a\xffb\",\"type\":\"timeout\",\"target\":\"db\"}")); err == nil ||
			!strings.Contains(err.Error(), "UTF-8") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a name with spaces and accents is fine", func(t *testing.T) {
		if _, err := chaos.ParseScenario([]byte(`{"name":"slow café orders","type":"timeout","target":"db"}`)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestIssue13_TypoBreakersAreNotLeftBehind: a circuit_breaker scenario on a
// breaker that does not exist creates it only while it runs.
func TestIssue13_TypoBreakersAreNotLeftBehind(t *testing.T) {
	reg := newRegistry(t)
	before := reg.Len()
	e := newEngine(t, chaos.Config{}, reg)
	for i := range 200 {
		mustInject(t, e, chaos.BreakerScenario(fmt.Sprintf("paymnets-%d", i), time.Minute, "payments"))
	}
	if reg.Len() != before+200 {
		t.Fatalf("%d breakers while the scenarios run, want %d", reg.Len(), before+200)
	}
	for i := range 200 {
		e.Deactivate(fmt.Sprintf("circuit_open_paymnets-%d", i))
	}
	if reg.Len() != before {
		t.Fatalf("%d breakers after the scenarios ended, want the %d there were: %q", reg.Len(), before, reg.Names())
	}
	if b, _ := reg.Get("payments"); b.State() != breaker.Closed {
		t.Fatalf("payments is %v", b.State())
	}
}

// TestIssue13_MemoryGoesBackToTheOS: repeated memory scenarios, replacing
// and ending, never make the process hold much more than the cap.
func TestIssue13_MemoryGoesBackToTheOS(t *testing.T) {
	const cap = 64 << 20
	e := newEngine(t, chaos.Config{MemoryCap: cap}, nil)
	debug.FreeOSMemory()
	base := heldBytes()
	peak := base
	for i := range 10 {
		mustInject(t, e, chaos.ResourceScenario(chaos.ResourceMemory, 1, "host", time.Minute))
		peak = max(peak, heldBytes())
		if i%2 == 1 {
			e.Deactivate("resource_memory_1.0")
			peak = max(peak, heldBytes())
		}
	}
	e.Deactivate("resource_memory_1.0")
	after := heldBytes()
	t.Logf("held beyond the start: peak %d MiB for a %d MiB cap, %d MiB after the last scenario",
		(peak-base)>>20, cap>>20, (after-base)>>20)
	if peak-base > cap*11/10 {
		t.Fatalf("peak %d MiB beyond the start, want at most 1.1 × the %d MiB cap", (peak-base)>>20, cap>>20)
	}
	if after-base > cap/4 {
		t.Fatalf("%d MiB still held after the last scenario ended", (after-base)>>20)
	}
}

// heldBytes is the memory the Go runtime holds from the operating system:
// what it mapped, minus what it released back (what RSS counts, without the
// race detector's shadow).
func heldBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// TestIssue13_LatencyEndsWithItsScenario: a latency fault used to outlive
// its scenario — a call slept its whole delay after the scenario expired or
// was deactivated — had no bound but the scenario cap, and two overlapping
// delays could add up past it. Now a sleeping call sleeps the delay in
// force, the engine's max_delay bounds each delay and their sum, and the
// injected-latency metric is the time really slept.
func TestIssue13_LatencyEndsWithItsScenario(t *testing.T) {
	// sleep runs Apply on target in the background and returns how long it
	// took, once it has returned.
	sleep := func(e *chaos.Engine, target string) <-chan time.Duration {
		out := make(chan time.Duration, 1)
		go func() {
			start := time.Now()
			if err := e.Apply(context.Background(), target); err != nil {
				panic(err)
			}
			out <- time.Since(start)
		}()
		return out
	}
	t.Run("expiry wakes the sleepers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.LatencyScenario("db", 20*time.Second, time.Second))
			if d := <-sleep(e, "db"); d != time.Second {
				t.Fatalf("slept %v under a 1s scenario with a 20s delay, want 1s", d)
			}
			if m := e.Metrics(); m.LatencyInjected != time.Second || m.LatencyInjections != 1 {
				t.Fatalf("LatencyInjected %v over %d calls, want 1s over 1", m.LatencyInjected, m.LatencyInjections)
			}
		})
	})
	t.Run("deactivation wakes the sleepers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			s := mustInject(t, e, chaos.LatencyScenario("db", 20*time.Second, time.Minute))
			got := sleep(e, "db")
			time.Sleep(3 * time.Second)
			e.Deactivate(s.Name)
			if d := <-got; d != 3*time.Second {
				t.Fatalf("slept %v, want 3s (deactivated then)", d)
			}
		})
	})
	t.Run("a replacement with a shorter delay shortens the sleep", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			s := mustInject(t, e, chaos.LatencyScenario("db", 20*time.Second, time.Minute))
			got := sleep(e, "db")
			time.Sleep(2 * time.Second)
			s.Delay = 5 * time.Second // same name: replaces it
			mustInject(t, e, s)
			if d := <-got; d != 5*time.Second {
				t.Fatalf("slept %v, want 5s (the replacement's delay)", d)
			}
		})
	})
	t.Run("an unrelated scenario does not shorten the sleep", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			mustInject(t, e, chaos.LatencyScenario("db", 4*time.Second, time.Minute))
			got := sleep(e, "db")
			time.Sleep(time.Second)
			mustInject(t, e, chaos.LatencyScenario("cache", time.Second, time.Minute))
			if d := <-got; d != 4*time.Second {
				t.Fatalf("slept %v, want 4s", d)
			}
		})
	})
	t.Run("overlapping delays saturate at max_delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{MaxDelay: 10 * time.Second}, nil)
			for i := range 3 {
				s := chaos.LatencyScenario("db", 9*time.Second, time.Minute)
				s.Name = fmt.Sprintf("slow-%d", i)
				mustInject(t, e, s)
			}
			if d := <-sleep(e, "db"); d != 10*time.Second {
				t.Fatalf("slept %v for three 9s delays, want the 10s max_delay", d)
			}
			if m := e.Metrics(); m.LatencyInjected != 10*time.Second {
				t.Fatalf("LatencyInjected = %v, want 10s", m.LatencyInjected)
			}
			if d := e.Latency("db"); d != 10*time.Second {
				t.Fatalf("Latency = %v, want 10s", d)
			}
		})
	})
	t.Run("a delay beyond max_delay is refused", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MaxDelay: time.Second}, nil)
		_, err := e.Inject(chaos.LatencyScenario("db", 2*time.Second, time.Minute))
		var ve *antifragile.ValidationError
		if !errors.As(err, &ve) || ve.Field != "delay" {
			t.Fatalf("Inject() = %v, want a ValidationError on delay", err)
		}
		if _, err := chaos.New(chaos.Config{MaxDelay: chaos.MaxDelay + 1}, nil); err == nil || !strings.Contains(err.Error(), "max_delay") {
			t.Fatalf("New(max_delay beyond the hard cap) = %v", err)
		}
		// The scenario's own bound: 2562047h (the largest Duration) is refused.
		if _, err := chaos.ParseScenario([]byte(`{"name":"x","type":"latency","target":"db","delay":"2562047h"}`)); err == nil {
			t.Fatal(`ParseScenario("delay": "2562047h") = nil error`)
		}
	})
}

// TestIssue13_DiskIOFilesDoNotOutliveTheProcess: disk_io burn files used to
// survive a kill -9 for ever. They live in one locked directory per process
// now, and the next process to run a disk_io scenario removes the
// directories of dead ones (whose lock it can take).
func TestIssue13_DiskIOFilesDoNotOutliveTheProcess(t *testing.T) {
	t.Run("a dead process's directory is removed, a live one's is kept", func(t *testing.T) {
		dir := t.TempDir()
		stale := filepath.Join(dir, "antifragile-chaos-disk-999999999")
		if err := os.MkdirAll(stale, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(stale, "burn-1.dat"), make([]byte, 1024), 0o600); err != nil {
			t.Fatal(err)
		}
		live := filepath.Join(dir, "antifragile-chaos-disk-999999998")
		if err := os.MkdirAll(live, 0o700); err != nil {
			t.Fatal(err)
		}
		lock, err := flock.LockDir(live)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		e := newEngine(t, chaos.Config{DiskIO: chaos.DiskIOConfig{Dir: dir}}, nil)
		s := mustInject(t, e, chaos.ResourceScenario(chaos.ResourceDiskIO, 0.5, "host", time.Minute))
		if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stale directory: %v, want removed", err)
		}
		if _, err := os.Stat(live); err != nil {
			t.Fatalf("live directory: %v, want kept", err)
		}
		e.Deactivate(s.Name)
	})
	t.Run("engines of one process share its directory", func(t *testing.T) {
		dir := t.TempDir()
		cfg := chaos.Config{DiskIO: chaos.DiskIOConfig{Dir: dir}}
		a, b := newEngine(t, cfg, nil), newEngine(t, cfg, nil)
		sa := mustInject(t, a, chaos.ResourceScenario(chaos.ResourceDiskIO, 0.5, "host", time.Minute))
		sb := mustInject(t, b, chaos.ResourceScenario(chaos.ResourceDiskIO, 0.5, "host", time.Minute))
		files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
		if len(files) != 2 {
			t.Fatalf("files = %v, want two in one directory", files)
		}
		a.Deactivate(sa.Name)
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("entries = %v after the first ended, want the shared directory", entries)
		}
		b.Deactivate(sb.Name)
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("left behind: %v", entries)
		}
	})
}
