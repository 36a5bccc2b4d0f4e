package breakerhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakerhttp"
)

func newRegistry(t *testing.T) *breaker.Registry {
	t.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// backend is a real loopback server that answers the status given in the
// query (?status=503, default 200) with the body "status <code>", sets
// Retry-After to ?retry= when given, and counts the requests it received.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		code := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			code, _ = strconv.Atoi(s)
		}
		if ra := r.URL.Query().Get("retry"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(code)
		io.WriteString(w, "status "+strconv.Itoa(code))
	}))
	t.Cleanup(b.Close)
	return b
}

// host is the breaker name HostKey gives requests to the backend.
func (b *backend) host() string {
	u, _ := url.Parse(b.URL)
	return u.Host
}

// client returns an http.Client whose transport is tr, with the backend's
// own transport as Base unless tr sets one.
func (b *backend) client(tr *breakerhttp.Transport) *http.Client {
	if tr.Base == nil {
		tr.Base = b.Client().Transport
	}
	return &http.Client{Transport: tr}
}

// get sends GET path (with its query) and returns the status and body, or
// the error.
func get(t *testing.T, c *http.Client, base, path string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp.StatusCode, string(body), nil
}

func mustGet(t *testing.T, c *http.Client, base, path string) (int, string) {
	t.Helper()
	code, body, err := get(t, c, base, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return code, body
}

func mustBreaker(t *testing.T, reg *breaker.Registry, name string) *breaker.Breaker {
	t.Helper()
	b, ok := reg.Get(name)
	if !ok {
		t.Fatalf("no breaker %q in the registry (have %q)", name, reg.Names())
	}
	return b
}

// closeRecorder is a request body that records being closed.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// roundTripFunc is a RoundTripper written inline; only for what a real
// server cannot do (panic).
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func always(o breaker.Outcome) func(error) breaker.Outcome {
	return func(error) breaker.Outcome { return o }
}

func TestTransport_Classification(t *testing.T) {
	tests := []struct {
		name     string
		classify func(*http.Response) breaker.Outcome
		status   int
		want     breaker.Outcome
	}{
		{"200 is a success", nil, 200, breaker.Success},
		{"404 is a success", nil, 404, breaker.Success},
		{"429 is a failure", nil, 429, breaker.Failure},
		{"500 is a failure", nil, 500, breaker.Failure},
		{"503 is a failure", nil, 503, breaker.Failure},
		{"a classifier can fail a 404", func(r *http.Response) breaker.Outcome {
			if r.StatusCode == 404 {
				return breaker.Failure
			}
			return breaker.Success
		}, 404, breaker.Failure},
		{"a classifier can ignore a 500", func(*http.Response) breaker.Outcome { return breaker.Ignored }, 500, breaker.Ignored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t)
			reg := newRegistry(t)
			c := be.client(&breakerhttp.Transport{Registry: reg, Classify: tt.classify})
			code, body := mustGet(t, c, be.URL, "/?status="+strconv.Itoa(tt.status))
			if code != tt.status || body != "status "+strconv.Itoa(tt.status) {
				t.Fatalf("got %d %q: the response did not reach the caller", code, body)
			}
			m := mustBreaker(t, reg, be.host()).Metrics()
			got := map[breaker.Outcome]uint64{breaker.Success: m.Successes, breaker.Failure: m.Failures, breaker.Ignored: m.Ignored}
			if m.Calls != 1 || got[tt.want] != 1 {
				t.Fatalf("metrics %+v, want one %v", m, tt.want)
			}
		})
	}
}

