package ops_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/opstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

const token = "s3cret-token-for-ops"

// system is every component the ops handler serves, built for one test.
type system struct {
	reg   *breaker.Registry
	agg   *health.Aggregator
	orch  *recovery.Orchestrator
	eng   *chaos.Engine
	meter *metering.Meter
	bus   *bus.Bus
	opts  ops.Options
	h     http.Handler
}

// newSystem builds a registry with the breakers "db" and "cache", a health
// aggregator, a recovery orchestrator, a chaos engine, a meter and a bus
// with the agent "validator", all closed when the test ends. mod may adjust
// the options before the handler is built.
func newSystem(t testing.TB, mod ...func(*ops.Options)) *system {
	t.Helper()
	sys := opstest.New(t, token, mod...)
	return &system{
		reg: sys.Registry(), agg: sys.Health(), orch: sys.Recovery(), eng: sys.Chaos(),
		meter: sys.Meter(), bus: sys.Bus(), opts: sys.Options, h: ops.Handler(sys.Options),
	}
}

// do serves one request through h and returns the recorded response.
func do(t testing.TB, h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkCommonHeaders(t, rec)
	return rec
}

// auth returns the header pair of the right bearer token.
func auth() []string { return []string{"Authorization", "Bearer " + token} }

func checkCommonHeaders(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	for k := range rec.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("CORS header %s set", k)
		}
	}
}

// envelope decodes an error response, failing the test unless it is a
// well-formed envelope with the wanted status.
func envelope(t testing.TB, rec *httptest.ResponseRecorder, status int) api.ErrorEnvelope {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != api.ContentTypeJSON {
		t.Errorf("Content-Type = %q", ct)
	}
	var env api.ErrorEnvelope
	if err := api.DecodeStrict(rec.Body, &env); err != nil {
		t.Fatalf("body is not an envelope: %v", err)
	}
	if env.Error == "" {
		t.Errorf("envelope without error: %+v", env)
	}
	return env
}

// decode decodes a successful JSON response into v.
func decode(t testing.TB, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decoding %T: %v; body %s", v, err, rec.Body)
	}
}
