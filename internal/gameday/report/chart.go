package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/antifragile-go/antifragile/internal/gameday"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// The geometry shared by every chart, so that their time axes line up.
const (
	chartW      = 1040.0
	minLeft     = 118.0 // the least left margin, for the y axis's labels and title
	maxLeft     = 420.0 // the widest left margin, for long breaker names
	chartRight  = 24.0
	chartTop    = 30.0 // above a chart without phase labels
	chartBottom = 46.0 // the time axis's labels and title
	labelRow    = 15.0 // the height of a row of phase labels
	charW       = 6.6  // the width of a character of the labels, about
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

// layout is the geometry every chart of a report shares: the left margin,
// wide enough for the longest breaker name, and the phase labels in as many
// rows as they need so that none is cut.
type layout struct {
	left   float64
	labels []phaseLabel
	rows   int
}

type phaseLabel struct {
	x   float64 // its centre
	row int
	txt string
}

// newLayout returns the layout of the charts of r.
func newLayout(r *gameday.Result) layout {
	lay := layout{left: minLeft}
	names, _ := lanes(r)
	for _, n := range names {
		lay.left = max(lay.left, float64(utf8.RuneCountInString(n))*charW+40)
	}
	lay.left = min(lay.left, maxLeft)
	ax := timeAxis{end: r.Elapsed, left: lay.left, w: chartW - lay.left - chartRight}
	var ends []float64 // per row, where its last label ends
	for _, ph := range r.Phases {
		if !ph.Ran {
			continue
		}
		w := float64(utf8.RuneCountInString(ph.Name)) * charW
		x := (ax.x(ph.Start) + ax.x(ph.End)) / 2
		x = max(x, ax.left+w/2)
		x = min(x, ax.left+ax.w-w/2)
		row := 0
		for row < len(ends) && ends[row]+8 > x-w/2 {
			row++
		}
		if row == len(ends) {
			ends = append(ends, 0)
		}
		ends[row] = x + w/2
		lay.labels = append(lay.labels, phaseLabel{x: x, row: row, txt: ph.Name})
	}
	lay.rows = max(len(ends), 1)
	return lay
}

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
	Dash    string
}

type svgText struct {
	X, Y   float64
	Anchor string
	Size   float64
	Fill   string
	Weight string
	Text   string
	// Rotate turns the text a quarter left around (X, Y): a y axis's title.
	Rotate bool
	// Tip is the full text, shown on hover.
	Tip string
}

// legendItem is one entry of a chart's legend: a line (dashed or not) or
// a filled swatch of Color.
type legendItem struct {
	Color, Label string
	Line, Dash   bool
}

// timeAxis maps offsets of the game day to x coordinates.
type timeAxis struct {
	end     time.Duration
	left, w float64
}

func (a timeAxis) x(t time.Duration) float64 {
	if a.end <= 0 {
		return a.left
	}
	f := float64(t) / float64(a.end)
	return a.left + math.Max(0, math.Min(1, f))*a.w
}

// axis returns the time axis of c.
func (c *svgChart) axis(r *gameday.Result) timeAxis {
	return timeAxis{end: r.Elapsed, left: c.PlotX, w: c.PlotW}
}

// chartSpec says what newChart draws: the titles, the plot's height, the
// y axis's title, whether the phase labels go above and the height of a
// strip between the plot and the time axis.
type chartSpec struct {
	title, subtitle, yTitle string
	h, strip                float64
	phaseLabels             bool
}

// newChart returns a chart laid out by lay, with the phase bands and
// labels, the fault windows, the time grid and the axes' titles drawn.
func newChart(r *gameday.Result, lay layout, sp chartSpec) *svgChart {
	top := chartTop
	if sp.phaseLabels {
		top = 14 + float64(lay.rows)*labelRow
	}
	h := sp.h
	c := &svgChart{Title: sp.title, Subtitle: sp.subtitle, W: chartW, H: top + h + sp.strip + chartBottom,
		PlotX: lay.left, PlotY: top, PlotW: chartW - lay.left - chartRight, PlotH: h}
	c.phases(r, lay, sp.phaseLabels)
	c.faults(r)
	c.timeGrid(r, sp.strip)
	if sp.yTitle != "" {
		c.Texts = append(c.Texts, svgText{X: 16, Y: c.PlotY + h/2, Anchor: "middle", Size: 11, Fill: colAxis, Weight: "600",
			Text: sp.yTitle, Rotate: true})
	}
	return c
}

