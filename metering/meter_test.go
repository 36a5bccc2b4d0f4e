package metering_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
)

func newMeter(t *testing.T, cfg metering.Config) *metering.Meter {
	t.Helper()
	m, err := metering.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestConfig_Validate(t *testing.T) {
	t.Run("zero value is valid", func(t *testing.T) {
		if err := (metering.Config{}).Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	tests := []struct {
		name  string
		cfg   metering.Config
		field string
	}{
		{"negative max queue size", metering.Config{MaxQueueSize: -1}, "max_queue_size"},
		{"negative batch size", metering.Config{BatchSize: -1}, "batch_size"},
		{"negative flush interval", metering.Config{FlushInterval: -time.Second}, "flush_interval"},
		{"negative aggregation interval", metering.Config{AggregationInterval: -time.Second}, "aggregation_interval"},
		{"negative retry initial", metering.Config{Retry: metering.RetryPolicy{Initial: -1}}, "retry.initial"},
		{"retry max below initial", metering.Config{Retry: metering.RetryPolicy{Initial: time.Second, Max: time.Millisecond}}, "retry.max"},
		{"retry multiplier below 1", metering.Config{Retry: metering.RetryPolicy{Multiplier: 0.5}}, "retry.multiplier"},
		{"retry multiplier NaN", metering.Config{Retry: metering.RetryPolicy{Multiplier: math.NaN()}}, "retry.multiplier"},
		{"negative max attempts", metering.Config{Retry: metering.RetryPolicy{MaxAttempts: -1}}, "retry.max_attempts"},
		{"wrong hash", metering.Config{ConstitutionalHash: "deadbeefdeadbeef"}, "constitutional_hash"},
		{"a nil *MemorySink as sink", metering.Config{Sink: (*metering.MemorySink)(nil)}, "sink"},
		{"a nil SinkFunc as sink", metering.Config{Sink: metering.SinkFunc(nil)}, "sink"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var ve *metering.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("Validate = %v, want a *ValidationError for %q", err, tt.field)
			}
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if _, err := metering.New(tt.cfg); !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("New err = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("a wrong hash is also a hash mismatch", func(t *testing.T) {
		err := metering.Config{ConstitutionalHash: "nope"}.Validate()
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v, want ErrHashMismatch", err)
		}
	})
	t.Run("a typed-nil sink is also ErrNil, and a nil sink is valid", func(t *testing.T) {
		err := metering.Config{Sink: (*metering.FileSink)(nil)}.Validate()
		if !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("err = %v, want ErrNil", err)
		}
		if err := (metering.Config{Sink: nil}).Validate(); err != nil {
			t.Fatalf("nil sink: %v", err)
		}
	})
	t.Run("reports every invalid field", func(t *testing.T) {
		err := metering.Config{MaxQueueSize: -1, BatchSize: -2}.Validate()
		for _, f := range []string{"max_queue_size", "batch_size"} {
			if !containsField(err, f) {
				t.Errorf("err = %v, missing field %q", err, f)
			}
		}
	})
}

func containsField(err error, field string) bool {
	return slices.Contains(antifragile.InvalidFields(err), field)
}

func TestNew(t *testing.T) {
	t.Run("zero config gives the seed's defaults", func(t *testing.T) {
		m := newMeter(t, metering.Config{})
		got := m.Metrics()
		want := metering.Metrics{MaxQueueSize: 10_000, Enabled: true, ConstitutionalHash: antifragile.ConstitutionalHash}
		if got != want {
			t.Fatalf("Metrics = %+v, want %+v", got, want)
		}
		ms, ok := m.Sink().(*metering.MemorySink)
		if !ok {
			t.Fatalf("Sink = %T, want *MemorySink", m.Sink())
		}
		if w := ms.Config().Window; w != 60*time.Second {
			t.Fatalf("memory window = %v, want 60s", w)
		}
	})
	t.Run("aggregation interval sets the memory window", func(t *testing.T) {
		m := newMeter(t, metering.Config{AggregationInterval: time.Hour})
		if w := m.Sink().(*metering.MemorySink).Config().Window; w != time.Hour {
			t.Fatalf("window = %v, want 1h", w)
		}
	})
}

func TestMeter_Record(t *testing.T) {
	t.Run("disabled meter records nothing", func(t *testing.T) {
		sink := &recSink{}
		m := newMeter(t, metering.Config{Disabled: true, Sink: sink})
		for range 5 {
			if m.Record(metering.Event{Operation: metering.OpAuditWrite}) {
				t.Fatal("Record = true on a disabled meter")
			}
		}
		if err := m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := m.Metrics()
		if got.Queued != 0 || got.Dropped != 0 || got.Flushed != 0 || got.Enabled {
			t.Fatalf("Metrics = %+v, want nothing counted and Enabled false", got)
		}
		if n := len(sink.events()); n != 0 {
			t.Fatalf("sink got %d events", n)
		}
	})
	t.Run("overflow drops and counts", func(t *testing.T) {
		m := newMeter(t, metering.Config{MaxQueueSize: 2, Sink: &recSink{}})
		var accepted []bool
		for range 5 {
			accepted = append(accepted, m.Record(metering.Event{Operation: metering.OpAgentMessage}))
		}
		if want := []bool{true, true, false, false, false}; !slices.Equal(accepted, want) {
			t.Fatalf("Record results = %v, want %v", accepted, want)
		}
		got := m.Metrics()
		if got.Queued != 2 || got.Dropped != 3 || got.QueueSize != 2 {
			t.Fatalf("Metrics = %+v, want 2 queued, 3 dropped, queue size 2", got)
		}
	})
	t.Run("accepts again once flushed", func(t *testing.T) {
		sink := &recSink{}
		m := newMeter(t, metering.Config{MaxQueueSize: 2, Sink: sink})
		m.Record(metering.Event{})
		m.Record(metering.Event{})
		if m.Record(metering.Event{}) {
			t.Fatal("third Record accepted with MaxQueueSize 2")
		}
		if err := m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !m.Record(metering.Event{}) {
			t.Fatal("Record refused after Flush emptied the queue")
		}
	})
	t.Run("nil meter refuses without panicking", func(t *testing.T) {
		var m *metering.Meter
		if m.Record(metering.Event{}) {
			t.Fatal("nil Meter accepted an event")
		}
	})
	t.Run("closed meter refuses and counts a drop", func(t *testing.T) {
		m := newMeter(t, metering.Config{Sink: &recSink{}})
		if err := m.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if m.Record(metering.Event{}) {
			t.Fatal("Record accepted after Close")
		}
		if d := m.Metrics().Dropped; d != 1 {
			t.Fatalf("Dropped = %d, want 1", d)
		}
	})
	t.Run("fills in defaults on delivery", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{Sink: sink})
			when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
			m.Record(metering.Event{Operation: metering.OpAuditWrite, Compliance: 7, Latency: -1, Tokens: -5})
			m.Record(metering.Event{ID: "mine", Tenant: "acme", Tier: metering.TierEnterprise, Time: when, Compliance: math.NaN()})
			if err := m.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			ev := sink.events()
			if len(ev) != 2 {
				t.Fatalf("got %d events", len(ev))
			}
			a, b := ev[0], ev[1]
			if a.ID == "" || a.Tenant != "default" || a.Tier != metering.TierStandard || a.ConstitutionalHash != antifragile.ConstitutionalHash {
				t.Errorf("first event = %+v, want an ID, tenant default, tier standard, the hash", a)
			}
			if !a.Time.Equal(time.Now()) || a.Time.Location() != time.UTC {
				t.Errorf("first event time = %v, want now (%v) in UTC", a.Time, time.Now())
			}
			if a.Compliance != 1 || a.Latency != 0 || a.Tokens != 0 {
				t.Errorf("first event compliance %v latency %v tokens %v, want clamped to 1, 0, 0", a.Compliance, a.Latency, a.Tokens)
			}
			if b.ID != "mine" || b.Tenant != "acme" || b.Tier != metering.TierEnterprise || !b.Time.Equal(when) || b.Time.Location() != time.UTC || b.Compliance != 0 {
				t.Errorf("second event = %+v, want its own fields kept, time in UTC, NaN compliance 0", b)
			}
		})
	})
	t.Run("IDs are unique across meters", func(t *testing.T) {
		seen := map[string]bool{}
		for range 3 {
			sink := &recSink{}
			m := newMeter(t, metering.Config{Sink: sink})
			for range 50 {
				m.Record(metering.Event{})
			}
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, e := range sink.events() {
				if seen[e.ID] {
					t.Fatalf("duplicate ID %q", e.ID)
				}
				seen[e.ID] = true
			}
		}
		if len(seen) != 150 {
			t.Fatalf("%d IDs, want 150", len(seen))
		}
	})
	t.Run("concurrent records are all accepted or counted", func(t *testing.T) {
		sink := &recSink{}
		m := newMeter(t, metering.Config{MaxQueueSize: 1000, BatchSize: 64, Sink: sink})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 5000 {
					m.Record(metering.Event{Tenant: fmt.Sprint(g), Tokens: int64(i)})
				}
			})
		}
		wg.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := m.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := m.Metrics()
		if got.Queued+got.Dropped != 40_000 {
			t.Fatalf("queued %d + dropped %d != 40000", got.Queued, got.Dropped)
		}
		ev := sink.events()
		if uint64(len(ev)) != got.Queued || got.Flushed != got.Queued || got.QueueSize != 0 {
			t.Fatalf("delivered %d, metrics %+v", len(ev), got)
		}
		ids := map[string]bool{}
		for _, e := range ev {
			ids[e.ID] = true
		}
		if len(ids) != len(ev) {
			t.Fatalf("%d distinct IDs for %d events", len(ids), len(ev))
		}
	})
}

