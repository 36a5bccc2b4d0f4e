package breakerhttp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakerhttp"
)

// statusHandler answers the status given in the query (?status=500,
// default 200) and counts its calls.
func statusHandler(calls *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if s := r.URL.Query().Get("status"); s != "" {
			code, _ := strconv.Atoi(s)
			w.WriteHeader(code)
		}
		io.WriteString(w, "served")
	})
}

// serveMux returns a real loopback server whose mux routes pattern through
// mw.
func serveMux(t *testing.T, mw func(http.Handler) http.Handler, pattern string, h http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(pattern, mw(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestMiddleware_Sheds(t *testing.T) {
	t.Run("an open route answers 503 with Retry-After and skips the handler", func(t *testing.T) {
		reg := newRegistry(t)
		var calls atomic.Int64
		mw := breakerhttp.Middleware(reg, breakerhttp.Config{Breaker: breaker.Config{ConsecutiveFailures: 2}})
		srv := serveMux(t, mw, "GET /items/{id}", statusHandler(&calls))
		c := srv.Client()
		mustGet(t, c, srv.URL, "/items/1?status=500")
		mustGet(t, c, srv.URL, "/items/2?status=502")

		resp, err := c.Get(srv.URL + "/items/3")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || calls.Load() != 2 {
			t.Fatalf("status %d, handler calls %d; want 503 and the handler skipped", resp.StatusCode, calls.Load())
		}
		// The breaker tripped a moment ago with the default 30 s timeout.
		if ra := resp.Header.Get("Retry-After"); ra != "30" && ra != "29" {
			t.Fatalf("Retry-After %q, want the 30 s open timeout", ra)
		}
		if !strings.Contains(string(body), `"GET /items/{id}"`) || !strings.Contains(string(body), "circuit open") {
			t.Fatalf("body %q does not name the breaker and the refusal", body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("Content-Type %q", ct)
		}
		if m := mustBreaker(t, reg, "GET /items/{id}").Metrics(); m.Failures != 2 || m.Rejections != 1 {
			t.Fatalf("metrics %+v", m)
		}
	})
	t.Run("Retry-After counts down to the half-open time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			h := breakerhttp.Middleware(reg, breakerhttp.Config{Breaker: breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second}})(statusHandler(new(atomic.Int64)))
			serve(h, "/?status=500")
			for _, step := range []struct {
				after time.Duration
				want  string
			}{{0, "10"}, {2500 * time.Millisecond, "8"}, {7400 * time.Millisecond, "1"}} {
				time.Sleep(step.after)
				w := serve(h, "/")
				if w.Code != 503 || w.Header().Get("Retry-After") != step.want {
					t.Fatalf("after %v more: %d, Retry-After %q; want 503, %s", step.after, w.Code, w.Header().Get("Retry-After"), step.want)
				}
			}
		})
	})
	t.Run("half-open with its trial out answers Retry-After 1", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			release := make(chan struct{})
			h := breakerhttp.Middleware(reg, breakerhttp.Config{Breaker: breaker.Config{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second}})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("status") == "500" {
						w.WriteHeader(500)
						return
					}
					<-release
				}))
			serve(h, "/?status=500")
			time.Sleep(10 * time.Second)
			synctest.Wait() // the open timeout's timer has run
			if st := mustBreaker(t, reg, "GET /").State(); st != breaker.HalfOpen {
				t.Fatalf("state %v after the open timeout, want half-open", st)
			}
			done := make(chan int, 1)
			go func() { done <- serve(h, "/").Code }()
			synctest.Wait() // the trial is in the handler
			if w := serve(h, "/"); w.Code != 503 || w.Header().Get("Retry-After") != "1" {
				t.Fatalf("%d, Retry-After %q; want 503, 1", w.Code, w.Header().Get("Retry-After"))
			}
			close(release)
			if code := <-done; code != 200 || mustBreaker(t, reg, "GET /").State() != breaker.Closed {
				t.Fatalf("trial answered %d, state %v", code, mustBreaker(t, reg, "GET /").State())
			}
		})
	})
	t.Run("forced open advertises the open timeout", func(t *testing.T) {
		reg := newRegistry(t)
		b, _ := reg.GetOrCreate("GET /", breaker.Config{OpenTimeout: 45 * time.Second})
		b.ForceOpen()
		h := breakerhttp.Middleware(reg, breakerhttp.Config{})(statusHandler(new(atomic.Int64)))
		if w := serve(h, "/"); w.Code != 503 || w.Header().Get("Retry-After") != "45" {
			t.Fatalf("%d, Retry-After %q; want 503, 45", w.Code, w.Header().Get("Retry-After"))
		}
	})
}