func TestTransport_Rejects(t *testing.T) {
	t.Run("an open breaker does not touch the network", func(t *testing.T) {
		be := newBackend(t)
		reg := newRegistry(t)
		c := be.client(&breakerhttp.Transport{Registry: reg, Breaker: breaker.Config{ConsecutiveFailures: 2}})
		for range 2 {
			if code, body := mustGet(t, c, be.URL, "/?status=500"); code != 500 || body != "status 500" {
				t.Fatalf("got %d %q; a failure's response must reach the caller", code, body)
			}
		}
		before := time.Now()
		_, _, err := get(t, c, be.URL, "/")
		if !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("err = %v, want breaker.ErrOpen", err)
		}
		var re *breakerhttp.RejectedError
		if !errors.As(err, &re) || re.Breaker != be.host() {
			t.Fatalf("err = %#v, want a *RejectedError naming %q", err, be.host())
		}
		if !strings.Contains(err.Error(), strconv.Quote(be.host())) {
			t.Fatalf("error %q does not name the breaker", err)
		}
		if re.RetryAt.Before(before.Add(breaker.DefaultOpenTimeout-time.Second)) || re.RetryAt.After(time.Now().Add(breaker.DefaultOpenTimeout)) {
			t.Fatalf("RetryAt %v, want about %v from now", re.RetryAt, breaker.DefaultOpenTimeout)
		}
		if n := be.hits.Load(); n != 2 {
			t.Fatalf("the server saw %d requests, want 2", n)
		}
		if m := mustBreaker(t, reg, be.host()).Metrics(); m.Rejections != 1 || m.Calls != 2 {
			t.Fatalf("metrics %+v, want 2 calls and 1 rejection", m)
		}
	})
	t.Run("a rejected request's body is closed", func(t *testing.T) {
		be := newBackend(t)
		reg := newRegistry(t)
		b, _ := reg.GetOrCreate(be.host(), breaker.Config{})
		b.ForceOpen()
		body := &closeRecorder{Reader: strings.NewReader("payload")}
		req, _ := http.NewRequest("POST", be.URL, body)
		_, err := be.client(&breakerhttp.Transport{Registry: reg}).Do(req)
		var re *breakerhttp.RejectedError
		if !errors.As(err, &re) || !errors.Is(err, breaker.ErrOpen) || !re.RetryAt.IsZero() {
			t.Fatalf("err = %v (%+v), want ErrOpen with no RetryAt (forced open)", err, re)
		}
		if !body.closed.Load() || be.hits.Load() != 0 {
			t.Fatalf("body closed %v, server hits %d", body.closed.Load(), be.hits.Load())
		}
	})
	t.Run("half-open admits one trial and rejects the rest", func(t *testing.T) {
		release, started := make(chan struct{}), make(chan struct{}, 1)
		var hits atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if r.URL.Query().Get("status") == "500" {
				w.WriteHeader(500)
				return
			}
			started <- struct{}{}
			<-release
		}))
		defer srv.Close()
		reg := newRegistry(t)
		// Half-open soon after the trip, and the trial may stay out.
		cfg := breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Millisecond, HalfOpenTimeout: time.Minute}
		c := &http.Client{Transport: &breakerhttp.Transport{Registry: reg, Base: srv.Client().Transport, Breaker: cfg}}
		u, _ := url.Parse(srv.URL)
		b, _ := reg.GetOrCreate(u.Host, cfg)
		sub := b.Subscribe(8)
		defer sub.Close()
		mustGet(t, c, srv.URL, "/?status=500")
		waitState(t, sub, breaker.HalfOpen)

		trial := make(chan error, 1)
		go func() {
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			trial <- err
		}()
		<-started
		_, _, err := get(t, c, srv.URL, "/")
		var re *breakerhttp.RejectedError
		if !errors.Is(err, breaker.ErrTooManyRequests) || !errors.As(err, &re) || !re.RetryAt.IsZero() {
			t.Fatalf("second request during the trial: %v, want ErrTooManyRequests without RetryAt", err)
		}
		close(release)
		if err := <-trial; err != nil {
			t.Fatalf("trial: %v", err)
		}
		if b.State() != breaker.Closed || hits.Load() != 2 {
			t.Fatalf("state %v, server hits %d; want closed after the trial and 2 hits", b.State(), hits.Load())
		}
	})
}

// waitState waits for the event that moves a breaker to state.
func waitState(t *testing.T, sub *breaker.Subscription, state breaker.State) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if ev.To == state {
				return
			}
		case <-timeout:
			t.Fatalf("no transition to %v", state)
		}
	}
}

