package redissink_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/redistest"
	"github.com/antifragile-go/antifragile/metering"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
)

// BenchmarkEndToEndRedis records b.N events into a meter whose sink is a
// redis-server on loopback (no persistence) and waits until all are
// applied; events/s is the sustained rate from Record to Redis.
func BenchmarkEndToEndRedis(b *testing.B) {
	srv := redistest.Start(b)
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			c := newClient(b, srv.Addr())
			_ = c.FlushAll(context.Background()).Err()
			sink := newSink(b, redissink.Config{Client: c})
			m, _ := metering.New(metering.Config{Sink: sink, BatchSize: batch})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = m.Run(ctx); close(done) }()
			e := metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Agent: "a1", Tokens: 12,
				Latency: 250 * time.Microsecond, Compliance: 1}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				e.Tenant = tenantNames[i%len(tenantNames)]
				for !m.Record(e) {
					time.Sleep(100 * time.Microsecond) // queue full: leave the CPU to the consumer and Redis
				}
			}
			if err := m.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-done
			_ = m.Close(context.Background())
			if got := m.Metrics().Flushed; got != uint64(b.N) {
				b.Fatalf("flushed %d of %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

var tenantNames = []string{"acme", "beta", "gamma", "delta"}

// BenchmarkSinkWrite measures one Write of 100 events (a fresh batch id
// each time) to redis-server on loopback.
func BenchmarkSinkWrite(b *testing.B) {
	srv := redistest.Start(b)
	c := newClient(b, srv.Addr())
	sink := newSink(b, redissink.Config{Client: c})
	batch := events(100, "acme")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			batch[j].ID = fmt.Sprintf("%d-%d", i, j)
		}
		if err := sink.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
