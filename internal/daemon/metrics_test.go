package daemon_test

import (
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestDaemon_Metrics: the daemon's /metrics serves the toolkit's series
// with the Go runtime's and the process's, all of them clean by the
// Prometheus client library's own lint.
func TestDaemon_Metrics(t *testing.T) {
	r := start(t, parse(t, `{"breakers":{"named":{"db":{"slow_call_threshold":"1s"}}}}`))
	b, _ := r.Registry().Get("db")
	_ = b.Execute(func() error { return nil })
	if err := r.Bus().Register("validator", echo); err != nil {
		t.Fatal(err)
	}
	sendN(t, r.Bus(), 3)

	code, body := get(t, r.URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", code, body)
	}
	want := []string{
		"# TYPE go_goroutines gauge",
		"# TYPE go_gc_duration_seconds summary",
		"# TYPE antifragile_info gauge",
		"# TYPE antifragile_breaker_call_duration_seconds histogram",
		`antifragile_breaker_call_duration_seconds_count{name="db"} 1`,
		"# TYPE antifragile_bus_message_duration_seconds histogram",
		`antifragile_bus_message_duration_seconds_count{agent="validator"} 3`,
	}
	if runtime.GOOS == "linux" {
		want = append(want, "# TYPE process_cpu_seconds_total counter", "# TYPE process_resident_memory_bytes gauge")
	}
	for _, line := range want {
		if !strings.Contains(body+"\n", line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	problems, err := promlint.New(strings.NewReader(body + "\n")).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