// phases draws the phase bands and separators, and the labels when asked.
func (c *svgChart) phases(r *gameday.Result, lay layout, labels bool) {
	ax := c.axis(r)
	for i, ph := range r.Phases {
		if !ph.Ran {
			continue
		}
		x0, x1 := ax.x(ph.Start), ax.x(ph.End)
		fill := colBandA
		if i%2 == 1 {
			fill = colBandB
		}
		c.Bands = append(c.Bands, svgRect{X: x0, Y: c.PlotY, W: math.Max(x1-x0, 0), H: c.PlotH, Fill: fill, Opacity: 1,
			Tip: fmt.Sprintf("phase %s: %s–%s", ph.Name, seconds(gameday.RoundDuration(ph.Start)), seconds(gameday.RoundDuration(ph.End)))})
		if i > 0 {
			c.Lines = append(c.Lines, svgLine{X1: x0, Y1: c.PlotY - 4, X2: x0, Y2: c.PlotY + c.PlotH, Stroke: colPhaseLine, Width: 1})
		}
	}
	if !labels {
		return
	}
	for _, l := range lay.labels {
		y := c.PlotY - 8 - float64(lay.rows-1-l.row)*labelRow
		c.Texts = append(c.Texts, svgText{X: l.x, Y: y, Anchor: "middle", Size: 11, Fill: colAxis, Weight: "600", Text: l.txt})
	}
}

// faults hatches the windows of the injected faults.
func (c *svgChart) faults(r *gameday.Result) {
	ax := c.axis(r)
	for _, f := range r.Faults {
		if !f.WasInjected() {
			continue
		}
		end := r.Elapsed
		if f.Ended >= 0 {
			end = f.Ended
		}
		x0, x1 := ax.x(f.Injected), ax.x(end)
		c.Hatches = append(c.Hatches, svgRect{X: x0, Y: c.PlotY, W: math.Max(x1-x0, 1), H: c.PlotH,
			Tip: fmt.Sprintf("fault %s: %s", f.Scenario.Name, f.Describe())})
	}
}

// timeGrid draws the time axis under the plot (and the strip), its ticks,
// labels and title.
func (c *svgChart) timeGrid(r *gameday.Result, strip float64) {
	ax := c.axis(r)
	step := niceStep(r.Elapsed.Seconds() / 10)
	axis := c.PlotY + c.PlotH + strip
	for s := 0.0; s <= r.Elapsed.Seconds()+1e-9; s += step {
		x := ax.x(time.Duration(s * float64(time.Second)))
		c.Lines = append(c.Lines, svgLine{X1: x, Y1: axis, X2: x, Y2: axis + 4, Stroke: colAxis, Width: 1})
		c.Texts = append(c.Texts, svgText{X: x, Y: axis + 17, Anchor: "middle", Size: 10.5, Fill: colAxis,
			Text: strconv.FormatFloat(s, 'f', -1, 64) + "s"})
	}
	c.Lines = append(c.Lines, svgLine{X1: c.PlotX, Y1: c.PlotY + c.PlotH, X2: c.PlotX + c.PlotW, Y2: c.PlotY + c.PlotH, Stroke: colAxis, Width: 1})
	c.Texts = append(c.Texts, svgText{X: c.PlotX + c.PlotW/2, Y: axis + 36, Anchor: "middle", Size: 11, Fill: colAxis, Weight: "600",
		Text: xTitle})
}

// xTitle is the title of every chart's time axis.
const xTitle = "time since the start of the game day (s)"

