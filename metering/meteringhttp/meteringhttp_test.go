package meteringhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/meteringhttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recSink keeps every event it is given.
type recSink struct {
	mu sync.Mutex
	ev []metering.Event
}

func (s *recSink) Write(_ context.Context, events []metering.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev = append(s.ev, events...)
	return nil
}

func (s *recSink) events() []metering.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]metering.Event(nil), s.ev...)
}

func newMeter(t *testing.T, cfg metering.Config) *metering.Meter {
	t.Helper()
	m, err := metering.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// panicsWithNil runs f and reports whether it panicked with a
// *ValidationError for field wrapping antifragile.ErrNil.
func panicsWithNil(t *testing.T, field string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		err, _ := r.(error)
		var ve *antifragile.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, antifragile.ErrNil) {
			t.Errorf("recovered %#v, want a *ValidationError for %s wrapping ErrNil", r, field)
		}
	}()
	f()
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		write      bool
		outcome    metering.Outcome
		compliance float64
	}{
		{"200 is ok and compliant", http.StatusOK, true, metering.OutcomeOK, 1},
		{"implicit 200 is ok", 0, true, metering.OutcomeOK, 1},
		{"no write at all is ok", 0, false, metering.OutcomeOK, 1},
		{"404 is ok but not compliant", http.StatusNotFound, false, metering.OutcomeOK, 0},
		{"503 is an error", http.StatusServiceUnavailable, false, metering.OutcomeError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{Sink: sink})
			h := meteringhttp.Handler(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				if tt.write {
					_, _ = w.Write([]byte("hi"))
				}
			}), meteringhttp.Config{
				Operation: metering.OpAuditWrite,
				Tenant:    func(r *http.Request) string { return r.Header.Get("X-Tenant") },
				Agent:     func(r *http.Request) string { panic("no agent") },
			})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/x", nil)
			req.Header.Set("X-Tenant", "acme")
			h.ServeHTTP(rec, req)
			if want := max(tt.status, 200); rec.Code != want {
				t.Fatalf("status = %d, want %d passed through", rec.Code, want)
			}
			_ = m.Close(context.Background())
			ev := sink.events()
			if len(ev) != 1 {
				t.Fatalf("%d events", len(ev))
			}
			e := ev[0]
			if e.Tenant != "acme" || e.Agent != "" || e.Operation != metering.OpAuditWrite || e.Outcome != tt.outcome || e.Compliance != tt.compliance {
				t.Fatalf("event = %+v", e)
			}
		})
	}
	t.Run("keeps http.ResponseController working", func(t *testing.T) {
		m := newMeter(t, metering.Config{Sink: &recSink{}})
		var flushErr error
		h := meteringhttp.Handler(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			flushErr = http.NewResponseController(w).Flush()
		}), meteringhttp.Config{})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if flushErr != nil || !rec.Flushed {
			t.Fatalf("Flush through the wrapper: %v, flushed %v", flushErr, rec.Flushed)
		}
	})
}

func TestHandler_NilHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"panics at once for a nil handler", nil},
		{"panics at once for a nil http.HandlerFunc", http.HandlerFunc(nil)},
		{"panics at once for a nil *http.ServeMux", (*http.ServeMux)(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			panicsWithNil(t, "handler", func() {
				meteringhttp.Handler(nil, tc.h, meteringhttp.Config{})
			})
		})
	}
}
