package bench_test

// Side-by-side circuit breaker benchmarks: the antifragile breaker, a
// minimal reference breaker, sony/gobreaker v2 and failsafe-go, in the same
// scenarios. Every loop calls the implementation directly (no closure or
// interface in between) so that the numbers are each library's own cost.
//
// Names carry benchstat keys, e.g. BenchmarkClosed/impl=gobreaker/api=execute:
//
//	impl=reference                 the minimal reference breaker (reference_test.go)
//	impl=antifragile               breaker.Config{} (5 consecutive failures trip)
//	impl=antifragile-failrate      breaker.Config{FailureRate: 0.5} (count window of 100)
//	impl=antifragile-slowcall      breaker.Config{SlowCallRate: 0.5, SlowCallThreshold: time.Second}
//	impl=antifragile-timewindow    breaker.Config{FailureRate: 0.5, Window: breaker.TimeWindow}
//	impl=gobreaker                 sony/gobreaker v2, default Settings
//	impl=failsafe                  failsafe-go circuitbreaker.NewWithDefaults
//
//	api=twostep   Allow + Done(nil); gobreaker's TwoStepCircuitBreaker Allow +
//	              done(nil); failsafe's TryAcquirePermit + RecordSuccess
//	api=execute   Execute(fn); gobreaker Execute; failsafe executor Run with
//	              the breaker as its only policy

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
)

// openFor keeps a tripped breaker open for longer than any benchmark runs.
const openFor = time.Hour

var errBoom = errors.New("boom")

func nop() error { return nil }

func nopAny() (any, error) { return nil, nil }

func failAny() (any, error) { return nil, errBoom }

// ourConfigs are the antifragile configurations measured in the closed
// scenarios; the first is the default.
var ourConfigs = []struct {
	impl string
	cfg  breaker.Config
}{
	{"antifragile", breaker.Config{}},
	{"antifragile-failrate", breaker.Config{FailureRate: 0.5}},
	{"antifragile-slowcall", breaker.Config{SlowCallRate: 0.5, SlowCallThreshold: time.Second}},
	{"antifragile-timewindow", breaker.Config{FailureRate: 0.5, Window: breaker.TimeWindow}},
}

// Constructors shared by the benchmarks and by TestImplementations, which
// checks that each one really is closed or open.

func newRef(tb testing.TB, open bool) *refBreaker {
	tb.Helper()
	r := &refBreaker{}
	r.open.Store(open)
	return r
}

func newOurs(tb testing.TB, cfg breaker.Config, open bool) *breaker.Breaker {
	tb.Helper()
	cfg.OpenTimeout = openFor
	br, err := breaker.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if open {
		// Fail calls until a trip rule fires: the consecutive rule of the
		// default config, the failure rate of the failure-rate ones (at
		// MinimumCalls). A slow-call-only breaker never trips on failures:
		// force it open (the same rejecting path).
		for i := 0; i < 1000 && br.State() == breaker.Closed; i++ {
			_ = br.Execute(func() error { return errBoom })
		}
		if cfg.FailureRate == 0 && cfg.ConsecutiveFailures == 0 && cfg.SlowCallRate > 0 {
			br.ForceOpen()
		}
		if s := br.State(); !s.Rejecting() {
			tb.Fatalf("antifragile breaker is %s after 1000 failures, want open", s)
		}
	}
	return br
}

func gobreakerSettings() gobreaker.Settings {
	return gobreaker.Settings{Name: "bench", Timeout: openFor}
}

// tripGobreaker fails calls until cb opens (its default rule: more than 5
// consecutive failures).
func tripGobreaker(tb testing.TB, cb *gobreaker.CircuitBreaker[any]) {
	tb.Helper()
	for range 6 {
		_, _ = cb.Execute(failAny)
	}
	if s := cb.State(); s != gobreaker.StateOpen {
		tb.Fatalf("gobreaker is %s after 6 failures, want open", s)
	}
}

func newGobreaker(tb testing.TB, open bool) *gobreaker.CircuitBreaker[any] {
	tb.Helper()
	cb := gobreaker.NewCircuitBreaker[any](gobreakerSettings())
	if open {
		tripGobreaker(tb, cb)
	}
	return cb
}

