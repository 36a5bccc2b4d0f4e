package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestPredictions(t *testing.T) {
	half := 0.5
	r := &gameday.Result{Scenario: scenario.Default(), Predictions: recovery.PredictionCounts{TruePositives: 1, FalsePositives: 1, Misses: 1, Pending: 2, Precision: &half, Recall: &half}}
	want := "1 followed by an outage, 1 not, 1 outages unpredicted, 2 still pending — precision 50%, recall 50%"
	if got := report.Predictions(r); got != want {
		t.Errorf("Predictions = %q\nwant          %q", got, want)
	}
	var out bytes.Buffer
	if err := report.WriteSummary(&out, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "predictions: "+want) {
		t.Errorf("summary lacks the predictions:\n%s", out.String())
	}
	var html bytes.Buffer
	if err := report.WriteReport(&html, r); err != nil || !strings.Contains(html.String(), "precision 50%") {
		t.Errorf("report: %v", err)
	}
	if got := report.Predictions(&gameday.Result{}); got != "" {
		t.Errorf("no predictions: %q", got)
	}
}
