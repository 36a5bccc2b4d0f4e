package natssink_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
)

func TestSink_Write(t *testing.T) {
	srv := natstest.Start(t)
	nc := connect(t, srv.URL())
	ctx := context.Background()
	t.Run("stores a re-sent batch once", func(t *testing.T) {
		s := newSink(t, srv.URL(), "W1")
		batch := events(10, "acme")
		for range 3 {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		if n := streamMsgs(t, nc, "W1"); n != 1 {
			t.Fatalf("stream holds %d messages, want 1", n)
		}
		if m := s.Metrics(); m.Published != 1 || m.Duplicates != 2 {
			t.Fatalf("Metrics = %+v, want 1 published and 2 duplicates", m)
		}
		if err := s.Write(ctx, events(11, "acme")[10:]); err != nil {
			t.Fatal(err)
		}
		if n := streamMsgs(t, nc, "W1"); n != 2 {
			t.Fatalf("stream holds %d messages after a new batch, want 2", n)
		}
	})
	t.Run("stores the batch id as the message id and the events as JSON Lines", func(t *testing.T) {
		s := newSink(t, srv.URL(), "W2")
		batch := events(3, "acme")
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		st, err := js.Stream(ctx, "W2")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := st.GetMsg(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Header.Get("Nats-Msg-Id"); got != metering.BatchID(batch) {
			t.Fatalf("Nats-Msg-Id = %q, want %q", got, metering.BatchID(batch))
		}
		if msg.Subject != "m.W2.batch" {
			t.Fatalf("subject %q", msg.Subject)
		}
		lines := strings.Split(strings.TrimSuffix(string(msg.Data), "\n"), "\n")
		for i, l := range lines {
			var e metering.Event
			if err := e.UnmarshalJSON([]byte(l)); err != nil || e.ID != batch[i].ID || e.Tokens != batch[i].Tokens {
				t.Fatalf("line %d = %s (%v), want event %s", i, l, err, batch[i].ID)
			}
		}
		if len(lines) != 3 {
			t.Fatalf("%d lines", len(lines))
		}
	})
	t.Run("splits a batch above the max payload and stores its re-send once", func(t *testing.T) {
		s := newSink(t, srv.URL(), "W3")
		batch := events(3000, "big")
		for i := range batch {
			batch[i].Metadata = map[string]any{"pad": strings.Repeat("x", 400)}
		}
		for range 2 {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		m := s.Metrics()
		if m.Published < 2 || m.Duplicates != m.Published {
			t.Fatalf("Metrics = %+v, want >= 2 parts stored once each", m)
		}
		agg, err := s.Aggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u := usageOf(agg, "big"); u.Count != 3000 {
			t.Fatalf("count = %d, want 3000", u.Count)
		}
	})
	t.Run("refuses an invalid event with its path", func(t *testing.T) {
		s := newSink(t, srv.URL(), "W4")
		batch := events(3, "acme")
		batch[2].Tokens = -1
		err := s.Write(ctx, batch)
		if !errors.Is(err, antifragile.ErrInvalid) || !strings.Contains(fmt.Sprint(antifragile.InvalidFields(err)), "events[2].tokens_processed") {
			t.Fatalf("Write = %v", err)
		}
		if m := s.Metrics(); m.Published != 0 {
			t.Fatalf("Metrics = %+v, want nothing stored", m)
		}
	})
	t.Run("creates its stream with the configured limits and updates them", func(t *testing.T) {
		cfgd := func(c *natssink.Config) { c.DuplicateWindow, c.MaxAge, c.MaxBytes = 30*time.Second, time.Hour, 8<<20 }
		s := newSink(t, srv.URL(), "W5", cfgd)
		if err := s.Write(ctx, events(1, "a")); err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		st, _ := js.Stream(ctx, "W5")
		c := st.CachedInfo().Config
		if c.Duplicates != 30*time.Second || c.MaxAge != time.Hour || c.MaxBytes != 8<<20 || c.Subjects[0] != "m.W5.>" {
			t.Fatalf("stream config %+v", c)
		}
		s2 := newSink(t, srv.URL(), "W5", cfgd, func(c *natssink.Config) { c.MaxAge = 2 * time.Hour })
		if err := s2.Write(ctx, events(2, "a")[1:]); err != nil {
			t.Fatal(err)
		}
		st, _ = js.Stream(ctx, "W5")
		if got := st.CachedInfo().Config.MaxAge; got != 2*time.Hour {
			t.Fatalf("max age after the update = %v", got)
		}
	})
	t.Run("Close is idempotent and ends writing", func(t *testing.T) {
		s, err := natssink.New(natssink.Config{URL: srv.URL(), Stream: "W6", Subject: "m.W6", Bucket: "W6_USAGE"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, events(1, "a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := s.Write(ctx, events(2, "a")[1:]); !errors.Is(err, natssink.ErrClosed) {
			t.Fatalf("Write after Close = %v", err)
		}
	})
	t.Run("leaves a Config.Conn open", func(t *testing.T) {
		own := connect(t, srv.URL())
		s, err := natssink.New(natssink.Config{Conn: own, Stream: "W7", Subject: "m.W7", Bucket: "W7_USAGE"})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close(ctx)
		if own.IsClosed() {
			t.Fatal("Close closed the caller's connection")
		}
	})
	t.Run("reports NATS being unreachable", func(t *testing.T) {
		s := newSink(t, "nats://127.0.0.1:1", "W8")
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.Write(cctx, events(1, "a")); err == nil {
			t.Fatal("Write to a closed port succeeded")
		}
	})
}

func TestSink_Aggregates(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	t.Run("sums per tenant", func(t *testing.T) {
		s := newSink(t, srv.URL(), "A1")
		batch := append(events(3, "acme"), events(2, "beta")...)
		batch[1].Outcome = metering.OutcomeError
		batch[2].Outcome = metering.OutcomeRejected
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		agg, err := s.Aggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []metering.Usage{
			{Tenant: "acme", Count: 2, Tokens: 3, LatencySum: 3 * time.Millisecond, LatencyMax: 2 * time.Millisecond,
				ComplianceMean: 0.5, Errors: 1, Rejected: 1},
			{Tenant: "beta", Count: 2, Tokens: 3, LatencySum: 3 * time.Millisecond, LatencyMax: 2 * time.Millisecond, ComplianceMean: 0.5},
		}
		if fmt.Sprint(agg.Usage) != fmt.Sprint(want) || agg.FoldedThrough != 1 || agg.LastSeq != 1 {
			t.Fatalf("Aggregates =\n%+v\nwant\n%+v through 1 of 1", agg, want)
		}
		u, err := s.Usage(ctx, "beta")
		if err != nil || u != want[1] {
			t.Fatalf("Usage(beta) = %+v, %v", u, err)
		}
		if u, err := s.Usage(ctx, "nobody"); err != nil || u.Count != 0 || u.Tenant != "nobody" {
			t.Fatalf("Usage(nobody) = %+v, %v", u, err)
		}
	})
	t.Run("an instance behind the cursor reports the cursor's position", func(t *testing.T) {
		a, b := newSink(t, srv.URL(), "A6"), newSink(t, srv.URL(), "A6")
		if err := b.Write(ctx, events(1, "x")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Fold(ctx); err != nil { // b is at sequence 1
			t.Fatal(err)
		}
		for i := 1; i < 4; i++ {
			if err := a.Write(ctx, events(4, "x")[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.Fold(ctx); err != nil { // a moves the cursor to 4
			t.Fatal(err)
		}
		agg, err := b.Aggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if agg.FoldedThrough != 4 || agg.LastSeq != 4 || usageOf(agg, "x").Count != 4 || b.Metrics().Folded != 1 {
			t.Fatalf("b's Aggregates = %+v, metrics %+v; want folded through 4 by a, b reading nothing again", agg, b.Metrics())
		}
	})
	t.Run("empty before any batch", func(t *testing.T) {
		s := newSink(t, srv.URL(), "A2")
		agg, err := s.Aggregates(ctx)
		if err != nil || len(agg.Usage) != 0 || agg.LastSeq != 0 {
			t.Fatalf("Aggregates = %+v, %v", agg, err)
		}
	})
	t.Run("counts a copy stored again after the duplicate window once", func(t *testing.T) {
		s := newSink(t, srv.URL(), "A3", func(c *natssink.Config) { c.DuplicateWindow = time.Second })
		batch := events(4, "acme")
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// Re-send until the stream's window has passed and it stores the
		// batch a second time, as after a NATS outage longer than it.
		deadline := time.Now().Add(15 * time.Second)
		for s.Metrics().Published < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("the stream never stored the batch again: %+v", s.Metrics())
			}
			time.Sleep(50 * time.Millisecond)
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		agg, err := s.Aggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u := usageOf(agg, "acme"); u.Count != 4 || agg.LastSeq != 2 {
			t.Fatalf("acme = %+v of %d stored messages, want 4 events once", u, agg.LastSeq)
		}
		if m := s.Metrics(); m.FoldDuplicates != 1 {
			t.Fatalf("Metrics = %+v, want 1 fold duplicate", m)
		}
	})
	t.Run("skips and counts a message that is no batch", func(t *testing.T) {
		s := newSink(t, srv.URL(), "A4")
		nc := connect(t, srv.URL())
		if err := s.Write(ctx, events(1, "a")); err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		if _, err := js.Publish(ctx, "m.A4.batch", []byte("not json\n")); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, events(2, "a")[1:]); err != nil {
			t.Fatal(err)
		}
		agg, err := s.Aggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u := usageOf(agg, "a"); u.Count != 2 || s.Metrics().Malformed != 1 {
			t.Fatalf("a = %+v, metrics %+v", u, s.Metrics())
		}
	})
	t.Run("counts messages removed before they were folded", func(t *testing.T) {
		s := newSink(t, srv.URL(), "A5")
		nc := connect(t, srv.URL())
		for i := range 3 {
			if err := s.Write(ctx, events(3, "a")[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
		js, _ := jetstream.New(nc)
		st, _ := js.Stream(ctx, "A5")
		if err := st.DeleteMsg(ctx, 2); err != nil {
			t.Fatal(err)
		}
		agg, err := s.Aggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u := usageOf(agg, "a"); u.Count != 2 || s.Metrics().Skipped != 1 {
			t.Fatalf("a = %+v, metrics %+v", u, s.Metrics())
		}
	})
}

// TestSink_Instances has three instances, each with its own connection,
// write batches — some of them the same batch, as when a batch is re-sent
// — and fold, while writing or all at once afterwards: every distinct
// batch is counted once.
func TestSink_Instances(t *testing.T) {
	srv := natstest.Start(t)
	for _, mode := range []string{"while writing", "all at once after"} {
		t.Run("folding "+mode, func(t *testing.T) {
			name := "I" + strings.ReplaceAll(mode, " ", "_")
			instances(t, srv.URL(), name, mode == "while writing")
		})
	}
}

const perBatch = 20

func instances(t *testing.T, url, name string, foldWhileWriting bool) {
	ctx := context.Background()
	const n, batches = 3, 60
	sinks := make([]*natssink.Sink, n)
	for i := range sinks {
		sinks[i] = newSink(t, url, name)
	}
	all := make([][]metering.Event, batches)
	want := map[string]int64{}
	for b := range all {
		all[b] = events(perBatch, fmt.Sprintf("t%d", b%4))
		for j := range all[b] {
			all[b][j].ID = fmt.Sprintf("b%d-%d", b, j)
		}
		want[all[b][0].Tenant] += perBatch
	}
	errs := make(chan error, n*2)
	fold := func(s *natssink.Sink) {
		for range 20 {
			if _, err := s.Fold(ctx); err != nil {
				errs <- err
				return
			}
		}
	}
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Go(func() { // instance i writes every batch b with b%3 == i, and b%5 == 0 too
			for b := range all {
				if b%n == i || b%5 == 0 {
					if err := s.Write(ctx, all[b]); err != nil {
						errs <- err
						return
					}
				}
			}
		})
		if foldWhileWriting {
			wg.Go(func() { fold(s) })
		}
	}
	wg.Wait()
	if !foldWhileWriting {
		start := make(chan struct{})
		for _, s := range sinks {
			wg.Go(func() { <-start; fold(s) })
		}
		close(start)
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkInstances(t, sinks, want, batches)
}

func checkInstances(t *testing.T, sinks []*natssink.Sink, want map[string]int64, batches uint64) {
	t.Helper()
	for i, s := range sinks {
		agg, err := s.Aggregates(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(agg.Usage) != len(want) {
			t.Fatalf("instance %d: %d tenants, want %d", i, len(agg.Usage), len(want))
		}
		for _, u := range agg.Usage {
			if u.Count != want[u.Tenant] || u.Tokens != want[u.Tenant]/perBatch*(perBatch*(perBatch+1)/2) {
				t.Fatalf("instance %d: %s = %+v, want count %d", i, u.Tenant, u, want[u.Tenant])
			}
		}
	}
	var m natssink.Metrics
	for _, s := range sinks {
		sm := s.Metrics()
		m.Published += sm.Published
		m.Duplicates += sm.Duplicates
		m.Folded += sm.Folded
		m.Conflicts += sm.Conflicts
	}
	t.Logf("published %d, duplicates %d, folded %d (over all instances), conflicts %d", m.Published, m.Duplicates, m.Folded, m.Conflicts)
	if m.Published != batches {
		t.Fatalf("the stream stored %d batches, want %d", m.Published, batches)
	}
}

// TestSink_NATSRestarted kills nats-server in the middle of a meter's run
// and restarts it: every event the meter accepted is counted once.
func TestSink_NATSRestarted(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sink := newSink(t, "", "R1", func(c *natssink.Config) { c.Conn, c.Timeout = nc, time.Second })
	m, err := metering.New(metering.Config{
		Sink: sink, MaxQueueSize: 5000, BatchSize: 100, FlushInterval: 5 * time.Millisecond,
		Retry: metering.RetryPolicy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error)
	go func() { runDone <- m.Run(ctx) }()
	accepted := map[string]int64{} // tenant → events
	record := func(from, to int) {
		for i := from; i < to; i++ {
			e := metering.Event{ID: fmt.Sprintf("ev-%d", i), Tenant: fmt.Sprintf("t%d", i%3), Tokens: 1}
			for !m.Record(e) {
				time.Sleep(time.Millisecond) // queue full: leave the CPU to the meter
			}
			accepted[e.Tenant]++
		}
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; meter %+v, sink %+v", what, m.Metrics(), sink.Metrics())
			}
			time.Sleep(time.Millisecond)
		}
	}
	record(0, 2000)
	waitFor("first deliveries", func() bool { return m.Metrics().Flushed >= 1000 })
	srv.Kill()
	record(2000, 3000)
	errsBefore := m.Metrics().Errors
	waitFor("failed writes while NATS is down", func() bool { return m.Metrics().Errors >= errsBefore+3 })
	srv.Restart()
	record(3000, 4000)
	waitFor("every event delivered", func() bool { return m.Metrics().Flushed == 4000 })
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var agg natssink.Aggregates
	waitFor("a fold after the restart", func() bool {
		agg, err = sink.Aggregates(context.Background())
		return err == nil
	})
	for tenant, n := range accepted {
		if u := usageOf(agg, tenant); u.Count != n || u.Tokens != n {
			t.Errorf("%s = %+v, %d accepted", tenant, u, n)
		}
	}
	t.Logf("meter %+v; sink %+v", m.Metrics(), sink.Metrics())
}
