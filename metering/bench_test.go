package metering_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

var discard = metering.SinkFunc(func(context.Context, []metering.Event) error { return nil })

// runMeter starts m.Run and returns a stop func that cancels it and waits.
func runMeter(b *testing.B, m *metering.Meter) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	// Let Run start its clock before timing.
	for !m.Metrics().Running {
		runtime.Gosched()
	}
	m.Record(metering.Event{})
	time.Sleep(5 * time.Millisecond) // the clock is running
	_ = m.Flush(context.Background())
	return func() { cancel(); <-done; _ = m.Close(context.Background()) }
}

func benchEvent() metering.Event {
	return metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Agent: "a1", Tokens: 12, Latency: 250 * time.Microsecond, Compliance: 1}
}

// chunk is how many events the Record benchmarks queue before emptying
// the queue with the timer stopped.
const chunk = 1 << 14

// BenchmarkRecord measures an accepted Record, including its timestamp from
// the running meter's clock: the queue is emptied outside the timer every
// chunk events so that none is dropped.
func BenchmarkRecord(b *testing.B) {
	m, _ := metering.New(metering.Config{Sink: discard, MaxQueueSize: chunk, BatchSize: chunk, FlushInterval: time.Hour})
	defer runMeter(b, m)()
	e := benchEvent()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%chunk == chunk-1 {
			b.StopTimer()
			_ = m.Flush(context.Background())
			b.StartTimer()
		}
		m.Record(e)
	}
	b.StopTimer()
	if d := m.Metrics().Dropped; d != 0 {
		b.Fatalf("%d drops", d)
	}
}

// BenchmarkRecordParallel is BenchmarkRecord from GOMAXPROCS goroutines
// recording at once; each chunk is recorded concurrently and the queue is
// emptied between chunks with the timer stopped.
func BenchmarkRecordParallel(b *testing.B) {
	m, _ := metering.New(metering.Config{Sink: discard, MaxQueueSize: chunk, BatchSize: chunk, FlushInterval: time.Hour})
	defer runMeter(b, m)()
	procs := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(chunk, b.N-done)
		var wg sync.WaitGroup
		for g := range procs {
			n := k / procs
			if g == 0 {
				n += k % procs
			}
			wg.Go(func() {
				e := benchEvent()
				for range n {
					m.Record(e)
				}
			})
		}
		wg.Wait()
		done += k
		b.StopTimer()
		_ = m.Flush(context.Background())
		b.StartTimer()
	}
	b.StopTimer()
	if d := m.Metrics().Dropped; d != 0 {
		b.Fatalf("%d drops", d)
	}
}

// BenchmarkRecordRunParallel floods a running meter (discarding sink) from
// b.RunParallel: the producers outrun the consumer on two cores, so most
// calls take the drop path; drops/op says how many.
func BenchmarkRecordRunParallel(b *testing.B) {
	m, _ := metering.New(metering.Config{Sink: discard})
	defer runMeter(b, m)()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		e := benchEvent()
		for pb.Next() {
			m.Record(e)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(m.Metrics().Dropped)/float64(b.N), "drops/op")
}

// BenchmarkRecordBeforeRun is Record without Run: time.Now stamps the
// event. The queue is emptied outside the timer.
func BenchmarkRecordBeforeRun(b *testing.B) {
	m, _ := metering.New(metering.Config{Sink: discard, MaxQueueSize: 1 << 16})
	e := benchEvent()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%(1<<16) == 0 {
			b.StopTimer()
			_ = m.Flush(context.Background())
			b.StartTimer()
		}
		m.Record(e)
	}
}

// BenchmarkRecordDrop measures the refused path: the queue is full.
func BenchmarkRecordDrop(b *testing.B) {
	m, _ := metering.New(metering.Config{Sink: discard, MaxQueueSize: 1})
	m.Record(benchEvent())
	e := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		m.Record(e)
	}
}

// BenchmarkRecordDropParallel is BenchmarkRecordDrop from GOMAXPROCS goroutines.
func BenchmarkRecordDropParallel(b *testing.B) {
	m, _ := metering.New(metering.Config{Sink: discard, MaxQueueSize: 1})
	m.Record(benchEvent())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := benchEvent()
		for pb.Next() {
			m.Record(e)
		}
	})
}

// BenchmarkEndToEndMemory records b.N events (retrying refused ones) and
// waits until the memory sink has aggregated them all; events/s is the
// sustained rate from Record to MemorySink.
func BenchmarkEndToEndMemory(b *testing.B) {
	sink, _ := metering.NewMemorySink(metering.MemoryConfig{})
	m, _ := metering.New(metering.Config{Sink: sink})
	stop := runMeter(b, m)
	before := sink.Metrics().Events
	e := benchEvent()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		for !m.Record(e) {
			time.Sleep(50 * time.Microsecond) // queue full: leave the CPU to the consumer
		}
	}
	_ = m.Flush(context.Background())
	elapsed := time.Since(start)
	b.StopTimer()
	if got := sink.Metrics().Events - before; got != uint64(b.N) {
		b.Fatalf("sink aggregated %d of %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	stop()
}

// BenchmarkMemorySinkWrite measures aggregating a batch of 100 events.
func BenchmarkMemorySinkWrite(b *testing.B) {
	sink, _ := metering.NewMemorySink(metering.MemoryConfig{})
	batch := make([]metering.Event, 100)
	now := time.Now().UTC()
	for i := range batch {
		batch[i] = benchEvent()
		batch[i].Time = now
		if i%2 == 0 {
			batch[i].Tenant = "beta"
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = sink.Write(context.Background(), batch)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendJSON measures encoding one event.
func BenchmarkAppendJSON(b *testing.B) {
	e := benchEvent()
	e.ID, e.Time, e.ConstitutionalHash = "0123456789abcdef-12345", time.Now().UTC(), "cdd01ef066bc6cf2"
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}
