package dashboard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/internal/dashboard"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandler_ServeHTTP(t *testing.T) {
	h := dashboard.Handler()
	tests := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/index.html", "text/html; charset=utf-8", `id="emergency-stop"`},
		{"/app.js", "text/javascript; charset=utf-8", "new EventSource(url('events'))"},
		{"/app.css", "text/css; charset=utf-8", ".cell[data-state=\"open\"]"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run("serves "+tt.path+" with its type and the security headers", func(t *testing.T) {
			res := get(t, h, http.MethodGet, tt.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.StatusCode)
			}
			want := map[string]string{
				"Content-Type":            tt.ctype,
				"Content-Security-Policy": dashboard.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-cache",
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			b := body(t, res)
			if !strings.Contains(b, tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if res.Header.Get("Content-Length") == "" {
				t.Error("no Content-Length")
			}
		})
	}

	t.Run("answers HEAD without a body", func(t *testing.T) {
		res := get(t, h, http.MethodHead, "/app.js", nil)
		if res.StatusCode != http.StatusOK || body(t, res) != "" {
			t.Fatalf("HEAD: status %d, want 200 and no body", res.StatusCode)
		}
	})
	t.Run("answers a matching If-None-Match with 304", func(t *testing.T) {
		etag := get(t, h, http.MethodGet, "/app.css", nil).Header.Get("ETag")
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			res := get(t, h, http.MethodGet, "/app.css", map[string]string{"If-None-Match": inm})
			if res.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %s: status %d, want 304", inm, res.StatusCode)
			}
		}
		res := get(t, h, http.MethodGet, "/app.css", map[string]string{"If-None-Match": `"stale"`})
		if res.StatusCode != http.StatusOK {
			t.Errorf("stale ETag: status %d, want 200", res.StatusCode)
		}
	})
	t.Run("gives each asset its own ETag", func(t *testing.T) {
		seen := map[string]string{}
		for _, p := range []string{"/index.html", "/app.js", "/app.css", "/favicon.svg"} {
			e := get(t, h, http.MethodGet, p, nil).Header.Get("ETag")
			if other, dup := seen[e]; dup {
				t.Errorf("%s and %s share ETag %s", p, other, e)
			}
			seen[e] = p
		}
	})
	t.Run("answers unknown paths with 404 and the security headers", func(t *testing.T) {
		for _, p := range []string{"/nope", "/static/app.js", "/app.js/", "/../go.mod"} {
			res := get(t, h, http.MethodGet, p, nil)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", p, res.StatusCode)
			}
			if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: security headers missing", p)
			}
			checkEnvelope(t, p, res)
		}
	})
	t.Run("refuses methods other than GET and HEAD", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			res := get(t, h, m, "/", nil)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: status %d Allow %q, want 405 and GET, HEAD", m, res.StatusCode, res.Header.Get("Allow"))
			}
			checkEnvelope(t, m, res)
		}
	})
	t.Run("redirects a bare prefix to the prefix with a slash", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.Handle("/ops/", http.StripPrefix("/ops", dashboard.Handler()))
		mux.Handle("/ops", http.StripPrefix("/ops", dashboard.Handler()))
		res := get(t, mux, http.MethodGet, "/ops?poll=3", nil)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/ops/?poll=3" {
			t.Fatalf("status %d Location %q, want 301 /ops/?poll=3", res.StatusCode, res.Header.Get("Location"))
		}
		res = get(t, mux, http.MethodGet, "/ops/app.js", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/ops/app.js: status %d, want 200", res.StatusCode)
		}
	})
}

