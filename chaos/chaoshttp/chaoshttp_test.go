package chaoshttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/chaos/chaoshttp"
)

func newEngine(t *testing.T, cfg chaos.Config) *chaos.Engine {
	t.Helper()
	e, err := chaos.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func inject(t *testing.T, e *chaos.Engine, s chaos.Scenario) {
	t.Helper()
	if _, err := e.Inject(s); err != nil {
		t.Fatal(err)
	}
}

// okHandler answers "ok" and counts its calls.
func okHandler(calls *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, "ok")
	})
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	t.Run("passes requests through with nothing active", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		var calls atomic.Int64
		h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(okHandler(&calls))
		w := serve(h, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 || w.Body.String() != "ok" || calls.Load() != 1 {
			t.Fatalf("got %d %q", w.Code, w.Body)
		}
	})
	t.Run("answers an injected error with the scenario's name", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.ErrorScenario("api", 1, nil, time.Minute))
		var calls atomic.Int64
		h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(okHandler(&calls))
		w := serve(h, httptest.NewRequest("GET", "/", nil))
		if w.Code != 500 || w.Header().Get(chaoshttp.HeaderScenario) != "errors_api_1.0" || calls.Load() != 0 {
			t.Fatalf("got %d %v, handler called %d times", w.Code, w.Header(), calls.Load())
		}
		if !strings.Contains(w.Body.String(), "injected an error") {
			t.Fatalf("body %q", w.Body)
		}
	})
	t.Run("uses the configured error status", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.ErrorScenario("api", 1, nil, time.Minute))
		h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api", ErrorStatus: 503})(http.NotFoundHandler())
		if w := serve(h, httptest.NewRequest("GET", "/", nil)); w.Code != 503 {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("targets the host without its port by default", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.ErrorScenario("shop.example", 1, nil, time.Minute))
		h := chaoshttp.Middleware(e, chaoshttp.Config{})(http.NotFoundHandler())
		if w := serve(h, httptest.NewRequest("GET", "http://shop.example:8080/", nil)); w.Code != 500 {
			t.Fatalf("status %d for shop.example:8080", w.Code)
		}
		if w := serve(h, httptest.NewRequest("GET", "http://other.example/", nil)); w.Code != 404 {
			t.Fatalf("status %d for other.example", w.Code)
		}
	})
	t.Run("TargetFunc chooses the target", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.ErrorScenario("/checkout", 1, nil, time.Minute))
		h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "ignored", TargetFunc: func(r *http.Request) string { return r.URL.Path }})(http.NotFoundHandler())
		if w := serve(h, httptest.NewRequest("GET", "/checkout", nil)); w.Code != 500 {
			t.Fatalf("status %d", w.Code)
		}
		if w := serve(h, httptest.NewRequest("GET", "/cart", nil)); w.Code != 404 {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("delays the request by the latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{})
			inject(t, e, chaos.LatencyScenario("api", 250*time.Millisecond, time.Minute))
			var at time.Duration
			start := time.Now()
			h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				at = time.Since(start)
			}))
			serve(h, httptest.NewRequest("GET", "/", nil))
			if at != 250*time.Millisecond {
				t.Fatalf("handler ran after %v", at)
			}
		})
	})
	t.Run("holds a timed-out request until its context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{})
			inject(t, e, chaos.TimeoutScenario("api", time.Minute))
			var calls atomic.Int64
			h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(okHandler(&calls))
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			start := time.Now()
			w := serve(h, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
			if d := time.Since(start); d != 2*time.Second || calls.Load() != 0 || w.Body.Len() != 0 {
				t.Fatalf("returned after %v, handler calls %d, body %q", d, calls.Load(), w.Body)
			}
		})
	})
	t.Run("aborts a partitioned request", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.PartitionScenario("api", time.Minute))
		h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(http.NotFoundHandler())
		defer func() {
			if r := recover(); r != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", r)
			}
		}()
		serve(h, httptest.NewRequest("GET", "/", nil))
	})
	t.Run("a partitioned server drops the connection", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.PartitionScenario("api", time.Minute))
		srv := httptest.NewServer(chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(http.NotFoundHandler()))
		defer srv.Close()
		client := srv.Client()
		defer client.CloseIdleConnections()
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got a response %d", resp.StatusCode)
		}
	})
	t.Run("throttles the response", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{NetworkBandwidth: 1000})
			inject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0, "api", time.Minute))
			payload := bytes.Repeat([]byte("x"), 5000)
			h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write(payload)
			}))
			start := time.Now()
			w := serve(h, httptest.NewRequest("GET", "/", nil))
			d := time.Since(start)
			if w.Body.Len() != 5000 || d < 4800*time.Millisecond || d > 5*time.Second {
				t.Fatalf("5000 bytes at 1000 B/s took %v (%d bytes)", d, w.Body.Len())
			}
		})
	})
	t.Run("throttles the request body", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{NetworkBandwidth: 4000})
			inject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0.5, "api", time.Minute))
			var got int
			var took time.Duration
			h := chaoshttp.Middleware(e, chaoshttp.Config{Target: "api"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				b, _ := io.ReadAll(r.Body)
				got, took = len(b), time.Since(start)
			}))
			serve(h, httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, 6000))))
			// 6000 bytes at (1 - 0.5) × 4000 B/s.
			if got != 6000 || took < 2800*time.Millisecond || took > 3*time.Second {
				t.Fatalf("read %d bytes in %v", got, took)
			}
		})
	})
}