func TestTransport_Context(t *testing.T) {
	t.Run("a request whose ctx is done is neither sent nor counted", func(t *testing.T) {
		be := newBackend(t)
		reg := newRegistry(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		body := &closeRecorder{Reader: strings.NewReader("payload")}
		req, _ := http.NewRequestWithContext(ctx, "POST", be.URL, body)
		_, err := be.client(&breakerhttp.Transport{Registry: reg}).Do(req)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if be.hits.Load() != 0 || !body.closed.Load() {
			t.Fatalf("server hits %d, body closed %v", be.hits.Load(), body.closed.Load())
		}
		if b, ok := reg.Get(be.host()); ok && b.Metrics().Calls != 0 {
			t.Fatalf("metrics %+v, want no call", b.Metrics())
		}
	})
	// hanging answers nothing until the request's context ends.
	hanging := func(t *testing.T, started chan<- struct{}) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	t.Run("the caller's cancellation is ignored", func(t *testing.T) {
		started := make(chan struct{}, 1)
		srv := hanging(t, started)
		reg := newRegistry(t)
		// The breaker's classifier would fail any error: the rule must win.
		tr := &breakerhttp.Transport{Registry: reg, Base: srv.Client().Transport,
			Breaker: breaker.Config{ConsecutiveFailures: 1, Classify: always(breaker.Failure)}}
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-started; cancel() }()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if _, err := (&http.Client{Transport: tr}).Do(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		b := mustBreaker(t, reg, req.URL.Host)
		if m := b.Metrics(); m.Ignored != 1 || m.Failures != 0 || b.State() != breaker.Closed {
			t.Fatalf("metrics %+v, state %v; want one ignored call", m, b.State())
		}
	})
	t.Run("a blown deadline is a failure", func(t *testing.T) {
		started := make(chan struct{}, 1)
		srv := hanging(t, started)
		reg := newRegistry(t)
		// The breaker's classifier would ignore any error: the rule must win.
		tr := &breakerhttp.Transport{Registry: reg, Base: srv.Client().Transport,
			Breaker: breaker.Config{Classify: always(breaker.Ignored)}}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if _, err := (&http.Client{Transport: tr}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if m := mustBreaker(t, reg, req.URL.Host).Metrics(); m.Failures != 1 || m.Ignored != 0 {
			t.Fatalf("metrics %+v, want one failure", m)
		}
	})
	t.Run("a transport error goes through the breaker's classifier", func(t *testing.T) {
		for _, o := range []breaker.Outcome{breaker.Failure, breaker.Ignored} {
			srv := httptest.NewServer(http.NotFoundHandler())
			addr := srv.URL
			srv.Close() // nothing listens there any more: connection refused
			reg := newRegistry(t)
			var seen error
			tr := &breakerhttp.Transport{Registry: reg, Breaker: breaker.Config{Classify: func(err error) breaker.Outcome {
				seen = err
				return o
			}}, Base: &http.Transport{}}
			_, _, err := get(t, &http.Client{Transport: tr}, addr, "/")
			if err == nil || seen == nil {
				t.Fatalf("err = %v, classifier saw %v", err, seen)
			}
			u, _ := url.Parse(addr)
			m := mustBreaker(t, reg, u.Host).Metrics()
			if (o == breaker.Failure && m.Failures != 1) || (o == breaker.Ignored && m.Ignored != 1) {
				t.Fatalf("classified %v, metrics %+v", o, m)
			}
		}
	})
}

func TestTransport_Keys(t *testing.T) {
	t.Run("one breaker per host and port by default", func(t *testing.T) {
		a, b := newBackend(t), newBackend(t)
		reg := newRegistry(t)
		tr := &breakerhttp.Transport{Registry: reg, Base: a.Client().Transport, Breaker: breaker.Config{ConsecutiveFailures: 1}}
		c := &http.Client{Transport: tr}
		mustGet(t, c, a.URL, "/?status=500")
		if _, _, err := get(t, c, a.URL, "/"); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a: err = %v, want ErrOpen", err)
		}
		if code, _ := mustGet(t, c, b.URL, "/"); code != 200 {
			t.Fatalf("b: status %d: a's breaker guarded b", code)
		}
		want := []string{a.host(), b.host()}
		slices.Sort(want)
		if got := reg.Names(); !slices.Equal(got, want) {
			t.Fatalf("breakers %q, want %q", got, want)
		}
	})
	t.Run("a key function chooses the breaker; an empty key sends unguarded", func(t *testing.T) {
		be := newBackend(t)
		reg := newRegistry(t)
		c := be.client(&breakerhttp.Transport{Registry: reg, Breaker: breaker.Config{ConsecutiveFailures: 1},
			Key: func(r *http.Request) string {
				if r.URL.Path == "/unguarded" {
					return ""
				}
				return "backend" + r.URL.Path
			}})
		mustGet(t, c, be.URL, "/orders?status=500")
		if _, _, err := get(t, c, be.URL, "/orders"); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("/orders: err = %v, want ErrOpen", err)
		}
		for range 3 {
			if code, _ := mustGet(t, c, be.URL, "/unguarded?status=500"); code != 500 {
				t.Fatalf("/unguarded: status %d", code)
			}
		}
		if got := reg.Names(); !slices.Equal(got, []string{"backend/orders"}) {
			t.Fatalf("breakers %q, want only backend/orders", got)
		}
	})
	t.Run("new breakers get the configured Config", func(t *testing.T) {
		be := newBackend(t)
		reg := newRegistry(t)
		mustGet(t, be.client(&breakerhttp.Transport{Registry: reg, Breaker: breaker.Config{ConsecutiveFailures: 7}}), be.URL, "/")
		if n := mustBreaker(t, reg, be.host()).Config().ConsecutiveFailures; n != 7 {
			t.Fatalf("ConsecutiveFailures = %d, want 7", n)
		}
	})
}

