package ops_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/ops"
)

// TestIssue13_RefusedWriteDoesNotWaitForTheBody: a write without the token
// is answered at once, and its connection closed, although the body it
// announced never comes.
func TestIssue13_RefusedWriteDoesNotWaitForTheBody(t *testing.T) {
	s := newSystem(t)
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a watchdog, not a timing assertion
	if _, err := io.WriteString(conn, "POST /breakers/db/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("status %d, close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the connection stayed open: read %v", err)
	}
}

// logCapture collects the records of a slog.Logger.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// TestIssue13_AuditLines: every write and every refused authentication
// writes an audit line naming the route, the remote and the outcome, never
// the token.
func TestIssue13_AuditLines(t *testing.T) {
	var logs logCapture
	s := newSystem(t, func(o *ops.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	do(t, s.h, "POST", "/breakers/db/force-open", "", auth()...)
	do(t, s.h, "POST", "/breakers/db/release", "", "Authorization", "Bearer wrong-token-value")
	do(t, s.h, "POST", "/chaos/emergency-stop", "")
	out := logs.String()
	for _, want := range []string{
		`msg="ops audit" method=POST path=/breakers/db/force-open route="POST /breakers/{name}/force-open" remote=192.0.2.1:1234 outcome=done status=200`,
		`path=/breakers/db/release route="POST /breakers/{name}/release" remote=192.0.2.1:1234 outcome=refused status=403`,
		`path=/chaos/emergency-stop route="POST /chaos/emergency-stop" remote=192.0.2.1:1234 outcome=refused status=401`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no audit line %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, "wrong-token-value") {
		t.Errorf("a token reached the log:\n%s", out)
	}
}

func TestIssue13_ReadToken(t *testing.T) {
	const readToken = "read-only-token-1234"
	s := newSystem(t, func(o *ops.Options) { o.ReadToken = readToken })
	if rec := do(t, s.h, "GET", "/metering", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /metering without a token = %d, want 401", rec.Code)
	}
	if rec := do(t, s.h, "GET", "/metering", "", "Authorization", "Bearer "+readToken); rec.Code != http.StatusOK {
		t.Errorf("with the read token = %d", rec.Code)
	}
	if rec := do(t, s.h, "GET", "/breakers", "", auth()...); rec.Code != http.StatusOK {
		t.Errorf("with the write token = %d", rec.Code)
	}
	if rec := do(t, s.h, "POST", "/breakers/db/reset", "", "Authorization", "Bearer "+readToken); rec.Code != http.StatusForbidden {
		t.Errorf("a write with the read token = %d, want 403", rec.Code)
	}
	for _, probe := range []string{"/livez", "/readyz"} {
		if rec := do(t, s.h, "GET", probe, ""); rec.Code == http.StatusUnauthorized {
			t.Errorf("%s needs a token: probes must stay open", probe)
		}
	}
}

// TestIssue13_HostCheck: a server that allows only its loopback names does
// not answer a page that reached it through another host name.
func TestIssue13_HostCheck(t *testing.T) {
	s := newSystem(t, func(o *ops.Options) { o.AllowedHosts = []string{"127.0.0.1", "localhost", "::1"} })
	for host, want := range map[string]int{
		"localhost:8080": http.StatusOK, "127.0.0.1:8080": http.StatusOK, "[::1]:8080": http.StatusOK,
		"evil.example": http.StatusMisdirectedRequest, "evil.example:8080": http.StatusMisdirectedRequest,
	} {
		req := httptest.NewRequest("GET", "/health", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
		if want != http.StatusOK {
			envelope(t, rec, want)
		}
	}
}

func TestIssue13_UnknownRoutesAndMetrics(t *testing.T) {
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>") })
	s := newSystem(t, func(o *ops.Options) { o.Dashboard = dash })
	envelope(t, do(t, s.h, "POST", "/nonexistent", ""), http.StatusNotFound)
	envelope(t, do(t, s.h, "PUT", "/breakers", ""), http.StatusMethodNotAllowed)
	if rec := do(t, s.h, "GET", "/metrics", ""); rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("/metrics Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}
	_ = context.Background()
}
