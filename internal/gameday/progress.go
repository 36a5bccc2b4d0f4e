package gameday

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// IsTerminal reports whether w is a terminal (a character device), in which
// case the progress is updated in place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ANSI escapes of the terminal progress.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiClear  = "\r\x1b[K"
	plainEvery = time.Second
	termEvery  = 100 * time.Millisecond
	// defaultWidth is the terminal width assumed when $COLUMNS is unset.
	defaultWidth = 100
)

// progress shows the game day's progress. It is used from the runner's
// goroutine only.
type progress struct {
	w     io.Writer
	term  bool
	sc    *scenario.Scenario
	i     int
	began time.Time // when phase i began
	last  time.Time // when the last plain line was written
	fresh bool      // no sample shown yet in phase i
	open  bool      // a terminal line is being updated in place
	width int       // the terminal's width in columns
}

func newProgress(w io.Writer, term bool, sc *scenario.Scenario) *progress {
	width := defaultWidth
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		width = n
	}
	return &progress{w: w, term: term, sc: sc, width: width}
}

func (p *progress) color(code, s string) string {
	if !p.term {
		return s
	}
	return code + s + ansiReset
}

func (p *progress) statusColor(st health.Status) string {
	switch st {
	case health.Healthy:
		return ansiGreen
	case health.Degraded:
		return ansiYellow
	}
	return ansiRed
}

// phase announces phase i.
func (p *progress) phase(i int) {
	p.i, p.began, p.fresh = i, time.Now(), true
	if p.w == nil {
		return
	}
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	ph := p.sc.Phases[i]
	var faults []string
	for _, f := range ph.Faults {
		faults = append(faults, DescribeFault(f.Scenario))
	}
	what := "no fault"
	if len(faults) > 0 {
		what = strings.Join(faults, "; ")
	}
	fmt.Fprintf(p.w, "%s %s (%s, expect %s): %s\n",
		p.color(ansiBold, fmt.Sprintf("phase %d/%d", i+1, len(p.sc.Phases))),
		p.color(ansiBold, ph.Name), RoundDuration(ph.Duration), ph.Expect, what)
}

// sample shows s.
func (p *progress) sample(s Sample, res *Result, err error) {
	if p.w == nil || len(p.sc.Phases) == 0 {
		return
	}
	now := time.Now()
	every := plainEvery
	if p.term {
		every = termEvery
	}
	if !p.fresh && now.Sub(p.last) < every {
		return
	}
	p.fresh, p.last = false, now
	plain, status := p.line(s, res, err)
	if !p.term {
		fmt.Fprintln(p.w, plain)
		return
	}
	// Keep the line within the terminal's width, so that \r rewrites it
	// instead of scrolling, then colour the status.
	line := Truncate(plain, p.width-1)
	if status != "" && strings.Contains(line, status) {
		line = strings.Replace(line, status, p.color(p.statusColor(s.Status), status), 1)
	}
	if err != nil {
		line = p.color(ansiRed, line)
	}
	fmt.Fprint(p.w, ansiClear+line)
	p.open = true
}

// line returns the progress line of s and the part of it that shows the
// status.
func (p *progress) line(s Sample, res *Result, err error) (line, status string) {
	ph := p.sc.Phases[p.i]
	left := max(ph.Duration-time.Since(p.began), 0)
	head := fmt.Sprintf("%7s %-14s %6s left", RoundDuration(s.At), Truncate(ph.Name, 14), RoundDuration(left))
	if err != nil {
		return head + "  observation failed: " + err.Error(), ""
	}
	status = fmt.Sprintf("%-8s %.3f", s.Status, s.Score)
	lat := "p99"
	if res.LatencyKind == LatencyMean {
		lat = "mean"
	}
	var open []string
	for name, st := range s.NotClosed {
		switch {
		case st.Rejecting():
			open = append(open, name)
		case st == breaker.HalfOpen:
			open = append(open, name+"(half-open)")
		}
	}
	slices.Sort(open)
	breakers := fmt.Sprintf("open %d", s.Open)
	if len(open) > 0 {
		if len(open) > 3 {
			open = append(open[:3], "…")
		}
		breakers += " " + strings.Join(open, " ")
	}
	return fmt.Sprintf("%s  %s  %5.0f msg/s  %s %6s  %s  recovering %d",
		head, status, s.Throughput, lat, formatLatency(s.Latency), breakers, s.RecoveryQueue), status
}

// warn shows a warning on a line of its own.
func (p *progress) warn(msg string) { p.own(ansiYellow, "  ! "+msg) }

// note shows an action of the game day on a line of its own.
func (p *progress) note(msg string) { p.own(ansiBold, "  » "+msg) }

// own ends an open status line and shows msg in color on a line of its own.
func (p *progress) own(color, msg string) {
	if p.w == nil {
		return
	}
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	fmt.Fprintln(p.w, p.color(color, msg))
	p.fresh = true
}

// done ends the progress.
func (p *progress) done() {
	if p.w != nil && p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

func shortState(st breaker.State) string {
	switch st {
	case breaker.HalfOpen:
		return "half"
	case breaker.ForcedOpen:
		return "forced"
	}
	return st.String()
}

// Truncate shortens s to at most n runes, ending it with "…" when cut.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}

// DescribeFault says what a fault does, and for how long.
func DescribeFault(s chaos.Scenario) string {
	return s.Describe() + " for " + RoundDuration(s.Duration).String()
}

// formatLatency formats a latency with two or three significant digits.
func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return RoundDuration(d).String()
}