// serve sends GET target to h through a recorder.
func serve(h http.Handler, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w
}

func TestMiddleware_Classification(t *testing.T) {
	tests := []struct {
		name     string
		classify func(int) breaker.Outcome
		handler  http.HandlerFunc
		want     breaker.Outcome
	}{
		{"200 is a success", nil, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }, breaker.Success},
		{"writing nothing is a 200", nil, func(http.ResponseWriter, *http.Request) {}, breaker.Success},
		{"writing a body is a 200", nil, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }, breaker.Success},
		{"404 is a success", nil, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) }, breaker.Success},
		{"429 is a success on the server", nil, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) }, breaker.Success},
		{"500 is a failure", nil, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, breaker.Failure},
		{"503 is a failure", nil, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, breaker.Failure},
		{"http.Error with 500 is a failure", nil, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, breaker.Failure},
		{"an informational status is not the final one", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(500)
		}, breaker.Failure},
		{"only the first final status counts", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(200)
			w.WriteHeader(500) // superfluous: the client got 200
		}, breaker.Success},
		{"a classifier can fail a 429", func(s int) breaker.Outcome {
			if s == 429 {
				return breaker.Failure
			}
			return breaker.Success
		}, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) }, breaker.Failure},
		{"a classifier can ignore a 500", func(int) breaker.Outcome { return breaker.Ignored },
			func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, breaker.Ignored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t)
			srv := serveMux(t, breakerhttp.Middleware(reg, breakerhttp.Config{Classify: tt.classify}), "/", tt.handler)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the superfluous WriteHeader is logged
			mustGet(t, srv.Client(), srv.URL, "/")
			srv.Close() // waits for the handler and the middleware to finish
			m := mustBreaker(t, reg, "/").Metrics()
			got := map[breaker.Outcome]uint64{breaker.Success: m.Successes, breaker.Failure: m.Failures, breaker.Ignored: m.Ignored}
			if m.Calls != 1 || got[tt.want] != 1 {
				t.Fatalf("metrics %+v, want one %v", m, tt.want)
			}
		})
	}
}

func TestMiddleware_Context(t *testing.T) {
	t.Run("a failure after the client went away is ignored", func(t *testing.T) {
		reg := newRegistry(t)
		started := make(chan struct{}, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			<-r.Context().Done()
			w.WriteHeader(500) // what a handler does when its downstream call is cancelled
		})
		srv := serveMux(t, breakerhttp.Middleware(reg, breakerhttp.Config{Breaker: breaker.Config{ConsecutiveFailures: 1}}), "GET /slow", h)
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-started; cancel() }()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
		if _, err := srv.Client().Do(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		srv.Close()
		b := mustBreaker(t, reg, "GET /slow")
		if m := b.Metrics(); m.Ignored != 1 || m.Failures != 0 || b.State() != breaker.Closed {
			t.Fatalf("metrics %+v, state %v; want one ignored call", m, b.State())
		}
	})
	t.Run("an outcome after the deadline passed is a failure", func(t *testing.T) {
		reg := newRegistry(t)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			w.WriteHeader(http.StatusTeapot)
		})
		// The classifier ignores 418; the deadline rule must win.
		mw := breakerhttp.Middleware(reg, breakerhttp.Config{Classify: func(s int) breaker.Outcome {
			if s == http.StatusTeapot {
				return breaker.Ignored
			}
			return breaker.Success
		}})
		srv := httptest.NewServer(http.TimeoutHandler(mw(h), 50*time.Millisecond, "timed out"))
		defer srv.Close()
		if code, _ := mustGet(t, srv.Client(), srv.URL, "/slow"); code != 503 {
			t.Fatalf("status %d, want TimeoutHandler's 503", code)
		}
		srv.Close()
		if m := mustBreaker(t, reg, "GET /slow").Metrics(); m.Failures != 1 || m.Ignored != 0 {
			t.Fatalf("metrics %+v, want one failure", m)
		}
	})
}

