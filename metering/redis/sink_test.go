package redissink_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/redistest"
	"github.com/antifragile-go/antifragile/metering"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
	"github.com/redis/go-redis/v9"
)

// newClient returns a client for addr, closed when the test ends.
func newClient(t testing.TB, addr string, opts ...func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: addr}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newSink(t testing.TB, cfg redissink.Config) *redissink.Sink {
	s, err := redissink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// streamEvents reads every event of the stream, in order.
func streamEvents(t testing.TB, c *redis.Client, stream string) []metering.Event {
	t.Helper()
	var out []metering.Event
	start := "-"
	for {
		msgs, err := c.XRangeN(context.Background(), stream, start, "+", 5000).Result()
		if err != nil {
			t.Fatalf("XRANGE: %v", err)
		}
		for _, msg := range msgs {
			var e metering.Event
			if err := e.UnmarshalJSON([]byte(msg.Values["event"].(string))); err != nil {
				t.Fatalf("stream entry %s: %v", msg.ID, err)
			}
			out = append(out, e)
		}
		if len(msgs) < 5000 {
			return out
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

func events(n int, tenant string) []metering.Event {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := make([]metering.Event, n)
	for i := range ev {
		ev[i] = metering.Event{
			ID: fmt.Sprintf("%s-%d", tenant, i), Tenant: tenant, Operation: metering.OpAgentMessage,
			Tier: metering.TierStandard, Tokens: int64(i + 1), Latency: time.Duration(i+1) * time.Millisecond,
			Compliance: 0.5, Time: base.Add(time.Duration(i) * time.Second), ConstitutionalHash: antifragile.ConstitutionalHash,
		}
	}
	return ev
}

func TestNew(t *testing.T) {
	t.Run("zero config gives the defaults", func(t *testing.T) {
		s := newSink(t, redissink.Config{})
		got := s.Config()
		got.Client = nil
		want := redissink.Config{Addr: "127.0.0.1:6379", Stream: "antifragile:metering:events",
			KeyPrefix: "antifragile:metering:", MaxLen: 1_000_000, BatchTTL: 24 * time.Hour}
		if got != want {
			t.Fatalf("Config = %+v, want %+v", got, want)
		}
	})
	for _, ttl := range []time.Duration{-time.Second, time.Microsecond} {
		t.Run(fmt.Sprintf("refuses batch TTL %v", ttl), func(t *testing.T) {
			_, err := redissink.New(redissink.Config{BatchTTL: ttl})
			var ve *redissink.ValidationError
			if !errors.As(err, &ve) || ve.Field != "batch_ttl" || !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	for _, c := range []redis.UniversalClient{(*redis.Client)(nil), (*redis.ClusterClient)(nil)} {
		t.Run(fmt.Sprintf("refuses a typed-nil client %T", c), func(t *testing.T) {
			s, err := redissink.New(redissink.Config{Client: c})
			var ve *redissink.ValidationError
			if s != nil || !errors.As(err, &ve) || ve.Field != "client" || !errors.Is(err, antifragile.ErrNil) {
				t.Fatalf("New = %v, %v; want a *ValidationError for client wrapping ErrNil", s, err)
			}
		})
	}
}

func TestBatchID(t *testing.T) {
	a := events(3, "acme")
	id := redissink.BatchID(a)
	if len(id) != 32 || id != redissink.BatchID(events(3, "acme")) {
		t.Fatalf("BatchID = %q, not a stable 128-bit hex id", id)
	}
	swapped := []metering.Event{a[1], a[0], a[2]}
	noIDs := events(2, "x")
	noIDs[0].ID, noIDs[1].ID = "", ""
	other := events(2, "x")
	other[0].ID, other[1].ID = "", ""
	other[1].Tokens = 99
	for name, b := range map[string][]metering.Event{
		"fewer events":        a[:2],
		"another order":       swapped,
		"other IDs":           events(3, "beta"),
		"ID-less, by content": noIDs,
	} {
		if redissink.BatchID(b) == id {
			t.Errorf("%s: same id", name)
		}
	}
	if redissink.BatchID(noIDs) == redissink.BatchID(other) {
		t.Error("ID-less batches of different content share an id")
	}
}

func TestSink_Write(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	t.Run("appends to the stream and aggregates per tenant", func(t *testing.T) {
		c := newClient(t, srv.Addr())
		s := newSink(t, redissink.Config{Client: c, Stream: "t1:events", KeyPrefix: "t1:"})
		batch := append(events(3, "acme"), events(2, "beta")...)
		batch[1].Outcome = metering.OutcomeError
		batch[2].Outcome = metering.OutcomeRejected
		batch[2].Tier = metering.TierEnterprise
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		got := streamEvents(t, c, "t1:events")
		if len(got) != 5 {
			t.Fatalf("stream holds %d events, want 5", len(got))
		}
		for i := range got {
			if got[i].ID != batch[i].ID || got[i].Tokens != batch[i].Tokens || !got[i].Time.Equal(batch[i].Time) {
				t.Fatalf("entry %d = %+v, want %+v", i, got[i], batch[i])
			}
		}
		f, err := s.Fields(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{
			"count": 2, "tokens": 3, "latency_ns": int64(3 * time.Millisecond), "latency_max_ns": int64(2 * time.Millisecond),
			"compliance_micros": 1_000_000, "errors": 1, "rejected": 1, // injected: 0 is never written
			"op:agent_message:count": 2, "op:agent_message:tokens": 3, "tier:standard:count": 2,
		}
		if fmt.Sprint(f) != fmt.Sprint(want) {
			t.Fatalf("acme fields =\n%v\nwant\n%v", f, want)
		}
		u, err := s.Usage(ctx, "beta")
		if err != nil {
			t.Fatal(err)
		}
		if u.Count != 2 || u.Tokens != 3 || u.ComplianceMean != 0.5 || u.LatencyMax != 2*time.Millisecond {
			t.Fatalf("Usage(beta) = %+v", u)
		}
		if ts, err := s.Tenants(ctx); err != nil || fmt.Sprint(ts) != "[acme beta]" {
			t.Fatalf("Tenants = %v, %v", ts, err)
		}
	})
	t.Run("counts a re-sent batch once", func(t *testing.T) {
		c := newClient(t, srv.Addr())
		s := newSink(t, redissink.Config{Client: c, Stream: "t2:events", KeyPrefix: "t2:"})
		batch := events(10, "acme")
		for range 3 {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(streamEvents(t, c, "t2:events")); n != 10 {
			t.Fatalf("stream holds %d events, want 10", n)
		}
		if u, _ := s.Usage(ctx, "acme"); u.Count != 10 {
			t.Fatalf("count = %d, want 10", u.Count)
		}
		if st := s.Metrics(); st.Applied != 1 || st.Duplicates != 2 {
			t.Fatalf("Stats = %+v", st)
		}
		if err := s.Write(ctx, events(11, "acme")[10:]); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.Usage(ctx, "acme"); u.Count != 11 {
			t.Fatalf("count = %d after a new batch, want 11", u.Count)
		}
	})
	t.Run("reloads its script after Redis forgot it", func(t *testing.T) {
		c := newClient(t, srv.Addr())
		s := newSink(t, redissink.Config{Client: c, Stream: "t3:events", KeyPrefix: "t3:"})
		_ = s.Write(ctx, events(1, "a"))
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, events(2, "a")[1:]); err != nil {
			t.Fatalf("Write after SCRIPT FLUSH: %v", err)
		}
		if n := len(streamEvents(t, c, "t3:events")); n != 2 {
			t.Fatalf("stream holds %d", n)
		}
	})
	t.Run("trims the stream to about MaxLen", func(t *testing.T) {
		c := newClient(t, srv.Addr())
		s := newSink(t, redissink.Config{Client: c, Stream: "t4:events", KeyPrefix: "t4:", MaxLen: 100})
		all := events(2000, "a")
		for i := 0; i < len(all); i += 100 {
			if err := s.Write(ctx, all[i:i+100]); err != nil {
				t.Fatal(err)
			}
		}
		n, _ := c.XLen(ctx, "t4:events").Result()
		if n < 100 || n > 300 {
			t.Fatalf("XLEN = %d, want about 100", n)
		}
		if u, _ := s.Usage(ctx, "a"); u.Count != 2000 {
			t.Fatalf("aggregates count %d, want all 2000 despite trimming", u.Count)
		}
	})
	t.Run("owns a client made from Addr", func(t *testing.T) {
		s, err := redissink.New(redissink.Config{Addr: srv.Addr(), Stream: "t5:events", KeyPrefix: "t5:"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, events(2, "a")); err != nil {
			t.Fatal(err)
		}
		if u, err := s.Usage(ctx, "a"); err != nil || u.Count != 2 {
			t.Fatalf("Usage = %+v, %v", u, err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := s.Write(ctx, events(3, "a")[2:]); err == nil {
			t.Fatal("Write after Close succeeded")
		}
	})
	t.Run("reports Redis being unreachable", func(t *testing.T) {
		c := newClient(t, "127.0.0.1:1", func(o *redis.Options) { o.DialerRetries, o.MaxRetries = 1, -1 })
		s := newSink(t, redissink.Config{Client: c, Stream: "x"})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.Write(cctx, events(1, "a")); err == nil {
			t.Fatal("Write to a closed port succeeded")
		}
	})
}

// TestSink_RedisKilled kills Redis in the middle of a run and restarts it:
// every event the meter accepted is in the stream exactly once, and the
// aggregates equal the events.
func TestSink_RedisKilled(t *testing.T) {
	srv := redistest.StartPersistent(t)
	c := newClient(t, srv.Addr(), func(o *redis.Options) {
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 250*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
		o.MaxRetries = 1
		o.DialerRetries, o.DialerRetryTimeout = 1, 10*time.Millisecond
	})
	sink := newSink(t, redissink.Config{Client: c, MaxLen: -1})
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

	tenants := []string{"acme", "beta", "gamma"}
	var (
		mu       sync.Mutex
		accepted = map[string]metering.Event{}
		stop     = make(chan struct{})
		prodDone = make(chan struct{})
	)
	go func() { // produce until told to stop
		defer close(prodDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e := metering.Event{
				ID: fmt.Sprintf("ev-%d", i), Tenant: tenants[i%3], Operation: metering.OpPolicyEvaluation,
				Tokens: int64(i%7 + 1), Latency: time.Duration(i%5+1) * time.Millisecond, Compliance: float64(i%4) / 4,
			}
			if m.Record(e) {
				mu.Lock()
				accepted[e.ID] = e
				mu.Unlock()
			}
			if i%50 == 0 {
				runtime.Gosched()
				time.Sleep(time.Millisecond) // a steady stream rather than a flood
			}
		}
	}()
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; metrics %+v", what, m.Metrics())
			}
			time.Sleep(time.Millisecond)
		}
	}
	start := time.Now()
	waitFor("first deliveries", func() bool { return m.Metrics().Flushed >= 1000 })
	t.Logf("%v: killing Redis", time.Since(start))
	srv.Kill()
	errsBefore := m.Metrics().Errors
	waitFor("failed writes while Redis is down", func() bool { return m.Metrics().Errors >= errsBefore+3 })
	t.Logf("%v: restarting Redis", time.Since(start))
	srv.Restart()
	t.Logf("%v: Redis is back", time.Since(start))
	flushedAtRestart := m.Metrics().Flushed
	waitFor("deliveries after the restart", func() bool { return m.Metrics().Flushed >= flushedAtRestart+1000 })
	t.Logf("%v: delivering again", time.Since(start))
	close(stop)
	<-prodDone
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	closeCtx, closeCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer closeCancel()
	if err := m.Close(closeCtx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	met := m.Metrics()
	t.Logf("accepted %d, dropped %d, write errors %d, retries %d, batches applied %d, re-sends recognized %d",
		len(accepted), met.Dropped, met.Errors, met.Retries, sink.Metrics().Applied, sink.Metrics().Duplicates)
	if met.Errors == 0 {
		t.Fatal("no write failed: Redis was not down during the run")
	}
	if uint64(len(accepted)) != met.Queued || met.Flushed != met.Queued || met.Failed != 0 {
		t.Fatalf("accepted %d, metrics %+v", len(accepted), met)
	}

	got := streamEvents(t, c, redissink.DefaultStream)
	seen := make(map[string]bool, len(got))
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s is in the stream twice", e.ID)
		}
		seen[e.ID] = true
		if _, ok := accepted[e.ID]; !ok {
			t.Fatalf("event %s in the stream was never accepted", e.ID)
		}
	}
	if len(got) != len(accepted) {
		t.Fatalf("stream holds %d events, %d accepted", len(got), len(accepted))
	}

	type sums struct{ count, tokens, latency, compliance int64 }
	want := map[string]*sums{}
	for _, e := range accepted {
		s := want[e.Tenant]
		if s == nil {
			s = &sums{}
			want[e.Tenant] = s
		}
		s.count++
		s.tokens += e.Tokens
		s.latency += int64(e.Latency)
		s.compliance += redissink.ComplianceMicros(e.Compliance)
	}
	for tenant, w := range want {
		f, err := sink.Fields(context.Background(), tenant)
		if err != nil {
			t.Fatal(err)
		}
		g := sums{f["count"], f["tokens"], f["latency_ns"], f["compliance_micros"]}
		if g != *w || f["op:policy_evaluation:count"] != w.count {
			t.Errorf("tenant %s aggregates %+v (fields %v), events sum to %+v", tenant, g, f, *w)
		}
	}
}
