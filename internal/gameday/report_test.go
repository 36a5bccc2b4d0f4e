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
