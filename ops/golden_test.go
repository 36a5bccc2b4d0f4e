package ops_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/metering"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestHandler_Golden")

// TestHandler_Golden pins the wire form of every route, byte for byte: the
// same requests against the same system, at the same fake time, must give
// the same status, content type and body as testdata/golden holds. A change
// to any JSON the API serves shows up here; regenerate with
// `go test ./ops -run TestHandler_Golden -update` only when the change is
// meant.
func TestHandler_Golden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSystem(t)
		s.meter.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 7, Latency: 3 * time.Millisecond})
		if err := s.meter.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.bus.Send(context.Background(), bus.NewMessage("proposer", "validator", "validate", nil)); err != nil {
			t.Fatal(err)
		}
		s.agg.Collect()
		steps := []struct {
			name, method, target, body string
			authed                     bool
		}{
			{"index", "GET", "/", "", false},
			{"livez", "GET", "/livez", "", false},
			{"readyz", "GET", "/readyz", "", false},
			{"health", "GET", "/health", "", false},
			{"health-history", "GET", "/health/history?window=5m", "", false},
			{"breakers", "GET", "/breakers", "", false},
			{"recovery", "GET", "/recovery", "", false},
			{"chaos-scenarios-empty", "GET", "/chaos/scenarios", "", false},
			{"chaos-metrics", "GET", "/chaos/metrics", "", false},
			{"metering", "GET", "/metering", "", false},
			{"bus", "GET", "/bus", "", false},
			{"metrics", "GET", "/metrics", "", false},
			{"breaker-force-open", "POST", "/breakers/db/force-open", "", true},
			{"breakers-forced", "GET", "/breakers", "", false},
			{"breaker-release", "POST", "/breakers/db/release", "", true},
			{"breaker-reset", "POST", "/breakers/cache/reset", "", true},
			{"breaker-remove", "DELETE", "/breakers/cache", "", true},
			{"breakers-after-remove", "GET", "/breakers", "", false},
			{"recovery-schedule", "POST", "/recovery/db", `{"strategy":"manual","priority":2,"policy":{"max_retry_attempts":3,"initial_delay":"500ms"}}`, true},
			{"recovery-scheduled", "GET", "/recovery", "", false},
			{"recovery-resolve", "POST", "/recovery/db/resolve", "", true},
			{"recovery-schedule-again", "POST", "/recovery/cache", `{"strategy":"exponential_backoff"}`, true},
			{"recovery-cancel", "DELETE", "/recovery/cache", "", true},
			{"recovery-history", "GET", "/recovery/cache/history", "", false},
			{"chaos-inject", "POST", "/chaos/scenarios", `{"name":"slow","type":"latency","target":"validator","delay":"1ms","duration":"30s"}`, true},
			{"chaos-scenarios", "GET", "/chaos/scenarios", "", false},
			{"chaos-scenario", "GET", "/chaos/scenarios/slow", "", false},
			{"chaos-end", "DELETE", "/chaos/scenarios/slow", "", true},
			{"chaos-emergency-stop", "POST", "/chaos/emergency-stop", "", true},
			{"chaos-inject-stopped", "POST", "/chaos/scenarios", `{"name":"x","type":"error","target":"db","error_rate":0.5,"duration":"1s"}`, true},
			{"chaos-reset", "POST", "/chaos/reset", "", true},
			{"error-unknown-breaker", "POST", "/breakers/nobody/reset", "", true},
			{"error-no-token", "POST", "/breakers/db/reset", "", false},
			{"error-bad-body", "POST", "/chaos/scenarios", `{"name":"y","type":"latency","target":"db","delay":50}`, true},
			{"error-method", "PUT", "/breakers", "", false},
			{"error-unknown-scenario", "GET", "/chaos/scenarios/nope", "", false},
		}
		var got bytes.Buffer
		for _, st := range steps {
			var hdr []string
			if st.authed {
				hdr = auth()
			}
			rec := do(t, s.h, st.method, st.target, st.body, hdr...)
			fmt.Fprintf(&got, "== %s %s %s\n%d %s\n%s\n", st.name, st.method, st.target, rec.Code, rec.Header().Get("Content-Type"),
				strings.TrimRight(rec.Body.String(), "\n"))
		}
		path := filepath.Join("testdata", "golden.txt")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
			for i := range max(len(gl), len(wl)) {
				var g, w string
				if i < len(gl) {
					g = gl[i]
				}
				if i < len(wl) {
					w = wl[i]
				}
				if g != w {
					t.Fatalf("the wire form changed at line %d:\n got: %s\nwant: %s", i+1, g, w)
				}
			}
		}
	})
}
