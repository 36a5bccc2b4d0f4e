package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// The geometry shared by every chart, so that their time axes line up.
const (
	chartW      = 1040.0
	chartLeft   = 118.0
	chartRight  = 24.0
	chartTop    = 30.0
	chartBottom = 30.0
	plotW       = chartW - chartLeft - chartRight
	laneH       = 22.0
	maxLanes    = 24
)

// Colours of the report.
const (
	colHealthy   = "#2e7d32"
	colDegraded  = "#f9a825"
	colCritical  = "#c62828"
	colUnknown   = "#9e9e9e"
	colScore     = "#1f4e79"
	colThrough   = "#1976d2"
	colFailures  = "#d32f2f"
	colLatency   = "#6a1b9a"
	colQueue     = "#ef6c00"
	colOpen      = "#c62828"
	colGrid      = "#e3e6ea"
	colAxis      = "#5f6b7a"
	colBandA     = "#f7f9fb"
	colBandB     = "#ffffff"
	colHalfOpen  = "#fbc02d"
	colForced    = "#8e24aa"
	colClosed    = "#66bb6a"
	colDisabled  = "#bdbdbd"
	colPhaseLine = "#c5ccd6"
)

// svgChart is the geometry of one chart, rendered by the report template.
type svgChart struct {
	Title, Subtitle string
	W, H            float64
	PlotX, PlotY    float64
	PlotW, PlotH    float64
	Bands           []svgRect // phase backgrounds and zones
	Hatches         []svgRect // fault windows
	Rects           []svgRect // data (swimlanes, status strip)
	Lines           []svgLine
	Paths           []svgPath
	Texts           []svgText
	Legend          []legendItem
}

type svgRect struct {
	X, Y, W, H float64
	Fill       string
	Opacity    float64
	Tip        string
}

type svgLine struct {
	X1, Y1, X2, Y2 float64
	Stroke         string
	Width          float64
	Dash           string
}

type svgPath struct {
	D       string
	Stroke  string
	Fill    string
	Width   float64
	Opacity float64
}

type svgText struct {
	X, Y   float64
	Anchor string
	Size   float64
	Fill   string
	Weight string
	Text   string
}

type legendItem struct {
	Color, Label string
	Line         bool
}

// timeAxis maps offsets of the game day to x coordinates.
type timeAxis struct{ end time.Duration }

func (a timeAxis) x(t time.Duration) float64 {
	if a.end <= 0 {
		return chartLeft
	}
	f := float64(t) / float64(a.end)
	return chartLeft + math.Max(0, math.Min(1, f))*plotW
}

// newChart returns a chart of plot height h with the phase bands, fault
// windows, time grid and axis drawn.
func newChart(r *gameday.Result, title, subtitle string, h float64, phaseLabels bool) *svgChart {
	return newChartStrip(r, title, subtitle, h, phaseLabels, 0)
}