// yGrid draws horizontal grid lines and labels for values 0..top, at
// least minStep apart.
func (c *svgChart) yGrid(top, minStep float64, format func(float64) string) func(float64) float64 {
	y := func(v float64) float64 {
		if top <= 0 {
			return c.PlotY + c.PlotH
		}
		return c.PlotY + c.PlotH - math.Max(0, math.Min(1, v/top))*c.PlotH
	}
	step := max(niceStep(top/4), minStep)
	for v := 0.0; v <= top+1e-9; v += step {
		c.Lines = append(c.Lines, svgLine{X1: c.PlotX, Y1: y(v), X2: c.PlotX + c.PlotW, Y2: y(v), Stroke: colGrid, Width: 1})
		c.Texts = append(c.Texts, svgText{X: c.PlotX - 8, Y: y(v) + 3.5, Anchor: "end", Size: 10.5, Fill: colAxis, Text: format(v)})
	}
	return y
}

// logGrid draws a logarithmic grid for latencies from lo to hi (powers of
// ten of microseconds, lo < hi) and returns the y of a latency; a
// latency of 0 is below the plot.
func (c *svgChart) logGrid(lo, hi float64) func(time.Duration) float64 {
	span := math.Log10(hi) - math.Log10(lo)
	y := func(d time.Duration) float64 {
		us := float64(d) / float64(time.Microsecond)
		f := (math.Log10(math.Max(us, lo)) - math.Log10(lo)) / span
		return c.PlotY + c.PlotH - math.Max(0, math.Min(1, f))*c.PlotH
	}
	for v := lo; v <= hi*1.0001; v *= 10 {
		d := time.Duration(v * float64(time.Microsecond))
		c.Lines = append(c.Lines, svgLine{X1: c.PlotX, Y1: y(d), X2: c.PlotX + c.PlotW, Y2: y(d), Stroke: colGrid, Width: 1})
		c.Texts = append(c.Texts, svgText{X: c.PlotX - 8, Y: y(d) + 3.5, Anchor: "end", Size: 10.5, Fill: colAxis, Text: latencyLabel(d)})
	}
	return y
}

