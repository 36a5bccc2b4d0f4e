package busnats_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/metering"
)

// The benchmarks run sender and receiver in this one process, each on its
// own connection to a nats-server on loopback, beside a bare nats.go loop
// doing the same on the same server in the same run. Compare them with
//
//	benchstat -col /impl bench.txt
//
// Beside the rate each reports cpu-µs/op, the CPU time of this process
// (sender and receiver, not the server) per message, which varies less on
// a shared machine than the rate does, and for the bus meter-dropped/op,
// the metering events its meters dropped (none, or the pipeline is not
// metering exactly once).

// payload256 is the payload of every benchmark message.
var payload256 = make([]byte, 256)

// benchSide is one side's bus with every part of the pipeline enabled:
// a registry, a chaos engine with nothing active, a running meter with the
// memory sink and a queue of 65,536 events, as deep as the transport's
// default pending limit: with the default 10,000 the receiver's meter,
// short of CPU under the publish storm, dropped up to 4 % of its events.
type benchSide struct {
	bus   *bus.Bus
	tr    *busnats.Transport
	meter *metering.Meter
	stop  func()
}

func newBenchSide(b *testing.B, url, process string) *benchSide {
	b.Helper()
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	eng, err := chaos.New(chaos.Config{}, reg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := metering.New(metering.Config{MaxQueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := busnats.New(busnats.Config{URL: url, Process: process})
	if err != nil {
		b.Fatal(err)
	}
	bs, err := bus.New(bus.Config{Registry: reg, Chaos: eng, Meter: m, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) })
	return &benchSide{bus: bs, tr: tr, meter: m, stop: func() {
		_ = tr.Close(context.Background())
		cancel()
		wg.Wait()
		_ = bs.Close(context.Background())
		_ = m.Close(context.Background())
		_ = eng.Close(context.Background())
	}}
}

// benchPair is a sender and a receiver serving the echo agent "validator".
func benchPair(b *testing.B, srv *natstest.Server) (send, recv *benchSide) {
	b.Helper()
	recv = newBenchSide(b, srv.URL(), "receiver")
	if err := recv.bus.Register("validator", func(_ context.Context, m bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: m.Payload}, nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := recv.tr.Serve(recv.bus, "validator"); err != nil {
		b.Fatal(err)
	}
	if err := recv.tr.Conn().Flush(); err != nil {
		b.Fatal(err)
	}
	send = newBenchSide(b, srv.URL(), "sender")
	b.Cleanup(func() { send.stop(); recv.stop() })
	return send, recv
}

// bareEcho is a bare nats.go responder on its own connection.
func bareEcho(b *testing.B, srv *natstest.Server, subject string) (req *nats.Conn) {
	b.Helper()
	rc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rc.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	if err := rc.Flush(); err != nil {
		b.Fatal(err)
	}
	req, err = nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { req.Close(); rc.Close() })
	return req
}

// usage is what a benchmark measures beside time: the process's CPU and
// the metering events the meters of its bus sides dropped.
type usage struct {
	cpu   time.Duration
	ok    bool
	sides []*benchSide
	drops uint64
}

// startUsage starts measuring the process's CPU and the drops of the
// meters of sides.
func startUsage(sides ...*benchSide) usage {
	u := usage{sides: sides, drops: meterDrops(sides)}
	u.cpu, u.ok = processCPU()
	return u
}

func meterDrops(sides []*benchSide) uint64 {
	var n uint64
	for _, s := range sides {
		n += s.meter.Metrics().Dropped
	}
	return n
}

// report reports cpu-µs/op and, with bus sides, meter-dropped/op over n
// messages.
func (u usage) report(b *testing.B, n int) {
	if n <= 0 {
		return
	}
	if cpu, ok := processCPU(); ok && u.ok {
		b.ReportMetric(float64((cpu-u.cpu).Nanoseconds())/1e3/float64(n), "cpu-µs/op")
	}
	if len(u.sides) > 0 {
		b.ReportMetric(float64(meterDrops(u.sides)-u.drops)/float64(n), "meter-dropped/op")
	}
}

// publishLoop times b.N calls of publish and a final flush.
func publishLoop(b *testing.B, publish func() error, flush func() error, sides ...*benchSide) {
	b.ReportAllocs()
	u := startUsage(sides...)
	for b.Loop() {
		if err := publish(); err != nil {
			b.Fatal(err)
		}
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	u.report(b, b.N)
}

// latencies collects the latency of every operation of a parallel
// benchmark and reports msgs/s, p50 and p99.
type latencies struct {
	mu    sync.Mutex
	all   []time.Duration
	start time.Time
}

func (l *latencies) add(own []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, own...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	elapsed := time.Since(l.start)
	slices.Sort(l.all)
	if len(l.all) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(l.all[int(p*float64(len(l.all)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(float64(len(l.all))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// senders is the number of concurrent senders of the parallel benchmarks.
const senders = 64

// parallel runs op from 64 goroutines (b.SetParallelism) timing each call.
func parallel(b *testing.B, op func() error, sides ...*benchSide) {
	b.SetParallelism(max(1, senders/max(1, runtimeProcs())))
	var l latencies
	b.ReportAllocs()
	b.ResetTimer()
	u := startUsage(sides...)
	l.start = time.Now()
	b.RunParallel(func(pb *testing.PB) {
		own := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			own = append(own, time.Since(t0))
		}
		l.add(own)
	})
	b.StopTimer()
	l.report(b)
	u.report(b, len(l.all))
}

// withHeaders returns a message to subject carrying payload256 and the
// four headers every bus message carries (id, type, hash, envelope), as a
// bus message would have them, in one header map shared by every call
// (nats.go only reads it): what the headers alone cost nats.go, with no bus
// on either side.
func withHeaders(subject string) *nats.Msg {
	now := time.Now()
	return &nats.Msg{Subject: subject, Data: payload256, Header: nats.Header{
		busnats.HeaderID:       {"r5kq2x-1b4"},
		busnats.HeaderType:     {"validate"},
		busnats.HeaderHash:     {antifragile.ConstitutionalHash},
		busnats.HeaderEnvelope: {busnats.Envelope(now, now.Add(10*time.Second), "proposer")},
	}}
}

// BenchmarkRequestReply: Send across two connections through the whole
// pipeline on both sides (impl=busnats) beside a bare nats.go request to
// an echo responder (impl=bare) and the same request carrying the bus's
// four headers (impl=bareheaders), 256 B each way, with 64 concurrent
// senders (parallel) and one (serial).
func BenchmarkRequestReply(b *testing.B) {
	srv := natstest.Start(b)
	send, recv := benchPair(b, srv)
	bare := bareEcho(b, srv, "bare.echo")
	msg := bus.NewMessage("proposer", "validator", "validate", payload256)
	busOp := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := send.bus.Send(ctx, msg)
		return err
	}
	bareOp := func() error {
		_, err := bare.Request("bare.echo", payload256, 10*time.Second)
		return err
	}
	hm := withHeaders("bare.echo")
	headersOp := func() error {
		_, err := bare.RequestMsg(hm, 10*time.Second)
		return err
	}
	b.Run("mode=parallel64/impl=bare", func(b *testing.B) { parallel(b, bareOp) })
	b.Run("mode=parallel64/impl=bareheaders", func(b *testing.B) { parallel(b, headersOp) })
	b.Run("mode=parallel64/impl=busnats", func(b *testing.B) { parallel(b, busOp, send, recv) })
	b.Run("mode=serial/impl=bare", func(b *testing.B) { serial(b, bareOp) })
	b.Run("mode=serial/impl=bareheaders", func(b *testing.B) { serial(b, headersOp) })
	b.Run("mode=serial/impl=busnats", func(b *testing.B) { serial(b, busOp, send, recv) })
}

// serial runs op in one goroutine, timing each call.
func serial(b *testing.B, op func() error, sides ...*benchSide) {
	var l latencies
	own := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	u := startUsage(sides...)
	u.ok = false // between calls the process idles, spinning: its CPU per call says little
	l.start = time.Now()
	for range b.N {
		t0 := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		own = append(own, time.Since(t0))
	}
	b.StopTimer()
	l.add(own)
	l.report(b)
	u.report(b, b.N)
}

// BenchmarkPublish: one-way messages of 256 B from one sender. With
// receiver=pipeline, to a subscribed receiver: the bus through the
// sender's pipeline with the receiver running its whole pipeline in this
// process (impl=busnats), beside a bare nats.go publish to a counting
// subscriber (impl=bare) and the same publish carrying the bus's four
// headers (impl=bareheaders); what the receiver dropped as a slow consumer
// is reported (dropped/op). With receiver=none, to a subject nobody
// subscribes (the server discards it): the sender's cost alone. The rate
// is the sender's, flush included.
func BenchmarkPublish(b *testing.B) {
	srv := natstest.Start(b)
	send, recv := benchPair(b, srv)
	bare := bareEcho(b, srv, "bare.echo")                                                                 // a second subscriber, counting only
	rc, err := nats.Connect(srv.URL(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // drops are counted below
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	var got atomic.Int64
	sub, err := rc.Subscribe("bare.sink", func(*nats.Msg) { got.Add(1) })
	if err != nil {
		b.Fatal(err)
	}
	_ = sub.SetPendingLimits(busnats.DefaultPendingLimit, -1)
	if err := rc.Flush(); err != nil {
		b.Fatal(err)
	}
	msg := bus.NewMessage("proposer", "validator", "record", payload256)
	ctx := context.Background()
	b.Run("receiver=none/impl=bare", func(b *testing.B) {
		publishLoop(b, func() error { return bare.Publish("bare.nobody", payload256) }, bare.Flush)
	})
	b.Run("receiver=none/impl=bareheaders", func(b *testing.B) {
		hm := withHeaders("bare.nobody")
		publishLoop(b, func() error { return bare.PublishMsg(hm) }, bare.Flush)
	})
	b.Run("receiver=none/impl=busnats", func(b *testing.B) {
		nobody := bus.NewMessage("proposer", "nobody", "record", payload256)
		publishLoop(b, func() error { return send.bus.Publish(ctx, nobody) }, send.tr.Conn().Flush, send)
	})
	sink := func(b *testing.B, publish func() error) {
		got.Store(0)
		d0, _ := sub.Dropped()
		b.ReportAllocs()
		u := startUsage()
		for b.Loop() {
			if err := publish(); err != nil {
				b.Fatal(err)
			}
		}
		if err := bare.Flush(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		drained(b, func() bool { d, _ := sub.Dropped(); return got.Load()+int64(d-d0) >= int64(b.N) })
		d1, _ := sub.Dropped()
		b.ReportMetric(float64(d1-d0)/float64(b.N), "dropped/op")
		u.report(b, b.N)
	}
	b.Run("receiver=pipeline/impl=bare", func(b *testing.B) {
		sink(b, func() error { return bare.Publish("bare.sink", payload256) })
	})
	b.Run("receiver=pipeline/impl=bareheaders", func(b *testing.B) {
		hm := withHeaders("bare.sink")
		sink(b, func() error { return bare.PublishMsg(hm) })
	})
	b.Run("receiver=pipeline/impl=busnats", func(b *testing.B) {
		m0 := recv.tr.Metrics()
		b.ReportAllocs()
		u := startUsage(send, recv)
		for b.Loop() {
			if err := send.bus.Publish(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
		if err := send.tr.Conn().Flush(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		drained(b, func() bool {
			m := recv.tr.Metrics()
			return m.Received-m0.Received+m.Dropped-m0.Dropped >= uint64(b.N) && m.InFlight == 0
		})
		m1 := recv.tr.Metrics()
		b.ReportMetric(float64(m1.Dropped-m0.Dropped)/float64(b.N), "dropped/op")
		u.report(b, b.N)
	})
}

// drained waits, after the timed loop of a publish benchmark, until the
// receiver has taken (or dropped) every message, so that the CPU reported
// is the receiver's too; the rate reported is the sender's. A receiver
// still behind after 30 s fails the benchmark.
func drained(b *testing.B, done func() bool) {
	deadline := time.Now().Add(30 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			b.Fatal("the receiver did not take every message within 30 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
