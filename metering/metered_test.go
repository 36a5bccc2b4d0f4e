package metering_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
)

type verdict bool

func (v verdict) IsValid() bool { return bool(v) }

type tenantKey struct{}

func tenantOf(ctx context.Context) string { s, _ := ctx.Value(tenantKey{}).(string); return s }

func TestMetered(t *testing.T) {
	errBoom := errors.New("boom")
	opts := metering.MeteredOptions{
		Operation: metering.OpComplianceCheck, Tier: metering.TierEnhanced,
		Tenant: tenantOf, Agent: func(context.Context) string { return "agent-7" },
	}
	run := func(t *testing.T, opts metering.MeteredOptions, fn func(context.Context) (verdict, error)) (verdict, error, metering.Event) {
		t.Helper()
		var (
			v   verdict
			err error
			got metering.Event
		)
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{Sink: sink})
			f := metering.Metered(m, opts, func(ctx context.Context) (verdict, error) {
				time.Sleep(40 * time.Millisecond)
				return fn(ctx)
			})
			v, err = f(context.WithValue(context.Background(), tenantKey{}, "acme"))
			if e := m.Close(context.Background()); e != nil {
				t.Fatal(e)
			}
			ev := sink.events()
			if len(ev) != 1 {
				t.Fatalf("%d events recorded", len(ev))
			}
			got = ev[0]
		})
		return v, err, got
	}
	t.Run("passes the result through and records success", func(t *testing.T) {
		v, err, e := run(t, opts, func(context.Context) (verdict, error) { return true, nil })
		if !bool(v) || err != nil {
			t.Fatalf("got %v, %v", v, err)
		}
		if e.Tenant != "acme" || e.Agent != "agent-7" || e.Operation != metering.OpComplianceCheck || e.Tier != metering.TierEnhanced ||
			e.Latency != 40*time.Millisecond || e.Outcome != metering.OutcomeOK || e.Compliance != 1 {
			t.Fatalf("event = %+v", e)
		}
	})
	t.Run("records an invalid result as compliance 0", func(t *testing.T) {
		v, err, e := run(t, opts, func(context.Context) (verdict, error) { return false, nil })
		if bool(v) || err != nil || e.Compliance != 0 || e.Outcome != metering.OutcomeOK {
			t.Fatalf("got %v, %v, event %+v", v, err, e)
		}
	})
	t.Run("passes the error through and records it", func(t *testing.T) {
		v, err, e := run(t, opts, func(context.Context) (verdict, error) { return true, errBoom })
		if !bool(v) || err != errBoom {
			t.Fatalf("got %v, %v; want the function's own result and error", v, err)
		}
		if e.Outcome != metering.OutcomeError || e.Compliance != 0 {
			t.Fatalf("event = %+v", e)
		}
	})
	t.Run("survives panicking extractors", func(t *testing.T) {
		bad := metering.MeteredOptions{
			Tenant: func(context.Context) string { panic("tenant") },
			Agent:  func(context.Context) string { panic("agent") },
		}
		v, err, e := run(t, bad, func(context.Context) (verdict, error) { return true, nil })
		if !bool(v) || err != nil {
			t.Fatalf("got %v, %v", v, err)
		}
		if e.Tenant != "default" || e.Agent != "" || e.Operation != metering.OpAgentMessage || e.Tier != metering.TierStandard {
			t.Fatalf("event = %+v, want default tenant, no agent, default operation and tier", e)
		}
	})
	t.Run("records a panicking function as an error and lets the panic go on", func(t *testing.T) {
		sink := &recSink{}
		m := newMeter(t, metering.Config{Sink: sink})
		f := metering.Metered(m, opts, func(context.Context) (int, error) { panic("inner") })
		func() {
			defer func() {
				if r := recover(); r != "inner" {
					t.Fatalf("recovered %v, want the function's panic", r)
				}
			}()
			_, _ = f(context.Background())
		}()
		_ = m.Close(context.Background())
		if ev := sink.events(); len(ev) != 1 || ev[0].Outcome != metering.OutcomeError {
			t.Fatalf("events = %+v", ev)
		}
	})
	t.Run("works without a meter", func(t *testing.T) {
		f := metering.Metered(nil, opts, func(context.Context) (int, error) { return 7, nil })
		if v, err := f(context.Background()); v != 7 || err != nil {
			t.Fatalf("got %v, %v", v, err)
		}
	})
}

func TestMeteredHandler(t *testing.T) {
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
			h := metering.MeteredHandler(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				if tt.write {
					_, _ = w.Write([]byte("hi"))
				}
			}), metering.HandlerOptions{
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
		h := metering.MeteredHandler(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			flushErr = http.NewResponseController(w).Flush()
		}), metering.HandlerOptions{})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if flushErr != nil || !rec.Flushed {
			t.Fatalf("Flush through the wrapper: %v, flushed %v", flushErr, rec.Flushed)
		}
	})
}

// panicsWithNil runs f and reports whether it panicked with a
// *ValidationError for field wrapping antifragile.ErrNil.
func panicsWithNil(t *testing.T, field string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		err, _ := r.(error)
		var ve *metering.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, antifragile.ErrNil) {
			t.Errorf("recovered %#v, want a *ValidationError for %s wrapping ErrNil", r, field)
		}
	}()
	f()
}

func TestMetered_NilFunc(t *testing.T) {
	t.Run("panics at once naming fn", func(t *testing.T) {
		panicsWithNil(t, "fn", func() {
			metering.Metered[int](nil, metering.MeteredOptions{}, nil)
		})
	})
}

func TestMeteredHandler_NilHandler(t *testing.T) {
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
				metering.MeteredHandler(nil, tc.h, metering.HandlerOptions{})
			})
		})
	}
}
