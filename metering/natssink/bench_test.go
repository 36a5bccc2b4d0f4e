package natssink_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
)

// The benchmarks below run against one nats-server on loopback with its
// JetStream store on disk (the default file storage, as in production)
// and report events/s at metering.DefaultBatchSize events a batch.

// BenchmarkSinkWrite measures one Write of a batch (a fresh batch id each
// time): validation, encoding, the batch id and one acknowledged publish,
// with the expected-stream header.
func BenchmarkSinkWrite(b *testing.B) {
	srv := natstest.Start(b)
	sink := newSink(b, srv.URL(), "BW")
	batch := events(metering.DefaultBatchSize, "acme")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		batch[0].ID = strconv.Itoa(i) // a fresh batch id: it hashes every event's ID
		if err := sink.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBarePublish is the baseline of BenchmarkSinkWrite: a bare
// nats.go JetStream publish loop of the same payload (a batch's JSON
// Lines, encoded once) into a stream made alike, with a message id each
// time and waiting for each acknowledgement.
func BenchmarkBarePublish(b *testing.B) {
	srv := natstest.Start(b)
	nc := connect(b, srv.URL())
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: "BARE", Subjects: []string{"bare.>"}, Duplicates: natssink.DefaultDuplicateWindow,
		MaxAge: natssink.DefaultMaxAge, MaxBytes: natssink.DefaultMaxBytes, Storage: jetstream.FileStorage,
	}); err != nil {
		b.Fatal(err)
	}
	batch := events(metering.DefaultBatchSize, "acme")
	var payload []byte
	for i := range batch {
		payload = append(batch[i].AppendJSON(payload), '\n')
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		msg := &nats.Msg{Subject: "bare.batch", Data: payload}
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEndToEndNATS records b.N events into a meter (default batch
// size) whose sink is the JetStream sink and waits until all are stored:
// events/s is the sustained rate from Record to an acknowledged batch.
func BenchmarkEndToEndNATS(b *testing.B) {
	srv := natstest.Start(b)
	sink := newSink(b, srv.URL(), "BE")
	m, err := metering.New(metering.Config{Sink: sink})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	e := metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Agent: "a1", Tokens: 12,
		Latency: 250 * time.Microsecond, Compliance: 1}
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		e.Tenant = tenantNames[i%len(tenantNames)]
		for !m.Record(e) {
			time.Sleep(100 * time.Microsecond) // queue full: leave the CPU to the consumer and NATS
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
}

var tenantNames = []string{"acme", "beta", "gamma", "delta"}

// BenchmarkFold measures folding stored batches (DefaultBatchSize events
// over four tenants each) into the totals: one op is a Fold of 100 stored
// batches (10,000 events), as one instance's fold of a second's batches.
func BenchmarkFold(b *testing.B) {
	srv := natstest.Start(b)
	sink := newSink(b, srv.URL(), "BF")
	ctx := context.Background()
	const batches = 100
	batch := events(metering.DefaultBatchSize, "acme")
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for k := range batches {
			for j := range batch {
				batch[j].ID = fmt.Sprintf("%d-%d-%d", i, k, j)
				batch[j].Tenant = tenantNames[j%len(tenantNames)]
			}
			if err := sink.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if n, err := sink.Fold(ctx); err != nil || n != batches {
			b.Fatalf("Fold = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*batches*len(batch))/b.Elapsed().Seconds(), "events/s")
}
