package health_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// nilSafeSource is a pointer source whose nil value would panic on State.
type nilSafeSource struct{ s breaker.State }

func (n *nilSafeSource) State() breaker.State { return n.s }

// stateFunc is a func type that is a StateSource.
type stateFunc func() breaker.State

func (f stateFunc) State() breaker.State { return f() }

func TestAggregator_Register(t *testing.T) {
	var nilBreaker *breaker.Breaker
	var nilMetrics *metricsPtr
	var nilFunc stateFunc
	var nilCustom *nilSafeSource
	for _, tc := range []struct {
		name      string
		src       breaker.StateSource
		wantValue any
	}{
		{"refuses a nil source", nil, nil},
		{"refuses a nil *breaker.Breaker", nilBreaker, "(*breaker.Breaker)(nil)"},
		{"refuses a nil pointer of a MetricsSource", nilMetrics, "(*health_test.metricsPtr)(nil)"},
		{"refuses a nil pointer of a custom StateSource", nilCustom, "(*health_test.nilSafeSource)(nil)"},
		{"refuses a nil func StateSource", nilFunc, "(health_test.stateFunc)(nil)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agg := newAgg(t, health.Config{}, nil)
			if err := agg.Register("kept", newFake(breaker.Open)); err != nil {
				t.Fatal(err)
			}
			err := agg.Register("db", tc.src)
			var ve *health.ValidationError
			if !errors.As(err, &ve) || ve.Field != "source" || ve.Value != tc.wantValue {
				t.Fatalf("Register = %#v, want a *ValidationError for source with value %v", err, tc.wantValue)
			}
			if !errors.Is(err, antifragile.ErrNil) || !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrNil) = %v, errors.Is(err, ErrInvalid) = %v, want both",
					errors.Is(err, antifragile.ErrNil), errors.Is(err, antifragile.ErrInvalid))
			}
			r := agg.Report()
			if _, ok := r.Circuit("db"); ok || r.Total != 1 {
				t.Errorf("the refused source was added: total %d", r.Total)
			}
		})
	}

	t.Run("a refused source does not replace the one registered under its name", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		if err := agg.Register("db", newFake(breaker.HalfOpen)); err != nil {
			t.Fatal(err)
		}
		if err := agg.Register("db", nilBreaker); err == nil {
			t.Fatal("typed-nil source accepted")
		}
		if c, ok := agg.Report().Circuit("db"); !ok || c.State != breaker.HalfOpen {
			t.Errorf("db = %+v, %v; want the half-open source kept", c, ok)
		}
	})

	t.Run("accepts a func StateSource and a value StateSource", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		if err := agg.Register("f", stateFunc(func() breaker.State { return breaker.Closed })); err != nil {
			t.Error(err)
		}
		if err := agg.Register("m", metricsSource{breaker.Metrics{State: breaker.Open}}); err != nil {
			t.Error(err)
		}
		if r := agg.Report(); r.Total != 2 || r.Open != 1 || r.Closed != 1 {
			t.Errorf("total %d open %d closed %d", r.Total, r.Open, r.Closed)
		}
	})
}

// metricsPtr is a MetricsSource with a pointer receiver.
type metricsPtr struct{ m breaker.Metrics }

func (m *metricsPtr) State() breaker.State     { return m.m.State }
func (m *metricsPtr) Metrics() breaker.Metrics { return m.m }

// TestIssue11_TypedNilSource: registering the result of a failed
// Registry.Get (a nil *breaker.Breaker in a breaker.StateSource) used to be
// accepted, and Run's next collection panicked on a nil dereference, killing
// the process. Register now refuses it and Run keeps collecting.
func TestIssue11_TypedNilSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := newRegistry(t)
		getOrCreate(t, reg, "cache")
		agg := newAgg(t, health.Config{}, reg)
		stop := startRun(t, agg)
		defer stop()
		synctest.Wait()

		b, ok := reg.Get("db") // no such breaker: b is a nil *breaker.Breaker
		if ok || b != nil {
			t.Fatalf("Get(db) = %v, %v", b, ok)
		}
		err := agg.Register("db", b)
		if !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("Register(db, nil *Breaker) = %v, want ErrNil", err)
		}

		before := agg.Metrics().SnapshotsCollected
		agg.Collect()
		getOrCreate(t, reg, "queue").ForceOpen() // an event Run collects on
		synctest.Wait()
		m := agg.Metrics()
		if !m.Running || m.SnapshotsCollected < before+2 {
			t.Fatalf("Run stopped collecting: running %v, %d collections after %d", m.Running, m.SnapshotsCollected, before)
		}
		r := agg.Current()
		if r.Total != 2 || r.Open != 1 {
			t.Errorf("current report: total %d open %d, want cache and queue only", r.Total, r.Open)
		}
		if _, ok := r.Circuit("db"); ok {
			t.Error("the refused source is in the report")
		}
	})
}