func TestMiddleware_Keys(t *testing.T) {
	t.Run("one breaker per ServeMux pattern", func(t *testing.T) {
		reg := newRegistry(t)
		mw := breakerhttp.Middleware(reg, breakerhttp.Config{Breaker: breaker.Config{ConsecutiveFailures: 2}})
		var calls atomic.Int64
		mux := http.NewServeMux()
		mux.Handle("GET /items/{id}", mw(statusHandler(&calls)))
		mux.Handle("/health", mw(statusHandler(&calls)))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		c := srv.Client()
		mustGet(t, c, srv.URL, "/items/1?status=500")
		mustGet(t, c, srv.URL, "/items/2?status=500")
		if code, _ := mustGet(t, c, srv.URL, "/items/3"); code != 503 {
			t.Fatalf("/items/3: %d, want 503: two paths of one pattern share a breaker", code)
		}
		if code, _ := mustGet(t, c, srv.URL, "/health"); code != 200 {
			t.Fatalf("/health: %d, want 200: another route has its own breaker", code)
		}
		if got := reg.Names(); !slices.Equal(got, []string{"/health", "GET /items/{id}"}) {
			t.Fatalf("breakers %q", got)
		}
	})
	t.Run("without a pattern, method and path", func(t *testing.T) {
		reg := newRegistry(t)
		srv := httptest.NewServer(breakerhttp.Middleware(reg, breakerhttp.Config{})(statusHandler(new(atomic.Int64))))
		defer srv.Close()
		mustGet(t, srv.Client(), srv.URL, "/a?status=204")
		resp, err := srv.Client().Post(srv.URL+"/a", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := reg.Names(); !slices.Equal(got, []string{"GET /a", "POST /a"}) {
			t.Fatalf("breakers %q", got)
		}
	})
	t.Run("a key function chooses; an empty key serves unguarded", func(t *testing.T) {
		reg := newRegistry(t)
		var calls atomic.Int64
		srv := httptest.NewServer(breakerhttp.Middleware(reg, breakerhttp.Config{
			Breaker: breaker.Config{ConsecutiveFailures: 1},
			Key: func(r *http.Request) string {
				if r.URL.Path == "/healthz" {
					return ""
				}
				return "api"
			},
		})(statusHandler(&calls)))
		defer srv.Close()
		c := srv.Client()
		for range 3 {
			if code, _ := mustGet(t, c, srv.URL, "/healthz?status=500"); code != 500 {
				t.Fatalf("/healthz: %d", code)
			}
		}
		mustGet(t, c, srv.URL, "/x?status=500")
		if code, _ := mustGet(t, c, srv.URL, "/y"); code != 503 {
			t.Fatalf("/y: %d, want 503 from the shared breaker api", code)
		}
		if got := reg.Names(); !slices.Equal(got, []string{"api"}) || calls.Load() != 4 {
			t.Fatalf("breakers %q, handler calls %d", got, calls.Load())
		}
	})
	t.Run("new breakers get the configured Config", func(t *testing.T) {
		reg := newRegistry(t)
		serve(breakerhttp.Middleware(reg, breakerhttp.Config{Breaker: breaker.Config{ConsecutiveFailures: 9}})(http.NotFoundHandler()), "/")
		if n := mustBreaker(t, reg, "GET /").Config().ConsecutiveFailures; n != 9 {
			t.Fatalf("ConsecutiveFailures = %d, want 9", n)
		}
	})
}

func TestMiddleware_Panics(t *testing.T) {
	t.Run("a handler's panic is a failure and is re-raised", func(t *testing.T) {
		reg := newRegistry(t)
		var recovered atomic.Value
		mw := breakerhttp.Middleware(reg, breakerhttp.Config{})
		inner := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler broke") }))
		// outer sees what leaves the middleware, then lets net/http handle it.
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				recovered.Store(v)
				panic(v)
			}()
			inner.ServeHTTP(w, r)
		})
		srv := httptest.NewUnstartedServer(outer)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.Start()
		defer srv.Close()
		if _, _, err := get(t, srv.Client(), srv.URL, "/boom"); err == nil {
			t.Fatal("the panicking handler produced a response")
		}
		srv.Close()
		if v := recovered.Load(); v != "handler broke" {
			t.Fatalf("the middleware let out %v, want the handler's panic", v)
		}
		if m := mustBreaker(t, reg, "GET /boom").Metrics(); m.Failures != 1 {
			t.Fatalf("metrics %+v, want one failure", m)
		}
	})
	t.Run("a nil registry panics", func(t *testing.T) {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "Registry") {
				t.Fatalf("recovered %v", r)
			}
		}()
		breakerhttp.Middleware(nil, breakerhttp.Config{})
	})
	t.Run("an invalid breaker config panics naming the field", func(t *testing.T) {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "open_timeout") {
				t.Fatalf("recovered %v", r)
			}
		}()
		breakerhttp.Middleware(newRegistry(t), breakerhttp.Config{Breaker: breaker.Config{OpenTimeout: -1}})
	})
}

