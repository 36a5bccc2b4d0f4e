package chaos_test

import (
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
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
