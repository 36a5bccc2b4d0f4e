package bus_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/metering"
)

var _ bus.Injector = (*chaos.Engine)(nil)
var _ bus.Recorder = (*metering.Meter)(nil)

// pipeline builds a bus with every part enabled — registry, chaos engine
// (nothing active), a running meter delivering to the memory sink — and one
// echo agent.
func pipeline(b *testing.B) (*bus.Bus, func()) {
	b.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := chaos.New(chaos.Config{}, reg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := metering.New(metering.Config{MaxQueueSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	bs, err := bus.New(bus.Config{Registry: reg, Chaos: eng, Meter: m})
	if err != nil {
		b.Fatal(err)
	}
	if err := bs.Register("validator", echo); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) })
	return bs, func() {
		cancel()
		wg.Wait()
		_ = m.Close(context.Background())
		_ = eng.Close(context.Background())
	}
}

// BenchmarkSend measures one request/reply through the whole pipeline: hash
// check, chaos check, breaker, handler, metering.
func BenchmarkSend(b *testing.B) {
	bs, stop := pipeline(b)
	defer stop()
	msg := bus.NewMessage("proposer", "validator", "validate", nil)
	msg.ID = "fixed" // callers that set IDs skip the ID formatting
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bs.Send(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bs.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkSendLoad is the bus load test: GOMAXPROCS senders for b.N
// messages in all, each send timed; it reports throughput and the P50, P99
// and P99.9 latency. It is bounded by b.N and talks to nothing outside the
// process.
func BenchmarkSendLoad(b *testing.B) {
	bs, stop := pipeline(b)
	defer stop()
	ctx := context.Background()
	const senders = 4
	lat := make([][]time.Duration, senders)
	per := b.N/senders + 1
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		lat[s] = make([]time.Duration, 0, per)
		wg.Go(func() {
			msg := bus.NewMessage("proposer", "validator", "validate", nil)
			for range per {
				t0 := time.Now()
				if _, err := bs.Send(ctx, msg); err != nil {
					b.Error(err)
					return
				}
				lat[s] = append(lat[s], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(0.999), "p99.9-µs")
}
