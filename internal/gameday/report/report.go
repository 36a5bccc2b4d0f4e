package report

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// DefaultFile is the report file of a game day when none is named.
const DefaultFile = "gameday.html"

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f": func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
}).Parse(reportHTML))

type metaItem struct{ Label, Value string }

type eventRow struct{ At, Kind, Subject, Text string }

type chartView struct {
	ID string
	*svgChart
}

type reportData struct {
	Name, Description string
	Meta              []metaItem
	Passed            bool
	Outcome, Rule     string
	MinStatus, Budget string
	Reasons, Notes    []string
	Inconclusive      []string
	Charts            []chartView
	Tenants           []string
	Rows              []phaseRow
	Cascades          []string
	Cluster           *clusterView
	Predictions       string
	Events            []eventRow
	Errors            []string
	Version, Hash     string
	Generated         string
}

// WriteReport writes r as a self-contained HTML page — inline CSS and
// inline SVG charts, no script and no external request: the verdict, the
// health score over time with the phases shaded and the status thresholds
// (0.7 and 0.5) drawn, the breakers' states per agent over time, throughput
// and latency over time, the open breakers and recovery queue, the
// per-phase table, the cluster table of a game day across processes and
// the event log.
func WriteReport(w io.Writer, r *gameday.Result) error {
	ss := scenario.SteadyState{MinStatus: scenario.DefaultMinStatus, RecoveryBudget: scenario.DefaultRecoveryBudget}
	desc := ""
	if r.Scenario != nil {
		ss, desc = r.Scenario.SteadyState, r.Scenario.Description
	}
	d := reportData{
		Name: r.Name, Description: desc, Passed: r.Verdict.Passed,
		Outcome: cmp.Or(r.Verdict.Outcome, gameday.OutcomeFail), Rule: ss.Rule(),
		MinStatus: ss.MinStatus.String(), Budget: ss.RecoveryBudget.String(),
		Reasons: r.Verdict.Reasons, Notes: r.Verdict.Notes, Inconclusive: r.Verdict.Inconclusive,
		Tenants: r.Tenants, Rows: rows(r), Cascades: Cascades(r), Cluster: clusterOf(r), Predictions: Predictions(r), Errors: r.Errors,
		Version: antifragile.Version, Hash: antifragile.ConstitutionalHash,
		Generated: time.Now().UTC().Format(time.RFC3339),
	}
	d.Meta = append(d.Meta, metaItem{"target", r.Description})
	if r.Traffic != "" {
		d.Meta = append(d.Meta, metaItem{"traffic", r.Traffic})
	}
	d.Meta = append(d.Meta,
		metaItem{"started", r.Started.Format("2006-01-02 15:04:05 UTC")},
		metaItem{"duration", gameday.RoundDuration(r.Elapsed).String()},
		metaItem{"phases", strconv.Itoa(len(r.Phases))},
		metaItem{"samples", fmt.Sprintf("%d every %s", len(r.Samples), r.SampleInterval.Round(time.Millisecond))},
	)
	if r.Scale != 0 && r.Scale != 1 {
		d.Meta = append(d.Meta, metaItem{"time scale", strconv.FormatFloat(r.Scale, 'f', 3, 64) + "×"})
	}
	if r.Seed != 0 {
		d.Meta = append(d.Meta, metaItem{"seed", strconv.FormatUint(r.Seed, 10)})
	}
	if r.Interrupted {
		d.Meta = append(d.Meta, metaItem{"interrupted", "yes"})
	}
	lay := newLayout(r)
	charts := []*svgChart{
		healthChart(r, lay, health.DefaultDegradedThreshold, health.DefaultCriticalThreshold),
		breakerChart(r, lay),
		throughputChart(r, lay),
		latencyChart(r, lay),
		queueChart(r, lay),
	}
	ids := []string{"health", "breakers", "throughput", "latency", "queue"}
	for i, c := range charts {
		d.Charts = append(d.Charts, chartView{ID: ids[i], svgChart: c})
	}
	for _, e := range r.Events {
		d.Events = append(d.Events, eventRow{At: gameday.RoundDuration(e.At).String(), Kind: e.Kind, Subject: e.Subject, Text: e.Text})
	}
	return reportTmpl.Execute(w, d)
}

// CheckWritable reports, before a game day runs, why its report could not
// be written to path: a directory that does not exist or refuses new files,
// or a path that names a directory. It creates a temporary file in the
// directory, as WriteReportFile will, and removes it; nil when that works.
func CheckWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; name a file such as %s", path, filepath.Join(path, DefaultFile))
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".gameday-check-*.html")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot create a file in %s: %w", dir, err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// WriteReportFile writes the report to path, through a temporary file in
// the same directory renamed into place.
func WriteReportFile(path string, r *gameday.Result) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".gameday-*.html")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if err = WriteReport(f, r); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