func TestMeter_Run(t *testing.T) {
	t.Run("flushes a full batch at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{BatchSize: 10, Sink: sink})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			synctest.Wait()
			start := time.Now()
			for range 25 {
				m.Record(metering.Event{})
			}
			synctest.Wait()
			if got := sink.batchSizes(); !slices.Equal(got, []int{10, 10}) {
				t.Fatalf("batches = %v, want [10 10] before any interval", got)
			}
			if time.Since(start) != 0 {
				t.Fatalf("time advanced %v", time.Since(start))
			}
		})
	})
	t.Run("flushes a partial batch every interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{FlushInterval: 2 * time.Second, Sink: sink})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			for range 5 {
				m.Record(metering.Event{})
			}
			time.Sleep(2*time.Second - time.Nanosecond)
			synctest.Wait()
			if n := len(sink.events()); n != 0 {
				t.Fatalf("%d events delivered before the interval", n)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if got := sink.batchSizes(); !slices.Equal(got, []int{5}) {
				t.Fatalf("batches = %v, want [5] at the interval", got)
			}
		})
	})
	t.Run("drains beyond one batch per interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{BatchSize: 100, Sink: sink})
			for range 1000 {
				m.Record(metering.Event{})
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			synctest.Wait()
			if n := len(sink.events()); n != 1000 {
				t.Fatalf("delivered %d of 1000 without waiting for an interval", n)
			}
		})
	})
	t.Run("stamps events from its clock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{Sink: sink})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			var want []time.Time
			for _, d := range []time.Duration{0, 7 * time.Millisecond, 5 * time.Second, time.Hour} {
				time.Sleep(d)
				synctest.Wait() // let the clock goroutine see the same instant
				want = append(want, time.Now().UTC())
				m.Record(metering.Event{})
			}
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []time.Time
			for _, e := range sink.events() {
				got = append(got, e.Time)
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Fatalf("times = %v, want %v", got, want)
			}
		})
	})
	t.Run("retries a refused batch with backoff and delivers it once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{fail: 3}
			m := newMeter(t, metering.Config{Sink: sink, BatchSize: 5,
				Retry: metering.RetryPolicy{Initial: 100 * time.Millisecond, Multiplier: 2}})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			start := time.Now()
			for range 5 {
				m.Record(metering.Event{})
			}
			synctest.Wait()
			for i, at := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond} {
				if n := sink.attemptCount(); n != i+1 {
					t.Fatalf("before %v: %d attempts, want %d", at, n, i+1)
				}
				time.Sleep(at - time.Since(start))
				synctest.Wait()
			}
			if n := sink.attemptCount(); n != 4 {
				t.Fatalf("%d attempts, want 4", n)
			}
			if got := sink.batchSizes(); !slices.Equal(got, []int{5}) {
				t.Fatalf("batches = %v, want one of 5", got)
			}
			got := m.Metrics()
			if got.Errors != 3 || got.Retries != 3 || got.Flushed != 5 || got.Failed != 0 || got.QueueSize != 0 {
				t.Fatalf("Metrics = %+v", got)
			}
		})
	})
	t.Run("keeps accepting up to its bound while retrying", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{fail: -1}
			m := newMeter(t, metering.Config{Sink: sink, MaxQueueSize: 10, BatchSize: 4})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			accepted := 0
			for range 30 {
				if m.Record(metering.Event{}) {
					accepted++
				}
				synctest.Wait()
			}
			// 4 held by the failing write, 10 queued behind it.
			if accepted != 14 {
				t.Fatalf("accepted %d, want 14", accepted)
			}
			sink.setFail(0)
			time.Sleep(time.Minute)
			synctest.Wait()
			got := m.Metrics()
			if len(sink.events()) != 14 || got.Flushed != 14 || got.Dropped != 16 || got.QueueSize != 0 {
				t.Fatalf("delivered %d, Metrics %+v", len(sink.events()), got)
			}
		})
	})
	t.Run("abandons a batch after MaxAttempts and counts it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{fail: -1}
			m := newMeter(t, metering.Config{Sink: sink, Retry: metering.RetryPolicy{MaxAttempts: 3}})
			for range 7 {
				m.Record(metering.Event{})
			}
			if err := m.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := m.Metrics()
			if got.Failed != 7 || got.Errors != 3 || got.Retries != 2 || got.QueueSize != 0 {
				t.Fatalf("Metrics = %+v, want 7 failed after 3 errors", got)
			}
		})
	})
	t.Run("a panicking sink is retried like a failing one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			var got []metering.Event
			m := newMeter(t, metering.Config{Sink: metering.SinkFunc(func(_ context.Context, ev []metering.Event) error {
				if calls++; calls == 1 {
					panic("boom")
				}
				got = append(got, ev...)
				return nil
			})})
			m.Record(metering.Event{})
			if err := m.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || m.Metrics().Errors != 1 {
				t.Fatalf("delivered %d, Metrics %+v", len(got), m.Metrics())
			}
		})
	})
	t.Run("refuses a second concurrent Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newMeter(t, metering.Config{Sink: &recSink{}})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- m.Run(ctx) }()
			synctest.Wait()
			if !m.Metrics().Running {
				t.Fatal("Running = false while Run runs")
			}
			if err := m.Run(ctx); !errors.Is(err, metering.ErrRunning) {
				t.Fatalf("second Run = %v, want ErrRunning", err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v, want nil after cancel", err)
			}
			if m.Metrics().Running {
				t.Fatal("Running = true after Run returned")
			}
		})
	})
	t.Run("returns when closed and refuses to run after", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newMeter(t, metering.Config{Sink: &recSink{}})
			done := make(chan error)
			go func() { done <- m.Run(t.Context()) }()
			synctest.Wait()
			if err := m.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("Run = %v", err)
			}
			if err := m.Run(t.Context()); !errors.Is(err, metering.ErrClosed) {
				t.Fatalf("Run after Close = %v, want ErrClosed", err)
			}
			if err := m.Flush(t.Context()); !errors.Is(err, metering.ErrClosed) {
				t.Fatalf("Flush after Close = %v, want ErrClosed", err)
			}
		})
	})
	t.Run("logs drops at most once per interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var log logBuffer
			m := newMeter(t, metering.Config{Sink: &recSink{fail: -1}, MaxQueueSize: 1, Logger: log.logger()})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			for range 1000 {
				m.Record(metering.Event{})
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if n := log.count("events dropped"); n != 1 {
				t.Fatalf("%d drop warnings for 1000 drops in one interval, want 1:\n%s", n, log.String())
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if n := log.count("events dropped"); n != 1 {
				t.Fatalf("%d drop warnings with no new drops, want still 1", n)
			}
		})
	})
}