// TestHandler_assets checks the page against the rules its
// Content-Security-Policy and the ops API impose.
func TestHandler_assets(t *testing.T) {
	h := dashboard.Handler()
	read := func(p string) string { return body(t, get(t, h, http.MethodGet, p, nil)) }
	html, js, css := read("/"), read("/app.js"), read("/app.css")

	t.Run("the policy allows only the page's own origin and nothing inline", func(t *testing.T) {
		csp := dashboard.ContentSecurityPolicy
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("policy lacks %q", want)
			}
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
			if strings.Contains(csp, bad) {
				t.Errorf("policy contains %q", bad)
			}
		}
	})
	t.Run("the page has no inline script, style or event handler", func(t *testing.T) {
		for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(m, `src=`) {
				t.Errorf("inline script: %s", m)
			}
		}
		if regexp.MustCompile(`<script[^>]*>[^<\s]`).MatchString(html) {
			t.Error("a script element has inline content")
		}
		for _, re := range []string{`<style`, `\sstyle=`, `\son[a-z]+=`, `javascript:`} {
			if regexp.MustCompile(re).MatchString(html) {
				t.Errorf("page matches %s", re)
			}
		}
		if regexp.MustCompile(`setAttribute\(\s*'style'|\.innerHTML\s*=|\beval\(|new Function\(`).MatchString(js) {
			t.Error("app.js sets a style attribute, innerHTML or evaluates code")
		}
	})
	t.Run("no asset asks for another origin", func(t *testing.T) {
		external := regexp.MustCompile(`(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}`)
		for name, text := range map[string]string{"index.html": html, "app.js": js, "app.css": css, "favicon.svg": read("/favicon.svg")} {
			for _, m := range external.FindAllString(text, -1) {
				if m != "http://www.w3.org" { // SVG namespace, not a request
					t.Errorf("%s refers to %s", name, m)
				}
			}
			if strings.Contains(text, "@import") {
				t.Errorf("%s imports a stylesheet", name)
			}
		}
	})
	t.Run("the script uses only the ops routes, relative to the page", func(t *testing.T) {
		for _, route := range []string{
			"'health'", "'health/history?window='", "'breakers'", "'breakers/'", "'recovery'", "'recovery/'",
			"'chaos/scenarios'", "'chaos/scenarios/'", "'chaos/metrics'", "'chaos/emergency-stop'", "'metering'", "url('events')",
		} {
			if !strings.Contains(js, route) {
				t.Errorf("app.js does not use %s", route)
			}
		}
		if regexp.MustCompile(`(getJSON|url|write)\([^)]*'/`).MatchString(js) {
			t.Error("app.js calls the API with an absolute path")
		}
		for _, kind := range []string{"hello", "breaker", "health", "recovery", "chaos"} {
			if !strings.Contains(js, "addEventListener('"+kind+"'") {
				t.Errorf("app.js does not listen to %q events", kind)
			}
		}
		if !strings.Contains(js, "sessionStorage") || strings.Contains(js, "localStorage") {
			t.Error("the token must live in sessionStorage only")
		}
	})
	t.Run("the elements tests rely on exist", func(t *testing.T) {
		for _, id := range []string{"status", "score", "emergency-stop", "breaker-grid", "breaker-filter", "timeline",
			"token-dialog", "token-input", "token-submit", "chaos-form", "scenario-list", "recovery-list", "usage-body", "conn"} {
			if !strings.Contains(html, `id="`+id+`"`) {
				t.Errorf("page lacks #%s", id)
			}
		}
	})
}

// discard is a ResponseWriter that keeps only the status, so that the
// benchmark measures the handler rather than a recorder's copying.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

func BenchmarkHandler_ServeHTTP(b *testing.B) {
	h := dashboard.Handler()
	for name, p := range map[string]string{"index": "/", "app.js": "/app.js"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest(http.MethodGet, p, nil)
				w := &discard{h: make(http.Header)}
				for pb.Next() {
					clear(w.h)
					h.ServeHTTP(w, req)
					if w.code != http.StatusOK {
						b.Fatal(w.code)
					}
				}
			})
		})
	}
}

func BenchmarkHandler_notModified(b *testing.B) {
	h := dashboard.Handler()
	req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	etag := rec.Header().Get("ETag")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
		req.Header.Set("If-None-Match", etag)
		w := &discard{h: make(http.Header)}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.code != http.StatusNotModified {
				b.Fatal(w.code)
			}
		}
	})
}

// checkEnvelope checks that res carries the ops API's JSON error envelope,
// as every error of the server does.
func checkEnvelope(t *testing.T, what string, res *http.Response) {
	t.Helper()
	var env api.ErrorEnvelope
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || env.Error == "" {
		t.Errorf("%s: body is not an error envelope (%v, %+v)", what, err, env)
	}
}
