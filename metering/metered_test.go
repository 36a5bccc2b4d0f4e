package metering_test

import (
	"context"
	"errors"
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
