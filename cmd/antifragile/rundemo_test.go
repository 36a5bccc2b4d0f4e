package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/dashboard"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

func TestRunDemo(t *testing.T) {
	t.Parallel()
	t.Run("runs the built-in game day end to end and passes", func(t *testing.T) {
		t.Parallel()
		reportPath := filepath.Join(t.TempDir(), "report.html")
		if p := os.Getenv("GAMEDAY_REPORT"); p != "" {
			reportPath = p // keep it to look at
		}
		var out bytes.Buffer
		var page, health int
		var pageType string
		res, err := playDemo(context.Background(), demoConfig{
			Addr: "127.0.0.1:0", Duration: 3 * time.Second, Report: reportPath, Seed: 3,
			Dashboard: dashboard.Handler(), Out: &out,
			Ready: func(url, token string) {
				if len(token) != 64 {
					t.Errorf("token %q is not 32 random bytes in hex", token)
				}
				page, pageType = get(t, url+"/")
				health, _ = get(t, url+"/health")
			},
		})
		if err != nil {
			t.Fatalf("RunDemo: %v\n%s", err, out.String())
		}
		if err := res.Err(); err != nil {
			t.Fatalf("verdict: %v\n%s", err, out.String())
		}
		if storm := res.Phases[2]; storm.Name != "error-storm" || !storm.Detected || !storm.Recovered {
			t.Errorf("error storm: %+v", storm)
		}
		if part := res.Phases[5]; !part.Detected || !part.Recovered {
			t.Errorf("partition: %+v", part)
		}
		if page != http.StatusOK || !strings.HasPrefix(pageType, "text/html") || health != http.StatusOK {
			t.Errorf("GET / = %d %q, GET /health = %d", page, pageType, health)
		}
		for _, want := range []string{"dashboard  http://127.0.0.1:", "token  ", "seed       3", "phase 7/7 final-steady",
			"verdict: PASS", "report: " + reportPath} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		html, err := os.ReadFile(reportPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<svg ", "Health score", "Circuit breakers", "Throughput", "P99 latency", "PASS"} {
			if !bytes.Contains(html, []byte(want)) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
	t.Run("refuses an address in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, err = playDemo(context.Background(), demoConfig{Addr: ln.Addr().String(), Duration: time.Second,
			Report: filepath.Join(t.TempDir(), "r.html")})
		if err == nil || !strings.Contains(err.Error(), "did not start") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("refuses a scenario aimed at unknown agents", func(t *testing.T) {
		sc, err := scenario.Parse([]byte(`{"name":"x","phases":[{"name":"a","duration":"1s","faults":[{"type":"network_partition","target":"ghost"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		_, err = playDemo(context.Background(), demoConfig{Addr: "127.0.0.1:0", Scenario: sc})
		if err == nil || !strings.Contains(err.Error(), "phases[0].faults[0].target") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("refuses a bad address", func(t *testing.T) {
		_, err := playDemo(context.Background(), demoConfig{Addr: "localhost"})
		if err == nil || !strings.Contains(err.Error(), "addr") {
			t.Errorf("err = %v", err)
		}
	})
}

// get returns the status and content type of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type")
}

func TestRunDemo_TypedNil(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   demoConfig
		field string
	}{
		{"refuses a typed-nil output", demoConfig{Out: (*bytes.Buffer)(nil)}, "out"},
		{"refuses a typed-nil dashboard", demoConfig{Dashboard: http.HandlerFunc(nil)}, "dashboard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := playDemo(t.Context(), tc.cfg)
			if res != nil {
				t.Error("playDemo returned a result")
			}
			if !slices.Contains(antifragile.InvalidFields(err), tc.field) || !errors.Is(err, antifragile.ErrNil) {
				t.Fatalf("err = %v, want a *ValidationError for %s wrapping ErrNil", err, tc.field)
			}
		})
	}
}