// fakeTransport answers every request with body and records what it saw.
type fakeTransport struct {
	calls atomic.Int64
	body  []byte
	sent  []byte
}

func (f *fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	if req.Body != nil {
		f.sent, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(f.body)), Request: req}, nil
}

// closeRecorder is a request body that records being closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestTransport(t *testing.T) {
	t.Run("passes requests through with nothing active", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		base := &fakeTransport{body: []byte("ok")}
		client := &http.Client{Transport: &chaoshttp.Transport{Engine: e, Base: base}}
		resp, err := client.Get("http://db.internal/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" || base.calls.Load() != 1 {
			t.Fatalf("body %q", b)
		}
	})
	t.Run("fails with the injected error and closes the body", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.ErrorScenario("db.internal", 1, nil, time.Minute))
		base := &fakeTransport{}
		body := &closeRecorder{Reader: strings.NewReader("payload")}
		req, _ := http.NewRequest("POST", "http://db.internal:5432/q", body)
		_, err := (&chaoshttp.Transport{Engine: e, Base: base}).RoundTrip(req)
		if !errors.Is(err, chaos.ErrInjected) || !body.closed || base.calls.Load() != 0 {
			t.Fatalf("err %v, body closed %v, base calls %d", err, body.closed, base.calls.Load())
		}
	})
	t.Run("fails a partitioned target through http.Client", func(t *testing.T) {
		e := newEngine(t, chaos.Config{})
		inject(t, e, chaos.PartitionScenario("cache", time.Minute))
		client := &http.Client{Transport: &chaoshttp.Transport{Engine: e, Base: &fakeTransport{}, Target: "cache"}}
		if _, err := client.Get("http://anything/"); !errors.Is(err, chaos.ErrPartitioned) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("times out with the request's context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{})
			inject(t, e, chaos.TimeoutScenario("db", time.Minute))
			base := &fakeTransport{}
			client := &http.Client{Transport: &chaoshttp.Transport{Engine: e, Base: base}, Timeout: 3 * time.Second}
			start := time.Now()
			_, err := client.Get("http://db/")
			if err == nil || time.Since(start) != 3*time.Second || base.calls.Load() != 0 {
				t.Fatalf("err %v after %v", err, time.Since(start))
			}
		})
	})
	t.Run("delays the request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{})
			inject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
			req, _ := http.NewRequest("GET", "http://db/", nil)
			start := time.Now()
			resp, err := (&chaoshttp.Transport{Engine: e, Base: &fakeTransport{}}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if d := time.Since(start); d != time.Second {
				t.Fatalf("took %v", d)
			}
		})
	})
	t.Run("throttles both bodies", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{NetworkBandwidth: 2000})
			inject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 0.5, "db", time.Minute))
			base := &fakeTransport{body: make([]byte, 3000)}
			req, _ := http.NewRequest("POST", "http://db/", bytes.NewReader(make([]byte, 2000)))
			start := time.Now()
			resp, err := (&chaoshttp.Transport{Engine: e, Base: base}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			sent := time.Since(start)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			received := time.Since(start) - sent
			// 2000 bytes up and 3000 down at 1000 B/s.
			if len(base.sent) != 2000 || sent < 1800*time.Millisecond || sent > 2*time.Second {
				t.Fatalf("sent %d bytes in %v", len(base.sent), sent)
			}
			if len(b) != 3000 || received < 2800*time.Millisecond || received > 3*time.Second {
				t.Fatalf("received %d bytes in %v", len(b), received)
			}
		})
	})
	t.Run("a cut link stalls until the scenario ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{})
			inject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 1, "db", 5*time.Second))
			req, _ := http.NewRequest("GET", "http://db/", nil)
			resp, err := (&chaoshttp.Transport{Engine: e, Base: &fakeTransport{body: make([]byte, 100)}}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(b) != 100 || time.Since(start) < 5*time.Second || time.Since(start) > 5*time.Second+100*time.Millisecond {
				t.Fatalf("read %d bytes after %v", len(b), time.Since(start))
			}
		})
	})
	t.Run("a stalled read ends with its context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{})
			inject(t, e, chaos.ResourceScenario(chaos.ResourceNetworkBandwidth, 1, "db", time.Minute))
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://db/", nil)
			resp, err := (&chaoshttp.Transport{Engine: e, Base: &fakeTransport{body: make([]byte, 100)}}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("ReadAll() = %v", err)
			}
		})
	})
}