// newChartStrip is newChart with room for a strip of height strip between
// the plot and the time axis.
func newChartStrip(r *gameday.Result, title, subtitle string, h float64, phaseLabels bool, strip float64) *svgChart {
	c := &svgChart{Title: title, Subtitle: subtitle, W: chartW, H: chartTop + h + strip + chartBottom,
		PlotX: chartLeft, PlotY: chartTop, PlotW: plotW, PlotH: h}
	ax := timeAxis{r.Elapsed}
	for i, ph := range r.Phases {
		if !ph.Ran {
			continue
		}
		x0, x1 := ax.x(ph.Start), ax.x(ph.End)
		fill := colBandA
		if i%2 == 1 {
			fill = colBandB
		}
		c.Bands = append(c.Bands, svgRect{X: x0, Y: chartTop, W: math.Max(x1-x0, 0), H: h, Fill: fill, Opacity: 1,
			Tip: fmt.Sprintf("phase %s: %s–%s", ph.Name, seconds(gameday.RoundDuration(ph.Start)), seconds(gameday.RoundDuration(ph.End)))})
		if i > 0 {
			c.Lines = append(c.Lines, svgLine{X1: x0, Y1: chartTop - 4, X2: x0, Y2: chartTop + h, Stroke: colPhaseLine, Width: 1})
		}
		if phaseLabels {
			label := ph.Name
			if maxChars := int((x1 - x0) / 6.2); len([]rune(label)) > maxChars {
				if maxChars < 3 {
					label = ""
				} else {
					label = gameday.Truncate(label, maxChars)
				}
			}
			c.Texts = append(c.Texts, svgText{X: (x0 + x1) / 2, Y: chartTop - 8, Anchor: "middle", Size: 11,
				Fill: colAxis, Weight: "600", Text: label})
		}
	}
	for _, f := range r.Faults {
		if !f.WasInjected() {
			continue
		}
		end := r.Elapsed
		if f.Ended >= 0 {
			end = f.Ended
		}
		x0, x1 := ax.x(f.Injected), ax.x(end)
		c.Hatches = append(c.Hatches, svgRect{X: x0, Y: chartTop, W: math.Max(x1-x0, 1), H: h,
			Tip: fmt.Sprintf("fault %s: %s", f.Scenario.Name, gameday.DescribeFault(f.Scenario))})
	}
	step := niceStep(r.Elapsed.Seconds() / 10)
	axis := chartTop + h + strip
	for s := 0.0; s <= r.Elapsed.Seconds()+1e-9; s += step {
		x := ax.x(time.Duration(s * float64(time.Second)))
		c.Lines = append(c.Lines, svgLine{X1: x, Y1: axis, X2: x, Y2: axis + 4, Stroke: colAxis, Width: 1})
		c.Texts = append(c.Texts, svgText{X: x, Y: axis + 17, Anchor: "middle", Size: 10.5, Fill: colAxis,
			Text: strconv.FormatFloat(s, 'f', -1, 64) + "s"})
	}
	c.Lines = append(c.Lines, svgLine{X1: chartLeft, Y1: chartTop + h, X2: chartLeft + plotW, Y2: chartTop + h, Stroke: colAxis, Width: 1})
	return c
}

// yGrid draws horizontal grid lines and labels for values 0..top.
func (c *svgChart) yGrid(top float64, format func(float64) string) func(float64) float64 {
	y := func(v float64) float64 {
		if top <= 0 {
			return c.PlotY + c.PlotH
		}
		return c.PlotY + c.PlotH - math.Max(0, math.Min(1, v/top))*c.PlotH
	}
	step := niceStep(top / 4)
	for v := 0.0; v <= top+1e-9; v += step {
		c.Lines = append(c.Lines, svgLine{X1: chartLeft, Y1: y(v), X2: chartLeft + plotW, Y2: y(v), Stroke: colGrid, Width: 1})
		c.Texts = append(c.Texts, svgText{X: chartLeft - 8, Y: y(v) + 3.5, Anchor: "end", Size: 10.5, Fill: colAxis, Text: format(v)})
	}
	return y
}

// niceStep returns 1, 2 or 5 × 10ⁿ, the nearest at or above v.
func niceStep(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v*0.999 {
			return m * p
		}
	}
	return 10 * p
}

// niceMax returns a round upper bound for the axis of values up to v.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	s := niceStep(v / 4)
	return math.Ceil(v/s) * s
}

// stepPath returns the path of a step series through the points, holding
// each value until the next sample.
func stepPath(xs, ys []float64) string {
	var b strings.Builder
	for i := range xs {
		switch i {
		case 0:
			fmt.Fprintf(&b, "M%.1f,%.1f", xs[i], ys[i])
		default:
			fmt.Fprintf(&b, " H%.1f V%.1f", xs[i], ys[i])
		}
	}
	return b.String()
}

// linePath returns the path of a polyline through the points.
func linePath(xs, ys []float64) string {
	var b strings.Builder
	for i := range xs {
		if i == 0 {
			fmt.Fprintf(&b, "M%.1f,%.1f", xs[i], ys[i])
		} else {
			fmt.Fprintf(&b, " L%.1f,%.1f", xs[i], ys[i])
		}
	}
	return b.String()
}

// areaPath closes a line path down to the baseline.
func areaPath(xs, ys []float64, base float64) string {
	if len(xs) == 0 {
		return ""
	}
	return fmt.Sprintf("%s L%.1f,%.1f L%.1f,%.1f Z", linePath(xs, ys), xs[len(xs)-1], base, xs[0], base)
}

func statusColor(st health.Status) string {
	switch st {
	case health.Healthy:
		return colHealthy
	case health.Degraded:
		return colDegraded
	case health.Critical:
		return colCritical
	}
	return colUnknown
}

