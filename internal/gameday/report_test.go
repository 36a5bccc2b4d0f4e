package gameday_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
)

func fakeResult(t *testing.T, scenario string) *gameday.Result {
	t.Helper()
	var res *gameday.Result
	synctest.Test(t, func(t *testing.T) {
		var err error
		res, err = gameday.Run(t.Context(), gameday.Config{Scenario: mustParse(t, scenario), Target: newFake(),
			SampleInterval: 100 * time.Millisecond, Description: "fake"})
		if err != nil {
			t.Fatal(err)
		}
	})
	return res
}

func TestWriteReport(t *testing.T) {
	res := fakeResult(t, threePhases)
	var b bytes.Buffer
	if err := report.WriteReport(&b, res); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	t.Run("has the five charts", func(t *testing.T) {
		if n := strings.Count(html, "<svg "); n != 5 {
			t.Errorf("%d inline SVG charts, want 5", n)
		}
		for _, want := range []string{"Health score", "Circuit breakers", "Throughput", "P99 latency",
			"Open breakers and recovery queue", "DEGRADED below 0.7", "CRITICAL below 0.5", "<path d=\"M"} {
			if !strings.Contains(html, want) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
	t.Run("shades the phases and the faults", func(t *testing.T) {
		if n := strings.Count(html, `fill="url(#hatch-health)"`); n != 3 {
			t.Errorf("%d hatched fault windows in the health chart, want 3", n)
		}
		for _, p := range []string{">a</text>", ">b</text>", ">c</text>"} {
			if !strings.Contains(html, p) {
				t.Errorf("no phase label %s", p)
			}
		}
	})
	t.Run("shows the table and the verdict", func(t *testing.T) {
		for _, want := range []string{"<table>", "Metered acme", "FAIL", "its faults were still active"} {
			if !strings.Contains(html, want) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
	t.Run("is self-contained", func(t *testing.T) {
		if strings.Contains(html, "<script") {
			t.Error("the report contains a script")
		}
		if m := regexp.MustCompile(`(?i)(src|href)\s*=|@import|url\((["']?)(https?:|//)`).FindString(html); m != "" {
			t.Errorf("the report references an external resource: %q", m)
		}
		if strings.Contains(html, "ZgotmplZ") {
			t.Error("html/template rejected a value (ZgotmplZ)")
		}
	})
	t.Run("escapes the scenario's text", func(t *testing.T) {
		r := fakeResult(t, `{"name":"<script>alert(1)</script>","phases":[{"name":"<b>x</b>","duration":"300ms"}]}`)
		var b bytes.Buffer
		if err := report.WriteReport(&b, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), "<b>x</b>") {
			t.Error("the report contains unescaped text from the scenario")
		}
	})
}

func TestWriteReportFile(t *testing.T) {
	res := fakeResult(t, threePhases)
	path := filepath.Join(t.TempDir(), "gameday.html")
	if err := report.WriteReportFile(path, res); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("<!doctype html>")) {
		t.Errorf("report starts with %q", data[:min(len(data), 40)])
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want the report only", len(entries))
	}
}

func TestWriteSummary(t *testing.T) {
	res := fakeResult(t, threePhases)
	var b bytes.Buffer
	if err := report.WriteSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"PHASE", "DETECT", "RECOVER", "FAILED", "METERED (acme)", "verdict: FAIL",
		"never (fault outlasted the game day)"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Split(out, "\n"); !strings.HasPrefix(lines[2], "b ") || !strings.Contains(lines[2], "100ms") {
		t.Errorf("row of phase b = %q, want its detection time", lines[2])
	}
}

// TestIssue14_ReportCharts: the charts have axis titles with units, the
// open breakers and the recovery queue tell apart, latency is on a log
// scale spanning microseconds to a fault's 100 ms, and long phase names
// are drawn whole.
func TestIssue14_ReportCharts(t *testing.T) {
	long := []string{"a-baseline-with-a-really-long-descriptive-name", "latency-on-deliberation-for-a-while",
		"x", "another-long-phase-name-right-after-it"}
	res := fakeResult(t, `{"name":"long","phases":[
		{"name":"`+long[0]+`","duration":"2s"},
		{"name":"`+long[1]+`","duration":"300ms","faults":[{"name":"f","type":"network_partition","target":"db"}]},
		{"name":"`+long[2]+`","duration":"200ms"},
		{"name":"`+long[3]+`","duration":"300ms"}]}`)
	for i := range res.Samples {
		res.Samples[i].Latency = 20 * time.Microsecond
		if res.Samples[i].Phase == 1 {
			res.Samples[i].Latency = 120 * time.Millisecond
		}
		res.Samples[i].RecoveryQueue = res.Samples[i].Open
	}
	var b bytes.Buffer
	if err := report.WriteReport(&b, res); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	t.Run("has axis titles with units", func(t *testing.T) {
		if n := strings.Count(html, ">time since the start of the game day (s)</text>"); n != 5 {
			t.Errorf("%d time axis titles, want one per chart (5)", n)
		}
		for _, title := range []string{"score (0–1)", "messages / s", "latency (log)", "count"} {
			if !regexp.MustCompile(`transform="rotate\(-90 [0-9.]+ [0-9.]+\)">` + regexp.QuoteMeta(title) + `</text>`).MatchString(html) {
				t.Errorf("no y axis title %q", title)
			}
		}
	})
	t.Run("draws long phase names whole", func(t *testing.T) {
		for _, name := range long {
			if n := strings.Count(html, ">"+name+"</text>"); n != 2 {
				t.Errorf("phase name %q drawn whole %d times, want 2 (health and breakers charts)", name, n)
			}
		}
		if strings.Contains(html, "…</text>") {
			t.Error("a label was cut")
		}
	})
	t.Run("puts latency on a log scale", func(t *testing.T) {
		for _, tick := range []string{">10µs</text>", ">100µs</text>", ">1ms</text>", ">10ms</text>", ">100ms</text>", ">1s</text>"} {
			if !strings.Contains(html, tick) {
				t.Errorf("no latency tick %s", tick)
			}
		}
	})
	t.Run("tells the open breakers from the recovery queue", func(t *testing.T) {
		queue := regexp.MustCompile(`<path d="([^"]+)" stroke="#ef6c00" fill="none"[^>]*stroke-dasharray="7 4"`).FindStringSubmatch(html)
		open := regexp.MustCompile(`<path d="([^"]+)" stroke="#c62828" fill="none"`).FindStringSubmatch(html)
		if queue == nil || open == nil {
			t.Fatalf("no dashed queue line (%v) or open breakers line (%v)", queue != nil, open != nil)
		}
		if !strings.Contains(html, `class="dash" style="border-color: #ef6c00"></span>recovery queue`) {
			t.Error("the legend does not show the queue as a dashed line")
		}
	})
}