// panicsWithNil runs f and reports whether it panicked with a
// *chaos.ValidationError for field wrapping antifragile.ErrNil.
func panicsWithNil(t *testing.T, field string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		err, _ := r.(error)
		var ve *chaos.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, antifragile.ErrNil) {
			t.Errorf("recovered %#v, want a *ValidationError for %s wrapping ErrNil", r, field)
		}
	}()
	f()
}

func TestMiddleware_Nil(t *testing.T) {
	t.Run("panics at once without an engine", func(t *testing.T) {
		panicsWithNil(t, "engine", func() { chaoshttp.Middleware(nil, chaoshttp.Config{}) })
	})
	e := newEngine(t, chaos.Config{})
	mw := chaoshttp.Middleware(e, chaoshttp.Config{})
	for _, tc := range []struct {
		name string
		next http.Handler
	}{
		{"panics at once for a nil next handler", nil},
		{"panics at once for a nil http.HandlerFunc", http.HandlerFunc(nil)},
		{"panics at once for a nil *http.ServeMux", (*http.ServeMux)(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			panicsWithNil(t, "next", func() { mw(tc.next) })
		})
	}
}

func TestTransport_NilEngine(t *testing.T) {
	t.Run("fails every round trip naming the engine and closes the body", func(t *testing.T) {
		base := &fakeTransport{}
		body := &closeRecorder{Reader: strings.NewReader("payload")}
		req, _ := http.NewRequest("POST", "http://db.internal/q", body)
		resp, err := (&chaoshttp.Transport{Base: base}).RoundTrip(req)
		var ve *chaos.ValidationError
		if resp != nil || !errors.As(err, &ve) || ve.Field != "engine" || !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("RoundTrip = %v, %v; want a *ValidationError for engine wrapping ErrNil", resp, err)
		}
		if !body.closed || base.calls.Load() != 0 {
			t.Errorf("body closed %v, base calls %d", body.closed, base.calls.Load())
		}
	})
}