func newGobreakerTwoStep(tb testing.TB, open bool) *gobreaker.TwoStepCircuitBreaker[any] {
	tb.Helper()
	cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreakerSettings())
	if open {
		for range 6 {
			done, err := cb.Allow()
			if err != nil {
				tb.Fatal(err)
			}
			done(errBoom)
		}
		if s := cb.State(); s != gobreaker.StateOpen {
			tb.Fatalf("two-step gobreaker is %s after 6 failures, want open", s)
		}
	}
	return cb
}

func newFailsafe(tb testing.TB, open bool) (circuitbreaker.CircuitBreaker[any], failsafe.Executor[any]) {
	tb.Helper()
	cb := circuitbreaker.NewBuilder[any]().WithDelay(openFor).Build()
	if open {
		cb.Open()
		if !cb.IsOpen() {
			tb.Fatal("failsafe breaker did not open")
		}
	}
	return cb, failsafe.With[any](cb)
}

// BenchmarkClosed measures one successful call through a closed breaker on a
// single goroutine.
func BenchmarkClosed(b *testing.B) {
	b.Run("impl=reference/api=twostep", func(b *testing.B) {
		r := newRef(b, false)
		b.ReportAllocs()
		for b.Loop() {
			t, err := r.Allow()
			if err != nil {
				b.Fatal(err)
			}
			t.Done(nil)
		}
	})
	b.Run("impl=reference/api=execute", func(b *testing.B) {
		r := newRef(b, false)
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Execute(nop); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range ourConfigs {
		b.Run("impl="+c.impl+"/api=twostep", func(b *testing.B) {
			br := newOurs(b, c.cfg, false)
			b.ReportAllocs()
			for b.Loop() {
				t, err := br.Allow()
				if err != nil {
					b.Fatal(err)
				}
				t.Done(nil)
			}
		})
		b.Run("impl="+c.impl+"/api=execute", func(b *testing.B) {
			br := newOurs(b, c.cfg, false)
			b.ReportAllocs()
			for b.Loop() {
				if err := br.Execute(nop); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("impl=gobreaker/api=twostep", func(b *testing.B) {
		cb := newGobreakerTwoStep(b, false)
		b.ReportAllocs()
		for b.Loop() {
			done, err := cb.Allow()
			if err != nil {
				b.Fatal(err)
			}
			done(nil)
		}
	})
	b.Run("impl=gobreaker/api=execute", func(b *testing.B) {
		cb := newGobreaker(b, false)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(nopAny); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=failsafe/api=twostep", func(b *testing.B) {
		cb, _ := newFailsafe(b, false)
		b.ReportAllocs()
		for b.Loop() {
			if !cb.TryAcquirePermit() {
				b.Fatal("failsafe rejected a call while closed")
			}
			cb.RecordSuccess()
		}
	})
	b.Run("impl=failsafe/api=execute", func(b *testing.B) {
		_, exec := newFailsafe(b, false)
		b.ReportAllocs()
		for b.Loop() {
			if err := exec.Run(nop); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClosedParallel measures successful calls through one closed
// breaker shared by GOMAXPROCS goroutines. b.Fatal may not be called from
// RunParallel's goroutines, so they report with b.Error and stop.
func BenchmarkClosedParallel(b *testing.B) {
	b.Run("impl=reference/api=twostep", func(b *testing.B) {
		r := newRef(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t, err := r.Allow()
				if err != nil {
					b.Error(err)
					return
				}
				t.Done(nil)
			}
		})
	})
	b.Run("impl=reference/api=execute", func(b *testing.B) {
		r := newRef(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := r.Execute(nop); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	for _, c := range ourConfigs {
		b.Run("impl="+c.impl+"/api=twostep", func(b *testing.B) {
			br := newOurs(b, c.cfg, false)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					t, err := br.Allow()
					if err != nil {
						b.Error(err)
						return
					}
					t.Done(nil)
				}
			})
		})
		b.Run("impl="+c.impl+"/api=execute", func(b *testing.B) {
			br := newOurs(b, c.cfg, false)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := br.Execute(nop); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	b.Run("impl=gobreaker/api=twostep", func(b *testing.B) {
		cb := newGobreakerTwoStep(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				done, err := cb.Allow()
				if err != nil {
					b.Error(err)
					return
				}
				done(nil)
			}
		})
	})
	b.Run("impl=gobreaker/api=execute", func(b *testing.B) {
		cb := newGobreaker(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Execute(nopAny); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=failsafe/api=twostep", func(b *testing.B) {
		cb, _ := newFailsafe(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !cb.TryAcquirePermit() {
					b.Error("failsafe rejected a call while closed")
					return
				}
				cb.RecordSuccess()
			}
		})
	})
	b.Run("impl=failsafe/api=execute", func(b *testing.B) {
		_, exec := newFailsafe(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := exec.Run(nop); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkReject measures a call rejected by an open breaker on a single
// goroutine. The rejection path does not depend on the trip rules, so only
// the default antifragile configuration is measured; it is tripped by real
// failures, not forced open.
func BenchmarkReject(b *testing.B) {
	b.Run("impl=reference/api=twostep", func(b *testing.B) {
		r := newRef(b, true)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Allow(); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=reference/api=execute", func(b *testing.B) {
		r := newRef(b, true)
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Execute(nop); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=antifragile/api=twostep", func(b *testing.B) {
		br := newOurs(b, breaker.Config{}, true)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Allow(); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=antifragile/api=execute", func(b *testing.B) {
		br := newOurs(b, breaker.Config{}, true)
		b.ReportAllocs()
		for b.Loop() {
			if err := br.Execute(nop); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=gobreaker/api=twostep", func(b *testing.B) {
		cb := newGobreakerTwoStep(b, true)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Allow(); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=gobreaker/api=execute", func(b *testing.B) {
		cb := newGobreaker(b, true)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(nopAny); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=failsafe/api=twostep", func(b *testing.B) {
		cb, _ := newFailsafe(b, true)
		b.ReportAllocs()
		for b.Loop() {
			if cb.TryAcquirePermit() {
				b.Fatal("admitted a call while open")
			}
		}
	})
	b.Run("impl=failsafe/api=execute", func(b *testing.B) {
		_, exec := newFailsafe(b, true)
		b.ReportAllocs()
		for b.Loop() {
			if err := exec.Run(nop); err == nil {
				b.Fatal("admitted a call while open")
			}
		}
	})
}

// BenchmarkRejectParallel measures rejections by one open breaker shared by
// GOMAXPROCS goroutines.
func BenchmarkRejectParallel(b *testing.B) {
	b.Run("impl=reference/api=twostep", func(b *testing.B) {
		r := newRef(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Allow(); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=reference/api=execute", func(b *testing.B) {
		r := newRef(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := r.Execute(nop); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=antifragile/api=twostep", func(b *testing.B) {
		br := newOurs(b, breaker.Config{}, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := br.Allow(); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=antifragile/api=execute", func(b *testing.B) {
		br := newOurs(b, breaker.Config{}, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := br.Execute(nop); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=gobreaker/api=twostep", func(b *testing.B) {
		cb := newGobreakerTwoStep(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Allow(); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=gobreaker/api=execute", func(b *testing.B) {
		cb := newGobreaker(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Execute(nopAny); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=failsafe/api=twostep", func(b *testing.B) {
		cb, _ := newFailsafe(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if cb.TryAcquirePermit() {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
	b.Run("impl=failsafe/api=execute", func(b *testing.B) {
		_, exec := newFailsafe(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := exec.Run(nop); err == nil {
					b.Error("admitted a call while open")
					return
				}
			}
		})
	})
}

// TestImplementations checks the benchmark setups: each closed breaker
// admits a successful call and counts it, each open breaker rejects with its
// library's sentinel, so that the benchmarks measure what their names say.
func TestImplementations(t *testing.T) {
	t.Run("reference admits when closed and rejects when open", func(t *testing.T) {
		r := newRef(t, false)
		if err := r.Execute(nop); err != nil {
			t.Fatalf("closed: %v", err)
		}
		tk, err := r.Allow()
		if err != nil {
			t.Fatalf("closed Allow: %v", err)
		}
		tk.Done(errBoom)
		r.open.Store(true)
		if err := r.Execute(nop); !errors.Is(err, errRefOpen) {
			t.Fatalf("open: got %v, want %v", err, errRefOpen)
		}
		if s, f, rej := r.calls(); s != 1 || f != 1 || rej != 1 {
			t.Fatalf("counts = %d successes, %d failures, %d rejections; want 1, 1, 1", s, f, rej)
		}
	})
	for _, c := range ourConfigs {
		t.Run(c.impl+" admits when closed and rejects when open", func(t *testing.T) {
			br := newOurs(t, c.cfg, false)
			if err := br.Execute(nop); err != nil {
				t.Fatalf("closed: %v", err)
			}
			if m := br.Metrics(); m.Successes != 1 {
				t.Fatalf("successes = %d, want 1", m.Successes)
			}
			open := newOurs(t, c.cfg, true)
			if err := open.Execute(nop); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("open: got %v, want %v", err, breaker.ErrOpen)
			}
		})
	}
	t.Run("gobreaker admits when closed and rejects when open", func(t *testing.T) {
		cb := newGobreaker(t, false)
		if _, err := cb.Execute(nopAny); err != nil {
			t.Fatalf("closed: %v", err)
		}
		if n := cb.Counts().TotalSuccesses; n != 1 {
			t.Fatalf("successes = %d, want 1", n)
		}
		if _, err := newGobreaker(t, true).Execute(nopAny); !errors.Is(err, gobreaker.ErrOpenState) {
			t.Fatalf("open: got %v, want %v", err, gobreaker.ErrOpenState)
		}
		two := newGobreakerTwoStep(t, false)
		done, err := two.Allow()
		if err != nil {
			t.Fatalf("two-step closed: %v", err)
		}
		done(nil)
		if n := two.Counts().TotalSuccesses; n != 1 {
			t.Fatalf("two-step successes = %d, want 1", n)
		}
		if _, err := newGobreakerTwoStep(t, true).Allow(); !errors.Is(err, gobreaker.ErrOpenState) {
			t.Fatalf("two-step open: got %v, want %v", err, gobreaker.ErrOpenState)
		}
	})
	t.Run("failsafe admits when closed and rejects when open", func(t *testing.T) {
		cb, exec := newFailsafe(t, false)
		if !cb.TryAcquirePermit() {
			t.Fatal("closed: permit refused")
		}
		cb.RecordSuccess()
		if err := exec.Run(nop); err != nil {
			t.Fatalf("closed executor: %v", err)
		}
		if n := cb.Metrics().Successes(); n != 1 { // a count window of one call
			t.Fatalf("successes in window = %d, want 1", n)
		}
		// The executor records through the breaker: one failure opens it.
		if err := exec.Run(func() error { return errBoom }); !errors.Is(err, errBoom) {
			t.Fatalf("failing call: got %v, want %v", err, errBoom)
		}
		if !cb.IsOpen() {
			t.Fatal("a failure through the executor did not open the breaker")
		}
		open, openExec := newFailsafe(t, true)
		if open.TryAcquirePermit() {
			t.Fatal("open: permit granted")
		}
		if err := openExec.Run(nop); !errors.Is(err, circuitbreaker.ErrOpen) {
			t.Fatalf("open executor: got %v, want %v", err, circuitbreaker.ErrOpen)
		}
	})
}

// sink keeps BenchmarkBaseline's results alive.
var sink int64

// BenchmarkBaseline measures the primitives the breakers are built from on
// the machine at hand, to read the other numbers against: an atomic load, an
// uncontended atomic add, one time.Now and one time.Since (a monotonic clock
// read, which slow-call counting and time windows pay twice per call).
func BenchmarkBaseline(b *testing.B) {
	b.Run("op=atomic-load", func(b *testing.B) {
		var v atomic.Int64
		b.ReportAllocs()
		for b.Loop() {
			sink += v.Load()
		}
	})
	b.Run("op=atomic-add", func(b *testing.B) {
		var v atomic.Int64
		b.ReportAllocs()
		for b.Loop() {
			v.Add(1)
		}
		sink += v.Load()
	})
	b.Run("op=time-now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink += time.Now().UnixNano()
		}
	})
	b.Run("op=time-since", func(b *testing.B) {
		start := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			sink += int64(time.Since(start))
		}
	})
}
