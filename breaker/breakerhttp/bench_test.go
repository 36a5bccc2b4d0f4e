package breakerhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakerhttp"
)

// roundTrip sends req with rt and drains and closes the body.
func roundTrip(b *testing.B, rt http.RoundTripper, req *http.Request) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkTransport compares a GET on a loopback server through a bare
// http.Transport (rt=bare) with the same through a breakerhttp.Transport
// around an identical http.Transport (rt=breaker), in the same run.
func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	for _, c := range []struct {
		name string
		wrap func(http.RoundTripper) http.RoundTripper
	}{
		{"bare", func(base http.RoundTripper) http.RoundTripper { return base }},
		{"breaker", func(base http.RoundTripper) http.RoundTripper {
			return &breakerhttp.Transport{Registry: reg, Base: base}
		}},
	} {
		base := &http.Transport{MaxIdleConnsPerHost: 8}
		rt := c.wrap(base)
		b.Run("rt="+c.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(b, rt, req)
			}
		})
		b.Run("rt="+c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				for pb.Next() {
					roundTrip(b, rt, req)
				}
			})
		})
		base.CloseIdleConnections()
	}
}

// cannedTransport answers every request with the same response, without a
// network: what is left is the cost of the wrapper.
type cannedTransport struct{ resp *http.Response }

func (c cannedTransport) RoundTrip(*http.Request) (*http.Response, error) { return c.resp, nil }

// BenchmarkTransport_Overhead measures the Transport alone, around a
// RoundTripper that does no I/O, against that RoundTripper bare.
func BenchmarkTransport_Overhead(b *testing.B) {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	canned := cannedTransport{&http.Response{StatusCode: http.StatusOK, Body: http.NoBody}}
	req, _ := http.NewRequest("GET", "http://inventory.internal:8080/items", nil)
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"bare", canned},
		{"breaker", &breakerhttp.Transport{Registry: reg, Base: canned}},
	} {
		b.Run("rt="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(b, c.rt, req)
			}
		})
	}
}

// BenchmarkMiddleware measures one request served into a fresh
// httptest.ResponseRecorder: the handler bare, through the middleware with a
// ServeMux pattern (the default key, no allocation), with no pattern (the
// key is built from method and path), and rejected by an open breaker.
func BenchmarkMiddleware(b *testing.B) {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mw := breakerhttp.Middleware(reg, breakerhttp.Config{})
	withPattern := httptest.NewRequest("GET", "/items/42", nil)
	withPattern.Pattern = "GET /items/{id}"
	noPattern := httptest.NewRequest("GET", "/items/42", nil)
	rejected := httptest.NewRequest("GET", "/items/42", nil)
	rejected.Pattern = "GET /closed/{id}"
	open, _ := reg.GetOrCreate(rejected.Pattern, breaker.Config{})
	open.ForceOpen()
	for _, c := range []struct {
		name string
		h    http.Handler
		req  *http.Request
		code int
	}{
		{"bare", h, withPattern, http.StatusOK},
		{"pattern", mw(h), withPattern, http.StatusOK},
		{"path", mw(h), noPattern, http.StatusOK},
		{"rejected", mw(h), rejected, http.StatusServiceUnavailable},
	} {
		b.Run("h="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, c.req)
				if w.Code != c.code {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
		b.Run("h="+c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					c.h.ServeHTTP(w, c.req)
					if w.Code != c.code {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}

// reusedWriter is a ResponseWriter that keeps nothing and is reused across
// requests, so that what a benchmark allocates is the middleware's alone.
type reusedWriter struct {
	h    http.Header
	code int
}

func (w *reusedWriter) Header() http.Header         { return w.h }
func (w *reusedWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *reusedWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkMiddleware_Overhead is BenchmarkMiddleware's closed path with a
// reused writer instead of a fresh recorder: the cost of the middleware
// itself, against the bare handler.
func BenchmarkMiddleware_Overhead(b *testing.B) {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest("GET", "/items/42", nil)
	req.Pattern = "GET /items/{id}"
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", h},
		{"pattern", breakerhttp.Middleware(reg, breakerhttp.Config{})(h)},
	} {
		b.Run("h="+c.name, func(b *testing.B) {
			w := &reusedWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.code = 0
				c.h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