// latencyLabel names a power-of-ten latency: 1µs, 10µs, … 1ms, … 10s.
func latencyLabel(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// decades returns the powers of ten of microseconds that bound the
// positive latencies of r: at least two decades, 1 µs at the least.
func decades(r *gameday.Result) (lo, hi float64) {
	minUS, maxUS := math.Inf(1), 0.0
	for _, s := range r.Samples {
		if us := float64(s.Latency) / float64(time.Microsecond); s.OK && us > 0 {
			minUS, maxUS = math.Min(minUS, us), math.Max(maxUS, us)
		}
	}
	if maxUS == 0 {
		return 1, 1000
	}
	lo = math.Pow(10, math.Floor(math.Log10(math.Max(minUS, 1))))
	hi = math.Pow(10, math.Ceil(math.Log10(maxUS)))
	for hi/lo < 99 {
		hi *= 10
	}
	return lo, hi
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
func healthChart(r *gameday.Result, lay layout, degraded, critical float64) *svgChart {
	const strip = 22.0
	c := newChart(r, lay, chartSpec{title: "Health score", subtitle: "weighted share of closed breakers (0–1); shaded: phases, hatched: faults active",
		yTitle: "score (0–1)", h: 220, strip: strip, phaseLabels: true})
	y := func(v float64) float64 { return c.PlotY + c.PlotH - v*c.PlotH }
	left, right := c.PlotX, c.PlotX+c.PlotW
	// Status zones, faint, under the phase bands' separators.
	c.Bands = append(c.Bands,
		svgRect{X: left, Y: y(1), W: c.PlotW, H: y(degraded) - y(1), Fill: colHealthy, Opacity: 0.05},
		svgRect{X: left, Y: y(degraded), W: c.PlotW, H: y(critical) - y(degraded), Fill: colDegraded, Opacity: 0.08},
		svgRect{X: left, Y: y(critical), W: c.PlotW, H: y(0) - y(critical), Fill: colCritical, Opacity: 0.06})
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c.Lines = append(c.Lines, svgLine{X1: left, Y1: y(v), X2: right, Y2: y(v), Stroke: colGrid, Width: 1})
		c.Texts = append(c.Texts, svgText{X: left - 8, Y: y(v) + 3.5, Anchor: "end", Size: 10.5, Fill: colAxis,
			Text: strconv.FormatFloat(v, 'f', 2, 64)})
	}
	c.Lines = append(c.Lines,
		svgLine{X1: left, Y1: y(degraded), X2: right, Y2: y(degraded), Stroke: colDegraded, Width: 1.5, Dash: "6 4"},
		svgLine{X1: left, Y1: y(critical), X2: right, Y2: y(critical), Stroke: colCritical, Width: 1.5, Dash: "2 3"})
	c.Texts = append(c.Texts,
		svgText{X: right - 6, Y: y(degraded) - 5, Anchor: "end", Size: 10.5, Fill: "#8a5a00", Weight: "600",
			Text: "DEGRADED below " + strconv.FormatFloat(degraded, 'f', -1, 64)},
		svgText{X: right - 6, Y: y(critical) - 5, Anchor: "end", Size: 10.5, Fill: colCritical, Weight: "600",
			Text: "CRITICAL below " + strconv.FormatFloat(critical, 'f', -1, 64)},
	)
	ax := c.axis(r)
	var xs, ys []float64
	for _, s := range r.Samples {
		if s.OK {
			xs, ys = append(xs, ax.x(s.At)), append(ys, y(s.Score))
		}
	}
	if len(xs) > 0 {
		xs, ys = append(xs, ax.x(r.Elapsed)), append(ys, ys[len(ys)-1])
	}
	c.Paths = append(c.Paths, svgPath{D: stepPath(xs, ys), Stroke: colScore, Fill: "none", Width: 2.2, Opacity: 1})
	c.statusStrip(r)
	c.Legend = []legendItem{
		{Color: colScore, Label: "health score", Line: true},
		{Color: colDegraded, Label: "DEGRADED threshold", Line: true, Dash: true},
		{Color: colCritical, Label: "CRITICAL threshold", Line: true, Dash: true},
		{Color: colHealthy, Label: "HEALTHY"}, {Color: colDegraded, Label: "DEGRADED"}, {Color: colCritical, Label: "CRITICAL"},
		{Color: colUnknown, Label: "UNKNOWN"},
	}
	return c
}

// statusStrip draws the status over time under the plot.
func (c *svgChart) statusStrip(r *gameday.Result) {
	ax := c.axis(r)
	sy := c.PlotY + c.PlotH + 6
	c.Texts = append(c.Texts, svgText{X: c.PlotX - 8, Y: sy + 9.5, Anchor: "end", Size: 10.5, Fill: colAxis, Text: "status"})
	for _, run := range statusRuns(r) {
		x0, x1 := ax.x(run.from), ax.x(run.to)
		c.Rects = append(c.Rects, svgRect{X: x0, Y: sy, W: math.Max(x1-x0, 0.5), H: 12, Fill: statusColor(run.status), Opacity: 1,
			Tip: fmt.Sprintf("%s %s–%s", run.status, seconds(gameday.RoundDuration(run.from)), seconds(gameday.RoundDuration(run.to)))})
	}
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
func breakerChart(r *gameday.Result, lay layout) *svgChart {
	names, hidden := lanes(r)
	sub := "one lane per breaker, coloured by state"
	if hidden > 0 {
		sub += fmt.Sprintf("; %d more stayed closed throughout", hidden)
	}
	h := math.Max(float64(len(names))*laneH, laneH)
	c := newChart(r, lay, chartSpec{title: "Circuit breakers", subtitle: sub, h: h, phaseLabels: true})
	ax := c.axis(r)
	maxChars := int((c.PlotX - 16) / charW)
	for li, name := range names {
		y := c.PlotY + float64(li)*laneH
		c.Texts = append(c.Texts, svgText{X: c.PlotX - 8, Y: y + laneH/2 + 4, Anchor: "end", Size: 11.5, Fill: "#1d2733",
			Text: gameday.Truncate(name, maxChars), Tip: name})
		for _, ru := range breakerRuns(r, name) {
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
func throughputChart(r *gameday.Result, lay layout) *svgChart {
	c := newChart(r, lay, chartSpec{title: "Throughput", subtitle: "messages handled and failed per second",
		yTitle: "messages / s", h: 150})
	var top float64
	for _, s := range r.Samples {
		top = math.Max(top, math.Max(s.Throughput, s.FailureRate))
	}
	y := c.yGrid(niceMax(top), 0, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	ax := c.axis(r)
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
		svgPath{D: linePath(xs, fs), Stroke: colFailures, Fill: "none", Width: 1.5, Opacity: 1, Dash: "5 3"},
	)
	c.Legend = []legendItem{{Color: colThrough, Label: "messages/s", Line: true}, {Color: colFailures, Label: "failures/s", Line: true, Dash: true}}
	return c
}

// latencyChart draws the latency series on a logarithmic axis, so that
// microsecond baselines and 100 ms faults both show; an observation
// without latency (no message delivered) leaves a gap.
func latencyChart(r *gameday.Result, lay layout) *svgChart {
	title, label := "P99 latency", "99th percentile of the delivered messages' latency, log scale; gaps: no message delivered"
	if r.LatencyKind == gameday.LatencyMean {
		title, label = "Mean latency", "mean latency of the metered messages, log scale; gaps: no message metered"
	}
	c := newChart(r, lay, chartSpec{title: title, subtitle: label, yTitle: "latency (log)", h: 170})
	y := c.logGrid(decades(r))
	ax := c.axis(r)
	var b strings.Builder
	pen := false
	for _, s := range r.Samples[min(1, len(r.Samples)):] {
		if !s.OK || s.Latency <= 0 {
			pen = false
			continue
		}
		cmd := 'L'
		if !pen {
			cmd = 'M'
		}
		fmt.Fprintf(&b, "%c%.1f,%.1f ", cmd, ax.x(s.At), y(s.Latency))
		pen = true
	}
	c.Paths = append(c.Paths, svgPath{D: strings.TrimSpace(b.String()), Stroke: colLatency, Fill: "none", Width: 1.8, Opacity: 1})
	c.Legend = []legendItem{{Color: colLatency, Label: strings.ToLower(title), Line: true}}
	return c
}

// queueChart draws the open breakers (a filled step area) and the recovery
// queue (a dashed line over it), so that the two tell apart when equal.
func queueChart(r *gameday.Result, lay layout) *svgChart {
	c := newChart(r, lay, chartSpec{title: "Open breakers and recovery queue",
		subtitle: "breakers rejecting calls (area); services the orchestrator is recovering (dashed line)", yTitle: "count", h: 110})
	top := 1.0
	for _, s := range r.Samples {
		top = math.Max(top, math.Max(float64(s.Open), float64(s.RecoveryQueue)))
	}
	y := c.yGrid(math.Max(niceMax(top), 2), 1, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	ax := c.axis(r)
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
		c.Paths = append(c.Paths, svgPath{D: fmt.Sprintf("%s V%.1f H%.1f Z", stepPath(xs, os), c.PlotY+c.PlotH, xs[0]),
			Stroke: "none", Fill: colOpen, Opacity: 0.18})
	}
	c.Paths = append(c.Paths,
		svgPath{D: stepPath(xs, os), Stroke: colOpen, Fill: "none", Width: 1.2, Opacity: 1},
		svgPath{D: stepPath(xs, qs), Stroke: colQueue, Fill: "none", Width: 2.6, Opacity: 1, Dash: "7 4"},
	)
	c.Legend = []legendItem{{Color: colOpen, Label: "open breakers"}, {Color: colQueue, Label: "recovery queue", Line: true, Dash: true}}
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