func stateColor(st breaker.State) string {
	switch st {
	case breaker.Closed:
		return colClosed
	case breaker.HalfOpen:
		return colHalfOpen
	case breaker.Open:
		return colOpen
	case breaker.ForcedOpen:
		return colForced
	}
	return colDisabled
}

// healthChart draws the health score with the status thresholds and a
// status strip.
func healthChart(r *gameday.Result, degraded, critical float64) *svgChart {
	const h, strip = 220.0, 22.0
	c := newChartStrip(r, "Health score", "weighted share of closed breakers; shaded: phases, hatched: faults active", h, true, strip)
	y := func(v float64) float64 { return c.PlotY + c.PlotH - v*c.PlotH }
	// Status zones, faint, under the phase bands' separators.
	zones := []svgRect{
		{X: chartLeft, Y: y(1), W: plotW, H: y(degraded) - y(1), Fill: colHealthy, Opacity: 0.05},
		{X: chartLeft, Y: y(degraded), W: plotW, H: y(critical) - y(degraded), Fill: colDegraded, Opacity: 0.08},
		{X: chartLeft, Y: y(critical), W: plotW, H: y(0) - y(critical), Fill: colCritical, Opacity: 0.06},
	}
	c.Bands = append(c.Bands, zones...)
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c.Lines = append(c.Lines, svgLine{X1: chartLeft, Y1: y(v), X2: chartLeft + plotW, Y2: y(v), Stroke: colGrid, Width: 1})
		c.Texts = append(c.Texts, svgText{X: chartLeft - 8, Y: y(v) + 3.5, Anchor: "end", Size: 10.5, Fill: colAxis,
			Text: strconv.FormatFloat(v, 'f', 2, 64)})
	}
	c.Lines = append(c.Lines,
		svgLine{X1: chartLeft, Y1: y(degraded), X2: chartLeft + plotW, Y2: y(degraded), Stroke: colDegraded, Width: 1.5, Dash: "6 4"},
		svgLine{X1: chartLeft, Y1: y(critical), X2: chartLeft + plotW, Y2: y(critical), Stroke: colCritical, Width: 1.5, Dash: "6 4"})
	right := chartLeft + plotW - 6
	c.Texts = append(c.Texts,
		svgText{X: right, Y: y(degraded) - 5, Anchor: "end", Size: 10.5, Fill: "#8a5a00", Weight: "600",
			Text: "DEGRADED below " + strconv.FormatFloat(degraded, 'f', -1, 64)},
		svgText{X: right, Y: y(critical) - 5, Anchor: "end", Size: 10.5, Fill: colCritical, Weight: "600",
			Text: "CRITICAL below " + strconv.FormatFloat(critical, 'f', -1, 64)},
	)
	ax := timeAxis{r.Elapsed}
	var xs, ys []float64
	for _, s := range r.Samples {
		if !s.OK {
			continue
		}
		xs = append(xs, ax.x(s.At))
		ys = append(ys, y(s.Score))
	}
	if len(xs) > 0 {
		xs = append(xs, ax.x(r.Elapsed))
		ys = append(ys, ys[len(ys)-1])
	}
	c.Paths = append(c.Paths, svgPath{D: stepPath(xs, ys), Stroke: colScore, Fill: "none", Width: 2.2, Opacity: 1})
	// Status strip under the plot.
	sy := c.PlotY + c.PlotH + 6
	c.Texts = append(c.Texts, svgText{X: chartLeft - 8, Y: sy + 9.5, Anchor: "end", Size: 10.5, Fill: colAxis, Text: "status"})
	for _, run := range statusRuns(r) {
		x0, x1 := ax.x(run.from), ax.x(run.to)
		c.Rects = append(c.Rects, svgRect{X: x0, Y: sy, W: math.Max(x1-x0, 0.5), H: 12, Fill: statusColor(run.status), Opacity: 1,
			Tip: fmt.Sprintf("%s %s–%s", run.status, seconds(gameday.RoundDuration(run.from)), seconds(gameday.RoundDuration(run.to)))})
	}
	c.Legend = []legendItem{
		{Color: colScore, Label: "health score", Line: true},
		{Color: colDegraded, Label: "DEGRADED threshold", Line: true},
		{Color: colCritical, Label: "CRITICAL threshold", Line: true},
		{Color: colHealthy, Label: "HEALTHY"}, {Color: colDegraded, Label: "DEGRADED"}, {Color: colCritical, Label: "CRITICAL"},
		{Color: colUnknown, Label: "UNKNOWN"},
	}
	return c
}