func TestMeter_Close(t *testing.T) {
	t.Run("delivers all of 350 queued events", func(t *testing.T) {
		sink := &recSink{}
		m := newMeter(t, metering.Config{Sink: sink})
		for range 350 {
			m.Record(metering.Event{Operation: metering.OpAuditWrite})
		}
		if err := m.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := sink.batchSizes(); !slices.Equal(got, []int{100, 100, 100, 50}) {
			t.Fatalf("batches = %v", got)
		}
		if got := m.Metrics(); got.Flushed != 350 || got.QueueSize != 0 {
			t.Fatalf("Metrics = %+v", got)
		}
	})
	t.Run("takes over a batch Run is retrying", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{fail: 1}
			m := newMeter(t, metering.Config{Sink: sink, BatchSize: 3, Retry: metering.RetryPolicy{Initial: time.Hour}})
			done := make(chan error)
			go func() { done <- m.Run(t.Context()) }()
			for range 10 {
				m.Record(metering.Event{})
			}
			synctest.Wait()
			start := time.Now()
			if err := m.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if time.Since(start) != 0 {
				t.Fatalf("Close waited %v for Run's backoff", time.Since(start))
			}
			if n := len(sink.events()); n != 10 {
				t.Fatalf("delivered %d of 10", n)
			}
			<-done
		})
	})
	t.Run("reports what it could not deliver by its deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newMeter(t, metering.Config{Sink: &recSink{fail: -1}})
			for range 350 {
				m.Record(metering.Event{})
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := m.Close(ctx)
			var ue *metering.UndeliveredError
			if !errors.As(err, &ue) || ue.Events != 350 || !errors.Is(err, metering.ErrUndelivered) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Close = %v, want 350 undelivered after the deadline", err)
			}
			got := m.Metrics()
			if got.Failed != 350 || got.QueueSize != 0 || got.Queued != got.Flushed+got.Failed {
				t.Fatalf("Metrics = %+v", got)
			}
			if err := m.Close(t.Context()); err != nil {
				t.Fatalf("second Close = %v, want nil", err)
			}
		})
	})
	t.Run("is idempotent", func(t *testing.T) {
		m := newMeter(t, metering.Config{Sink: &recSink{}})
		m.Record(metering.Event{})
		for range 3 {
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := m.Metrics(); got.Flushed != 1 {
			t.Fatalf("Flushed = %d, want 1", got.Flushed)
		}
	})
}

func TestMeter_Flush(t *testing.T) {
	t.Run("keeps the batch when its context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{fail: 2}
			m := newMeter(t, metering.Config{Sink: sink})
			for range 3 {
				m.Record(metering.Event{})
			}
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			if err := m.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Flush = %v, want DeadlineExceeded", err)
			}
			if got := m.Metrics(); got.QueueSize != 3 || got.Failed != 0 {
				t.Fatalf("Metrics = %+v, want the 3 events still queued", got)
			}
			if err := m.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(sink.events()); n != 3 {
				t.Fatalf("delivered %d, want 3", n)
			}
		})
	})
}
