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
// applied; events/s is the sustained rate from Record to Redis. The
// spool=on variants put a metering.Spool (an fsync per batch, in a
// temporary directory) between the meter and the sink, as
// metering.spool_dir does: the difference is the spool's cost per event.
func BenchmarkEndToEndRedis(b *testing.B) {
	srv := redistest.Start(b)
	for _, bc := range []struct {
		batch int
		spool bool
	}{{100, false}, {1000, false}, {100, true}, {1000, true}} {
		name := fmt.Sprintf("batch=%d", bc.batch)
		if bc.spool {
			name += "/spool=on"
		}
		b.Run(name, func(b *testing.B) {
			c := newClient(b, srv.Addr())
			_ = c.FlushAll(context.Background()).Err()
			var sink metering.Sink = newSink(b, redissink.Config{Client: c})
			var spool *metering.Spool
			if bc.spool {
				var err error
				if spool, err = metering.NewSpool(metering.SpoolConfig{Dir: b.TempDir(), Sink: sink}); err != nil {
					b.Fatal(err)
				}
				sink = spool
			}
			m, _ := metering.New(metering.Config{Sink: sink, BatchSize: bc.batch})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = m.Run(ctx); close(done) }()
			spoolDone := make(chan struct{})
			if spool != nil {
				go func() { _ = spool.Run(ctx); close(spoolDone) }()
			} else {
				close(spoolDone)
			}
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
			for spool != nil && spool.Metrics().Delivered != uint64(b.N) {
				time.Sleep(100 * time.Microsecond) // the spool still delivers
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-done
			<-spoolDone
			_ = m.Close(context.Background())
			if spool != nil {
				_ = spool.Close(context.Background())
			}
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