func TestTransport_RetryAfter(t *testing.T) {
	type call struct {
		name string
		d    time.Duration
		open bool
	}
	tests := []struct {
		name  string
		query string
		want  []call
	}{
		{"503 with delay-seconds", "status=503&retry=7", []call{{d: 7 * time.Second, open: true}}},
		{"429 with delay-seconds", "status=429&retry=120", []call{{d: 2 * time.Minute, open: true}}},
		{"503 with a date in the past", "status=503&retry=" + url.QueryEscape("Wed, 21 Oct 2015 07:28:00 GMT"), []call{{d: 0, open: true}}},
		{"500 is not asked to wait", "status=500&retry=7", nil},
		{"200 is not asked to wait", "retry=7", nil},
		{"a malformed header is dropped", "status=503&retry=soon", nil},
		{"503 without the header", "status=503", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t)
			reg := newRegistry(t)
			var got []call
			c := be.client(&breakerhttp.Transport{Registry: reg, Breaker: breaker.Config{ConsecutiveFailures: 1},
				OnRetryAfter: func(b *breaker.Breaker, d time.Duration) {
					got = append(got, call{name: b.Name(), d: d, open: b.State() == breaker.Open})
				}})
			mustGet(t, c, be.URL, "/?"+tt.query)
			for i := range tt.want {
				tt.want[i].name = be.host()
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("OnRetryAfter calls %+v, want %+v (the outcome is recorded first)", got, tt.want)
			}
		})
	}
	t.Run("a date in the future", func(t *testing.T) {
		be := newBackend(t)
		var got time.Duration
		c := be.client(&breakerhttp.Transport{Registry: newRegistry(t),
			OnRetryAfter: func(_ *breaker.Breaker, d time.Duration) { got = d }})
		at := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
		mustGet(t, c, be.URL, "/?status=503&retry="+url.QueryEscape(at))
		if got <= time.Hour-time.Minute || got > time.Hour {
			t.Fatalf("delay %v, want about an hour", got)
		}
	})
}

func TestTransport_Misuse(t *testing.T) {
	t.Run("a nil registry fails with the field", func(t *testing.T) {
		be := newBackend(t)
		body := &closeRecorder{Reader: strings.NewReader("x")}
		req, _ := http.NewRequest("POST", be.URL, body)
		_, err := be.client(&breakerhttp.Transport{}).Do(req)
		if fields := antifragile.InvalidFields(err); !slices.Equal(fields, []string{"registry"}) {
			t.Fatalf("err = %v, invalid fields %q", err, fields)
		}
		if be.hits.Load() != 0 || !body.closed.Load() {
			t.Fatalf("server hits %d, body closed %v", be.hits.Load(), body.closed.Load())
		}
	})
	t.Run("an invalid breaker config fails with its fields", func(t *testing.T) {
		be := newBackend(t)
		_, _, err := get(t, be.client(&breakerhttp.Transport{Registry: newRegistry(t), Breaker: breaker.Config{FailureRate: 2}}), be.URL, "/")
		if fields := antifragile.InvalidFields(err); !slices.Equal(fields, []string{"failure_rate"}) {
			t.Fatalf("err = %v, invalid fields %q", err, fields)
		}
		if be.hits.Load() != 0 {
			t.Fatalf("server hits %d", be.hits.Load())
		}
	})
	t.Run("a panic in Base is a failure and is re-raised", func(t *testing.T) {
		reg := newRegistry(t)
		tr := &breakerhttp.Transport{Registry: reg, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
			panic("base broke")
		})}
		req, _ := http.NewRequest("GET", "http://db.internal/", nil)
		func() {
			defer func() {
				if r := recover(); r != "base broke" {
					t.Fatalf("recovered %v", r)
				}
			}()
			tr.RoundTrip(req)
		}()
		if m := mustBreaker(t, reg, "db.internal").Metrics(); m.Failures != 1 {
			t.Fatalf("metrics %+v, want one failure", m)
		}
	})
}
