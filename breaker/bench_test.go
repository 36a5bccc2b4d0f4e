package breaker_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
)

func benchConfigs() []struct {
	name string
	cfg  breaker.Config
} {
	return []struct {
		name string
		cfg  breaker.Config
	}{
		{"default", breaker.Config{}},
		{"failure_rate_count_window", breaker.Config{FailureRate: 0.5}},
		{"failure_rate_time_window", breaker.Config{FailureRate: 0.5, Window: breaker.TimeWindow}},
		{"slow_call_rate", breaker.Config{SlowCallRate: 0.5, SlowCallThreshold: 1e9}},
	}
}

// BenchmarkAllowDone measures one successful call through a closed breaker
// with the two-step form.
func BenchmarkAllowDone(b *testing.B) {
	for _, c := range benchConfigs() {
		br, err := breaker.New(c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := br.Allow()
				if err != nil {
					b.Fatal(err)
				}
				t.Done(nil)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					t, err := br.Allow()
					if err != nil {
						b.Fatal(err)
					}
					t.Done(nil)
				}
			})
		})
	}
}

// BenchmarkExecute measures a successful call through Execute.
func BenchmarkExecute(b *testing.B) {
	br, _ := breaker.New(breaker.Config{})
	fn := func() error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Execute(fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReject measures a call rejected by an open breaker.
func BenchmarkReject(b *testing.B) {
	br, _ := breaker.New(breaker.Config{})
	br.ForceOpen()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Allow(); err == nil {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := br.Allow(); err == nil {
					b.Fatal("admitted")
				}
			}
		})
	})
}

// BenchmarkMetrics measures reading a breaker's metrics: one breaker, and a
// scan of 10,000 (what a health report reads), each breaker having taken
// calls from one goroutine.
func BenchmarkMetrics(b *testing.B) {
	for _, n := range []int{1, 10000} {
		bs := make([]*breaker.Breaker, n)
		for i := range bs {
			bs[i], _ = breaker.New(breaker.Config{})
			for range 3 {
				t, _ := bs[i].Allow()
				t.Done(nil)
			}
		}
		b.Run(fmt.Sprintf("breakers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var sum uint64
			for b.Loop() {
				for _, br := range bs {
					sum += br.Metrics().Calls
				}
			}
			if sum == 0 {
				b.Fatal("no calls")
			}
		})
		b.Run(fmt.Sprintf("breakers=%d/summary", n), func(b *testing.B) {
			b.ReportAllocs()
			var sum uint64
			for b.Loop() {
				for _, br := range bs {
					sum += br.Summary().Successes
				}
			}
			if sum == 0 {
				b.Fatal("no calls")
			}
		})
	}
}

// BenchmarkTransition measures a pair of transitions (ForceOpen, Release)
// of a registry's breaker: without a Logger, with a disabled one (nothing
// is formatted) and with one formatting JSON into io.Discard.
func BenchmarkTransition(b *testing.B) {
	for _, c := range []struct {
		name string
		log  *slog.Logger
	}{
		{"no_logger", nil},
		{"discard_handler", slog.New(slog.DiscardHandler)},
		{"json_to_discard", slog.New(slog.NewJSONHandler(io.Discard, nil))},
	} {
		b.Run(c.name, func(b *testing.B) {
			reg, err := breaker.NewRegistry(breaker.RegistryConfig{Logger: c.log})
			if err != nil {
				b.Fatal(err)
			}
			br, _ := reg.GetOrCreate("db", breaker.Config{})
			b.ReportAllocs()
			for b.Loop() {
				br.ForceOpen()
				br.Release()
			}
		})
	}
}