func TestMiddleware_ResponseWriter(t *testing.T) {
	t.Run("Flush reaches the client", func(t *testing.T) {
		reg := newRegistry(t)
		proceed := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, ok := w.(http.Flusher)
			if !ok {
				http.Error(w, "not a Flusher", 500)
				return
			}
			io.WriteString(w, "first\n")
			f.Flush()
			<-proceed
			io.WriteString(w, "second\n")
		})
		srv := serveMux(t, breakerhttp.Middleware(reg, breakerhttp.Config{}), "GET /stream", h)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/stream", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err) // without the flush the headers never come
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		close(proceed)
	})
	t.Run("ReadFrom writes the body and answers 200", func(t *testing.T) {
		reg := newRegistry(t)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rf, ok := w.(io.ReaderFrom)
			if !ok {
				http.Error(w, "not a ReaderFrom", http.StatusNotImplemented)
				return
			}
			rf.ReadFrom(io.LimitReader(strings.NewReader("copied body"), 100))
		})
		srv := serveMux(t, breakerhttp.Middleware(reg, breakerhttp.Config{}), "GET /file", h)
		if code, body := mustGet(t, srv.Client(), srv.URL, "/file"); code != 200 || body != "copied body" {
			t.Fatalf("%d %q", code, body)
		}
		srv.Close()
		if m := mustBreaker(t, reg, "GET /file").Metrics(); m.Successes != 1 {
			t.Fatalf("metrics %+v", m)
		}
	})
	t.Run("http.ResponseController reaches the connection", func(t *testing.T) {
		reg := newRegistry(t)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				http.Error(w, err.Error(), http.StatusNotImplemented)
			}
		})
		srv := serveMux(t, breakerhttp.Middleware(reg, breakerhttp.Config{}), "GET /", h)
		if code, body := mustGet(t, srv.Client(), srv.URL, "/"); code != 200 {
			t.Fatalf("%d %q", code, body)
		}
	})
}
