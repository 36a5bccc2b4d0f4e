package health_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

func TestAggregator_Run(t *testing.T) {
	t.Run("collects at once and then every interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			populate(t, reg, 2, 0)
			agg := newAgg(t, health.Config{CheckInterval: 10 * time.Second}, reg)
			stop := startRun(t, agg)
			synctest.Wait()
			if m := agg.Metrics(); m.SnapshotsCollected != 1 || !m.Running || agg.Current().Status != health.Healthy {
				t.Fatalf("at start: %+v", m)
			}
			time.Sleep(9 * time.Second)
			synctest.Wait()
			if n := agg.Metrics().SnapshotsCollected; n != 1 {
				t.Fatalf("before the tick: %d collections", n)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if n := agg.Metrics().SnapshotsCollected; n != 2 {
				t.Fatalf("at the tick: %d collections", n)
			}
			time.Sleep(30 * time.Second)
			synctest.Wait()
			if n := agg.Metrics().SnapshotsCollected; n != 5 {
				t.Fatalf("after 4 ticks: %d collections", n)
			}
			stop()
			if agg.Metrics().Running {
				t.Error("still running after Run returned")
			}
		})
	})

	t.Run("the first collection fires the callbacks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			populate(t, reg, 1, 0)
			agg := newAgg(t, health.Config{}, reg)
			rec := newRecorder(agg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			if got := rec.statuses(); !slices.Equal(got, []health.Status{health.Healthy}) {
				t.Errorf("callbacks got %v, want [HEALTHY]", got)
			}
			time.Sleep(5 * time.Second) // more collections, no change
			synctest.Wait()
			if got := rec.statuses(); len(got) != 0 {
				t.Errorf("callbacks without a change: %v", got)
			}
			if m := agg.Metrics(); m.CallbacksFired != 1 {
				t.Errorf("CallbacksFired = %d", m.CallbacksFired)
			}
		})
	})

	t.Run("a breaker opening shows up without waiting for the tick", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			b, err := reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 3, OpenTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			agg := newAgg(t, health.Config{CheckInterval: time.Hour}, reg)
			rec := newRecorder(agg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			start := time.Now()
			trip(t, b)
			synctest.Wait()
			if !time.Now().Equal(start) {
				t.Fatal("the fake clock moved")
			}
			if r := agg.Current(); r.Status != health.Critical || !slices.Equal(r.Critical, []string{"db"}) {
				t.Fatalf("Current() = %v %v, want CRITICAL [db]", r.Status, r.Critical)
			}
			if got := rec.statuses(); !slices.Equal(got, []health.Status{health.Healthy, health.Critical}) {
				t.Errorf("callbacks got %v", got)
			}
			// And back: the open timeout moves it to half-open (0.5: DEGRADED).
			time.Sleep(time.Minute)
			synctest.Wait()
			if r := agg.Current(); r.Status != health.Degraded || r.HalfOpen != 1 {
				t.Errorf("after the open timeout: %v, half-open %d", r.Status, r.HalfOpen)
			}
		})
	})

	t.Run("a burst of events is gathered into few collections", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			populate(t, reg, 200, 0)
			agg := newAgg(t, health.Config{CheckInterval: time.Hour}, reg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			before := agg.Metrics().SnapshotsCollected
			reg.Each(func(_ string, b *breaker.Breaker) { b.ForceOpen() })
			synctest.Wait()
			time.Sleep(agg.Config().MinEventInterval)
			synctest.Wait()
			n := agg.Metrics().SnapshotsCollected - before
			if n < 1 || n > 2 {
				t.Errorf("%d collections for 200 events, want 1 or 2", n)
			}
			if h := agg.History(0); len(h) != 1 {
				t.Errorf("history has %d snapshots, want only the first collection's", len(h))
			}
			if r := agg.Current(); r.Open != 200 || r.Score != 0 {
				t.Errorf("open %d score %v", r.Open, r.Score)
			}
		})
	})

	t.Run("events right after a collection wait for MinEventInterval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			a, b := getOrCreate(t, reg, "a"), getOrCreate(t, reg, "b")
			agg := newAgg(t, health.Config{CheckInterval: time.Hour, MinEventInterval: time.Second}, reg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			a.ForceOpen()
			synctest.Wait()
			if r := agg.Current(); r.Open != 1 {
				t.Fatalf("first event: open %d", r.Open)
			}
			b.ForceOpen()
			synctest.Wait()
			if r := agg.Current(); r.Open != 1 {
				t.Fatalf("second event collected before the interval: open %d", r.Open)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if r := agg.Current(); r.Open != 2 {
				t.Errorf("after the interval: open %d", r.Open)
			}
		})
	})

	t.Run("a panicking callback is counted and the others still run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg := newAgg(t, health.Config{}, nil)
			src := newFake(breaker.Closed)
			_ = agg.Register("a", src)
			agg.OnChange(func(health.Report) { panic("callback bug") })
			rec := newRecorder(agg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			src.set(breaker.Open)
			time.Sleep(time.Second)
			synctest.Wait()
			if got := rec.statuses(); !slices.Equal(got, []health.Status{health.Healthy, health.Critical}) {
				t.Errorf("second callback got %v", got)
			}
			m := agg.Metrics()
			if m.CallbacksFailed != 2 || m.CallbacksFired != 4 || m.SnapshotsCollected != 2 {
				t.Errorf("Metrics = %+v", m)
			}
		})
	})

	t.Run("a blocking callback does not stop collection", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg := newAgg(t, health.Config{CallbackQueue: 1, CheckInterval: time.Second}, nil)
			src := newFake(breaker.Closed)
			_ = agg.Register("a", src)
			release := make(chan struct{})
			var calls atomic.Int32
			agg.OnChange(func(health.Report) {
				calls.Add(1)
				<-release
			})
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait() // the first report (HEALTHY) is in the callback
			// A status change every second.
			for i := range 6 {
				src.set([]breaker.State{breaker.Open, breaker.Closed}[i%2])
				time.Sleep(time.Second)
				synctest.Wait()
			}
			m := agg.Metrics()
			if m.SnapshotsCollected != 7 {
				t.Errorf("collections = %d, want 7", m.SnapshotsCollected)
			}
			if agg.Current().Status != health.Healthy {
				t.Errorf("status %v", agg.Current().Status)
			}
			// One report is in the blocked callback, one waits in the
			// queue, the other five were dropped.
			if calls.Load() != 1 || m.CallbacksDropped != 5 {
				t.Errorf("calls %d dropped %d", calls.Load(), m.CallbacksDropped)
			}
			close(release)
			synctest.Wait()
			if calls.Load() != 2 {
				t.Errorf("calls after release = %d, want 2", calls.Load())
			}
		})
	})

	t.Run("a custom source added and removed while running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			populate(t, reg, 1, 0)
			agg := newAgg(t, health.Config{CheckInterval: time.Hour}, reg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			if err := agg.Register("legacy", newFake(breaker.Open)); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if r := agg.Current(); r.Total != 2 || r.Score != 0.5 {
				t.Fatalf("after Register: total %d score %v", r.Total, r.Score)
			}
			agg.Unregister("legacy")
			time.Sleep(agg.Config().MinEventInterval)
			synctest.Wait()
			if r := agg.Current(); r.Total != 1 || r.Score != 1 {
				t.Fatalf("after Unregister: total %d score %v", r.Total, r.Score)
			}
		})
	})

	t.Run("a breaker added to the registry while running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			agg := newAgg(t, health.Config{CheckInterval: time.Hour}, reg)
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			getOrCreate(t, reg, "late").ForceOpen()
			time.Sleep(agg.Config().MinEventInterval)
			synctest.Wait()
			if r := agg.Current(); r.Total != 1 || r.Status != health.Critical {
				t.Fatalf("total %d status %v", r.Total, r.Status)
			}
		})
	})

	t.Run("a removed callback is no longer called", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg := newAgg(t, health.Config{}, nil)
			src := newFake(breaker.Closed)
			_ = agg.Register("a", src)
			var removedCalls atomic.Int32
			remove := agg.OnChange(func(health.Report) { removedCalls.Add(1) })
			rec := newRecorder(agg)
			noop := agg.OnChange(nil) // ignored
			noop()
			stop := startRun(t, agg)
			defer stop()
			synctest.Wait()
			remove()
			remove() // idempotent
			src.set(breaker.Open)
			time.Sleep(time.Second)
			synctest.Wait()
			if removedCalls.Load() != 1 {
				t.Errorf("removed callback called %d times, want 1", removedCalls.Load())
			}
			if got := rec.statuses(); !slices.Equal(got, []health.Status{health.Healthy, health.Critical}) {
				t.Errorf("remaining callback got %v", got)
			}
		})
	})

	t.Run("a second Run is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg := newAgg(t, health.Config{}, nil)
			stop := startRun(t, agg)
			synctest.Wait()
			if err := agg.Run(context.Background()); !errors.Is(err, health.ErrRunning) {
				t.Errorf("second Run = %v, want ErrRunning", err)
			}
			stop()
			// Once the first has returned, Run may start again.
			stop = startRun(t, agg)
			synctest.Wait()
			stop()
		})
	})

	t.Run("Close stops Run and is idempotent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			populate(t, reg, 1, 0)
			agg, err := health.New(health.Config{}, reg)
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- agg.Run(context.Background()) }()
			synctest.Wait()
			if err := agg.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Errorf("Run = %v", err)
			}
			if err := agg.Close(context.Background()); err != nil {
				t.Errorf("second Close = %v", err)
			}
			if err := agg.Run(context.Background()); !errors.Is(err, health.ErrClosed) {
				t.Errorf("Run after Close = %v, want ErrClosed", err)
			}
			// Reports still follow the registry after Close.
			getOrCreate(t, reg, "x").ForceOpen()
			if r := agg.Collect(); r.Total != 2 || r.Open != 1 {
				t.Errorf("after Close: total %d open %d", r.Total, r.Open)
			}
		})
	})

	t.Run("Close gives up when its context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, _ := health.New(health.Config{}, nil)
			_ = agg.Register("a", newFake(breaker.Closed))
			release := make(chan struct{})
			agg.OnChange(func(health.Report) { <-release })
			errc := make(chan error, 1)
			go func() { errc <- agg.Run(context.Background()) }()
			synctest.Wait() // the callback now blocks Run's shutdown
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := agg.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v, want DeadlineExceeded", err)
			}
			close(release)
			if err := <-errc; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	})
}

func TestAggregator_Subscribe(t *testing.T) {
	reg := newRegistry(t)
	b := getOrCreate(t, reg, "db")
	agg := newAgg(t, health.Config{}, reg)
	sub := agg.Subscribe(4)
	defer sub.Close()
	agg.Collect() // UNKNOWN → HEALTHY
	agg.Collect() // no change: nothing sent
	b.ForceOpen()
	agg.Collect() // → CRITICAL
	var got []health.Status
	for len(sub.C) > 0 {
		got = append(got, (<-sub.C).Status)
	}
	if !slices.Equal(got, []health.Status{health.Healthy, health.Critical}) {
		t.Fatalf("status changes = %v, want [HEALTHY CRITICAL]", got)
	}
	if sub.Dropped() != 0 {
		t.Fatalf("dropped %d", sub.Dropped())
	}
}
