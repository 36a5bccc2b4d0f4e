package health_test

import (
	"fmt"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

var benchSizes = []int{10, 100, 1000, 10000}

// benchRegistry returns a registry of n breakers, every tenth forced open,
// and its breakers in name order.
func benchRegistry(b *testing.B, n int) (*breaker.Registry, []*breaker.Breaker) {
	b.Helper()
	reg := newRegistry(b)
	bs := make([]*breaker.Breaker, n)
	for i := range n {
		bs[i] = getOrCreate(b, reg, fmt.Sprintf("svc-%05d", i))
		if i%10 == 0 {
			bs[i].ForceOpen()
		}
	}
	return reg, bs
}

// BenchmarkReport measures a full report with per-breaker details. In the
// changing case one breaker is forced open or released before each report,
// so that no two successive reports find the same breakers open; its time
// includes that transition.
func BenchmarkReport(b *testing.B) {
	for _, n := range benchSizes {
		reg, bs := benchRegistry(b, n)
		agg := newAgg(b, health.Config{}, reg)
		b.Run(fmt.Sprintf("breakers=%d/changing", n), func(b *testing.B) {
			b.ReportAllocs()
			flip := bs[len(bs)-1] // svc-…9: closed in benchRegistry
			for b.Loop() {
				if !flip.ForceOpen() {
					flip.Release()
				}
				if r := agg.Report(); r.Total != n {
					b.Fatal(r.Total)
				}
			}
			flip.Release()
		})
		b.Run(fmt.Sprintf("breakers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := agg.Report(); r.Total != n {
					b.Fatal(r.Total)
				}
			}
		})
		b.Run(fmt.Sprintf("breakers=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if r := agg.Report(); r.Total != n {
						b.Error(r.Total)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCurrent measures reading the last collected report and its score.
func BenchmarkCurrent(b *testing.B) {
	for _, n := range []int{10, 10000} {
		reg, _ := benchRegistry(b, n)
		agg := newAgg(b, health.Config{}, reg)
		agg.Collect()
		b.Run(fmt.Sprintf("breakers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var s health.Score
			for b.Loop() {
				s += agg.Current().Score
			}
			_ = s
		})
		b.Run(fmt.Sprintf("breakers=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var s health.Score
				for pb.Next() {
					s += agg.Current().Score
				}
				_ = s
			})
		})
	}
}

// BenchmarkCollect measures Run's periodic step at 1,000 breakers: a report,
// a history entry (the history is full, so one is evicted each time).
func BenchmarkCollect(b *testing.B) {
	reg, _ := benchRegistry(b, 1000)
	agg := newAgg(b, health.Config{}, reg)
	b.ReportAllocs()
	for b.Loop() {
		agg.Collect()
	}
}

// BenchmarkCollectAnomaly measures the periodic step at 1,000 breakers with
// anomaly detection off and on, each breaker making 10 calls between
// collections (outside the timer), so that every interval is judged: the
// difference is the detection's cost per collection.
func BenchmarkCollectAnomaly(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("anomaly=%v", on), func(b *testing.B) {
			reg, bs := benchRegistry(b, 1000)
			cfg := health.Config{Anomaly: health.AnomalyConfig{Enabled: on, Warmup: 1, MinCalls: 1}}
			agg := newAgg(b, cfg, reg)
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				for _, br := range bs {
					for range 10 {
						if t, err := br.Allow(); err == nil {
							t.Done(nil)
						}
					}
				}
				b.StartTimer()
				agg.Collect()
			}
		})
	}
}

// BenchmarkBaselineStateScan is the floor the issue compares with: atomic
// state loads and a weighted sum over 10,000 breakers, nothing else.
func BenchmarkBaselineStateScan(b *testing.B) {
	_, bs := benchRegistry(b, 10000)
	weights := make([]float64, len(bs))
	for i := range weights {
		weights[i] = 1
	}
	values := [...]float64{breaker.Closed: 1, breaker.Open: 0, breaker.HalfOpen: 0.5, breaker.ForcedOpen: 0, breaker.Disabled: 0}
	b.ReportAllocs()
	var score float64
	for b.Loop() {
		var sw, swv float64
		for i, br := range bs {
			st := br.State()
			if st == breaker.Disabled {
				continue
			}
			sw += weights[i]
			swv += weights[i] * values[st]
		}
		score = swv / sw
	}
	if score != 0.9 {
		b.Fatal(score)
	}
}

// BenchmarkBareMetricsScan reads every breaker's Metrics with no report
// around it, on the same breakers and at the same sizes as BenchmarkReport:
// the floor of a fresh Report, measured in the same run so that the ratio
// Report / BareMetricsScan can be read off one benchstat table.
func BenchmarkBareMetricsScan(b *testing.B) {
	for _, n := range benchSizes {
		_, bs := benchRegistry(b, n)
		b.Run(fmt.Sprintf("breakers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			// Every tenth breaker is forced open, so a scan finds
			// ceil(n/10) of them; checking that keeps the scan honest.
			want := (n + 9) / 10
			for b.Loop() {
				var open, calls uint64
				for _, br := range bs {
					m := br.Metrics()
					calls += m.Failures + m.Successes
					if m.State == breaker.ForcedOpen {
						open++
					}
				}
				if open != uint64(want) || calls != 0 {
					b.Fatal(open, calls)
				}
			}
		})
		// The same scan writing each breaker's line into a freshly
		// allocated []health.Circuit, as a fresh Report must (reports
		// are never modified, so none can reuse another's): the floor of
		// Report with its API, allocation and garbage collection included.
		b.Run(fmt.Sprintf("breakers=%d/fresh-circuits", n), func(b *testing.B) {
			b.ReportAllocs()
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("svc-%05d", i)
			}
			want := (n + 9) / 10
			for b.Loop() {
				cs := make([]health.Circuit, n)
				for i, br := range bs {
					m := br.Metrics()
					cs[i] = health.Circuit{Name: names[i], State: m.State, Weight: 1, Failures: m.Failures,
						Successes: m.Successes, ConsecutiveFailures: m.ConsecutiveFailures, Since: m.LastTransition}
				}
				open := 0
				for i := range cs {
					if cs[i].State == breaker.ForcedOpen {
						open++
					}
				}
				if open != want {
					b.Fatal(open)
				}
			}
		})
	}
}
