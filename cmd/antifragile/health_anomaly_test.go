package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/health"
)

func TestPrintReport_anomalies(t *testing.T) {
	rep := &health.Report{Anomalies: []health.Anomaly{
		{Breaker: "ledger", Metric: health.ErrorRate, Baseline: 0.012, Threshold: 0.062, Current: 0.31, Since: time.Now().Add(-4 * time.Second)},
		{Breaker: "search", Metric: health.MeanLatency, Baseline: 0.0042, Threshold: 0.0063, Current: 0.0251, Since: time.Now()},
	}}
	var out bytes.Buffer
	printReport(&out, rep, false)
	for _, want := range []string{"at risk", "ledger", "error_rate", "1.2%", "6.2%", "31.0%", "search", "latency", "4.2ms", "25.1ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printReport(&out, &health.Report{}, false)
	if strings.Contains(out.String(), "at risk") {
		t.Errorf("no anomalies, yet:\n%s", out.String())
	}
	line := anomalyLine(health.AnomalyEvent{Kind: "at_risk", Anomaly: rep.Anomalies[0], Time: time.Now()})
	if !strings.Contains(line, "ledger at risk: error_rate 31.0% (baseline 1.2%, threshold 6.2%)") {
		t.Errorf("watch line = %q", line)
	}
}