type statusRun struct {
	status   health.Status
	from, to time.Duration
}

func statusRuns(r *gameday.Result) []statusRun {
	var out []statusRun
	for i, s := range r.Samples {
		to := r.Elapsed
		if i+1 < len(r.Samples) {
			to = r.Samples[i+1].At
		}
		if n := len(out); n > 0 && out[n-1].status == s.Status {
			out[n-1].to = to
			continue
		}
		out = append(out, statusRun{status: s.Status, from: s.At, to: to})
	}
	return out
}

// lanes returns the breakers the swimlane chart shows: all of them when
// there are few, else those that left the closed state; at most maxLanes.
func lanes(r *gameday.Result) (names []string, hidden int) {
	changed := map[string]bool{}
	for _, s := range r.Samples {
		for n := range s.NotClosed {
			changed[n] = true
		}
	}
	for _, n := range r.Breakers {
		if len(r.Breakers) <= 12 || changed[n] {
			names = append(names, n)
		}
	}
	if len(names) > maxLanes {
		names = names[:maxLanes]
	}
	return names, len(r.Breakers) - len(names)
}

// breakerChart draws a swimlane per breaker, coloured by state.
func breakerChart(r *gameday.Result) *svgChart {
	names, hidden := lanes(r)
	sub := "one lane per breaker, coloured by state"
	if hidden > 0 {
		sub += fmt.Sprintf("; %d more stayed closed throughout", hidden)
	}
	h := math.Max(float64(len(names))*laneH, laneH)
	c := newChart(r, "Circuit breakers", sub, h, true)
	ax := timeAxis{r.Elapsed}
	for li, name := range names {
		y := c.PlotY + float64(li)*laneH
		c.Texts = append(c.Texts, svgText{X: chartLeft - 8, Y: y + laneH/2 + 4, Anchor: "end", Size: 11.5, Fill: "#1d2733", Text: name})
		runs := breakerRuns(r, name)
		for _, ru := range runs {
			x0, x1 := ax.x(ru.from), ax.x(ru.to)
			c.Rects = append(c.Rects, svgRect{X: x0, Y: y + 3, W: math.Max(x1-x0, 0.8), H: laneH - 6, Fill: stateColor(ru.st), Opacity: 0.92,
				Tip: fmt.Sprintf("%s %s %s–%s", name, ru.st, seconds(gameday.RoundDuration(ru.from)), seconds(gameday.RoundDuration(ru.to)))})
		}
	}
	c.Legend = []legendItem{
		{Color: colClosed, Label: "closed"}, {Color: colHalfOpen, Label: "half-open"}, {Color: colOpen, Label: "open"},
		{Color: colForced, Label: "forced open"}, {Color: colDisabled, Label: "disabled"},
	}
	return c
}

// throughputChart draws messages and failures per second.
func throughputChart(r *gameday.Result) *svgChart {
	const h = 150.0
	c := newChart(r, "Throughput", "messages handled and failed per second", h, false)
	var top float64
	for _, s := range r.Samples {
		top = math.Max(top, math.Max(s.Throughput, s.FailureRate))
	}
	top = niceMax(top)
	y := c.yGrid(top, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	ax := timeAxis{r.Elapsed}
	var xs, ys, fs []float64
	for _, s := range r.Samples[min(1, len(r.Samples)):] {
		xs = append(xs, ax.x(s.At))
		ys = append(ys, y(s.Throughput))
		fs = append(fs, y(s.FailureRate))
	}
	base := c.PlotY + c.PlotH
	c.Paths = append(c.Paths,
		svgPath{D: areaPath(xs, ys, base), Stroke: "none", Fill: colThrough, Opacity: 0.15},
		svgPath{D: linePath(xs, ys), Stroke: colThrough, Fill: "none", Width: 1.8, Opacity: 1},
		svgPath{D: areaPath(xs, fs, base), Stroke: "none", Fill: colFailures, Opacity: 0.25},
		svgPath{D: linePath(xs, fs), Stroke: colFailures, Fill: "none", Width: 1.5, Opacity: 1},
	)
	c.Legend = []legendItem{{Color: colThrough, Label: "messages/s", Line: true}, {Color: colFailures, Label: "failures/s", Line: true}}
	return c
}

// latencyChart draws the latency series.
func latencyChart(r *gameday.Result) *svgChart {
	const h = 150.0
	title, label := "P99 latency", "99th percentile of the delivered messages' latency"
	if r.LatencyKind == gameday.LatencyMean {
		title, label = "Mean latency", "mean latency of the metered messages"
	}
	c := newChart(r, title, label, h, false)
	var top float64
	for _, s := range r.Samples {
		top = math.Max(top, float64(s.Latency)/float64(time.Millisecond))
	}
	top = niceMax(top)
	y := c.yGrid(top, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "ms" })
	ax := timeAxis{r.Elapsed}
	var xs, ys []float64
	for _, s := range r.Samples[min(1, len(r.Samples)):] {
		if !s.OK {
			continue
		}
		xs = append(xs, ax.x(s.At))
		ys = append(ys, y(float64(s.Latency)/float64(time.Millisecond)))
	}
	c.Paths = append(c.Paths, svgPath{D: linePath(xs, ys), Stroke: colLatency, Fill: "none", Width: 1.8, Opacity: 1})
	c.Legend = []legendItem{{Color: colLatency, Label: strings.ToLower(title), Line: true}}
	return c
}

// queueChart draws the open breakers and the recovery queue.
func queueChart(r *gameday.Result) *svgChart {
	const h = 110.0
	c := newChart(r, "Open breakers and recovery queue", "breakers rejecting calls; services the orchestrator is recovering", h, false)
	top := 1.0
	for _, s := range r.Samples {
		top = math.Max(top, math.Max(float64(s.Open), float64(s.RecoveryQueue)))
	}
	top = math.Max(niceMax(top), 2)
	y := c.yGrid(top, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	ax := timeAxis{r.Elapsed}
	var xs, os, qs []float64
	for _, s := range r.Samples {
		if !s.OK {
			continue
		}
		xs = append(xs, ax.x(s.At))
		os = append(os, y(float64(s.Open)))
		qs = append(qs, y(float64(s.RecoveryQueue)))
	}
	if len(xs) > 0 {
		xs = append(xs, ax.x(r.Elapsed))
		os = append(os, os[len(os)-1])
		qs = append(qs, qs[len(qs)-1])
	}
	base := c.PlotY + c.PlotH
	if len(xs) > 0 {
		c.Paths = append(c.Paths, svgPath{D: fmt.Sprintf("%s V%.1f H%.1f Z", stepPath(xs, os), base, xs[0]),
			Stroke: "none", Fill: colOpen, Opacity: 0.22})
	}
	c.Paths = append(c.Paths,
		svgPath{D: stepPath(xs, os), Stroke: colOpen, Fill: "none", Width: 1.5, Opacity: 1},
		svgPath{D: stepPath(xs, qs), Stroke: colQueue, Fill: "none", Width: 2.2, Opacity: 1},
	)
	c.Legend = []legendItem{{Color: colOpen, Label: "open breakers"}, {Color: colQueue, Label: "recovery queue", Line: true}}
	return c
}

type stateRun struct {
	st       breaker.State
	from, to time.Duration
}

// breakerRuns returns the spans of the breaker's states: the samples'
// states, refined by the exact transitions of the event log when there is
// one (a transition shorter than a sample interval shows too).
func breakerRuns(r *gameday.Result, name string) []stateRun {
	type point struct {
		at time.Duration
		st breaker.State
	}
	var pts []point
	for _, s := range r.Samples {
		if !s.OK {
			continue
		}
		st, found := s.NotClosed[name]
		if !found {
			st = breaker.Closed
		}
		pts = append(pts, point{s.At, st})
	}
	for _, e := range r.Events {
		if e.Kind != "breaker" || e.Subject != name || e.State == "" {
			continue
		}
		st, err := breaker.ParseState(e.State)
		if err != nil {
			continue
		}
		pts = append(pts, point{min(max(e.At, 0), r.Elapsed), st})
	}
	slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.at, b.at) })
	var runs []stateRun
	for i, p := range pts {
		to := r.Elapsed
		if i+1 < len(pts) {
			to = pts[i+1].at
		}
		if n := len(runs); n > 0 && runs[n-1].st == p.st {
			runs[n-1].to = to
			continue
		}
		runs = append(runs, stateRun{st: p.st, from: p.at, to: to})
	}
	return runs
}
