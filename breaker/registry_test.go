package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

func newRegistry(t testing.TB) *breaker.Registry {
	t.Helper()
	r, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistry_GetOrCreate(t *testing.T) {
	r := newRegistry(t)
	a, err := r.GetOrCreate("db", breaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 1})
	if a != b {
		t.Fatal("second GetOrCreate made a new breaker")
	}
	if a.Name() != "db" || a.Config().ConsecutiveFailures != 5 {
		t.Fatalf("name %q, config %+v", a.Name(), a.Config())
	}
	if _, err := r.GetOrCreate("bad", breaker.Config{FailureRate: 3}); !errors.Is(err, antifragile.ErrInvalid) {
		t.Fatalf("invalid config: err = %v", err)
	}
	if _, ok := r.Get("bad"); ok {
		t.Fatal("an invalid breaker was registered")
	}
	t.Run("registry default config", func(t *testing.T) {
		r, err := breaker.NewRegistry(breaker.RegistryConfig{Default: breaker.Config{ConsecutiveFailures: 2}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := r.GetOrCreate("x", breaker.Config{})
		if b.Config().ConsecutiveFailures != 2 {
			t.Fatalf("default not used: %+v", b.Config())
		}
	})
	t.Run("wrong hash is refused", func(t *testing.T) {
		_, err := breaker.NewRegistry(breaker.RegistryConfig{ConstitutionalHash: "nope"})
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("concurrent creation yields one breaker", func(t *testing.T) {
		r := newRegistry(t)
		var wg sync.WaitGroup
		got := make([]*breaker.Breaker, 8)
		for i := range got {
			wg.Go(func() { got[i], _ = r.GetOrCreate("same", breaker.Config{}) })
		}
		wg.Wait()
		for _, b := range got {
			if b != got[0] {
				t.Fatal("two breakers for one name")
			}
		}
	})
}

func TestRegistry_RegisterRemoveNames(t *testing.T) {
	r := newRegistry(t)
	b := mustNew(t, breaker.Config{})
	if err := r.Register("cache", b); err != nil {
		t.Fatal(err)
	}
	err := r.Register("cache", mustNew(t, breaker.Config{}))
	var de *breaker.DuplicateError
	if !errors.As(err, &de) || de.Name != "cache" || !errors.Is(err, breaker.ErrDuplicate) {
		t.Fatalf("duplicate: err = %v", err)
	}
	r.GetOrCreate("api", breaker.Config{})
	r.GetOrCreate("zeta", breaker.Config{})
	if got := r.Names(); !slices.Equal(got, []string{"api", "cache", "zeta"}) {
		t.Fatalf("Names = %v", got)
	}
	if !r.Remove("zeta") || r.Remove("zeta") {
		t.Fatal("Remove should report true once")
	}
	if r.Len() != 2 {
		t.Fatalf("Len = %d", r.Len())
	}
}

func TestRegistry_SnapshotResetSubscribe(t *testing.T) {
	r := newRegistry(t)
	sub := r.Subscribe(64)
	defer sub.Close()
	for _, n := range []string{"c", "a", "b"} {
		r.GetOrCreate(n, breaker.Config{ConsecutiveFailures: 1})
	}
	a, _ := r.Get("a")
	calls(t, a, 1, errBoom)
	c, _ := r.Get("c")
	c.ForceOpen()
	snap := r.Snapshot()
	if len(snap) != 3 || snap[0].Name != "a" || snap[1].Name != "b" || snap[2].Name != "c" {
		t.Fatalf("snapshot order: %+v", snap)
	}
	if snap[0].State != breaker.Open || snap[0].Failures != 1 || snap[2].State != breaker.ForcedOpen {
		t.Fatalf("snapshot = %+v", snap)
	}
	if !r.Reset("a") || r.Reset("missing") {
		t.Fatal("Reset reports existence")
	}
	r.ResetAll()
	for _, s := range r.Snapshot() {
		if s.State != breaker.Closed || s.Calls != 0 {
			t.Fatalf("after ResetAll: %+v", s)
		}
	}
	r.Remove("b")
	var got []string
	for len(sub.C) > 0 {
		ev := <-sub.C
		got = append(got, fmt.Sprintf("%s:%s>%s:%s", ev.Breaker, ev.From, ev.To, ev.Reason))
	}
	want := []string{
		"c:closed>closed:added", "a:closed>closed:added", "b:closed>closed:added",
		"a:closed>open:consecutive_failures", "c:closed>forced_open:forced",
		"a:open>closed:reset", "c:forced_open>closed:reset", "b:closed>closed:removed",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

// TestBreaker_ConcurrentCountersAddUp hammers one breaker from many
// goroutines and checks every outcome is counted exactly once.
func TestBreaker_ConcurrentCountersAddUp(t *testing.T) {
	for _, cfg := range []breaker.Config{
		{ConsecutiveFailures: -1},
		{ConsecutiveFailures: -1, FailureRate: 1, WindowSize: 1000, MinimumCalls: 1000},
	} {
		b := mustNew(t, cfg)
		const workers, perWorker = 8, 2000
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					var err error
					if (i+w)%3 == 0 {
						err = errBoom
					}
					if e := call(b, err); e != nil {
						t.Errorf("rejected: %v", e)
						return
					}
				}
			})
		}
		r := newRegistry(t)
		r.Register("x", b)
		for range 50 {
			_ = r.Snapshot() // readers run alongside the calls
		}
		wg.Wait()
		m := b.Metrics()
		wantFail := uint64(0)
		for w := range workers {
			for i := range perWorker {
				if (i+w)%3 == 0 {
					wantFail++
				}
			}
		}
		if m.Calls != workers*perWorker || m.Failures != wantFail || m.Successes+m.Failures != m.Calls {
			t.Fatalf("metrics = %+v, want %d calls, %d failures", m, workers*perWorker, wantFail)
		}
	}
}

// FuzzBreaker drives a breaker with random call/outcome/operator sequences
// and checks it never reaches an impossible state.
func FuzzBreaker(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{9, 9, 9, 1, 1, 8, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) { fuzzBreaker(t, ops) })
	})
}

func fuzzBreaker(t *testing.T, ops []byte) {
	b, err := breaker.New(breaker.Config{ConsecutiveFailures: 2, FailureRate: 0.5, MinimumCalls: 3, WindowSize: 5, HalfOpenMaxCalls: 2, OpenTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var pending []breaker.Ticket
	var done uint64 // Done calls since the last Reset
	for _, op := range ops {
		before := b.State()
		mBefore := b.Metrics()
		switch op % 11 {
		case 0, 1, 2: // start a call
			tk, err := b.Allow()
			switch {
			case err == nil:
				if before.Rejecting() {
					t.Fatalf("%v admitted a call", before)
				}
				pending = append(pending, tk)
			case errors.Is(err, breaker.ErrOpen):
				if before != breaker.Open && before != breaker.ForcedOpen && b.State() == before {
					t.Fatalf("ErrOpen in state %v", before)
				}
			case errors.Is(err, breaker.ErrTooManyRequests):
				if before != breaker.HalfOpen {
					t.Fatalf("ErrTooManyRequests in state %v", before)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
		case 3, 4, 10: // finish one with success / failure / ignored
			if len(pending) > 0 {
				var e error
				switch op % 11 {
				case 4:
					e = errBoom
				case 10:
					e = context.Canceled
				}
				pending[0].Done(e)
				pending = pending[1:]
				done++
				m := b.Metrics()
				if (m.Late > mBefore.Late || m.Ignored > mBefore.Ignored) && (m.State != before || m.Trips != mBefore.Trips) {
					t.Fatalf("a late or ignored outcome moved the breaker: %+v → %+v", mBefore, m)
				}
				if e == context.Canceled && m.Late == mBefore.Late && m.Ignored != mBefore.Ignored+1 {
					t.Fatalf("a cancelled call in its generation was not ignored: %+v → %+v", mBefore, m)
				}
			}
		case 5:
			b.ForceOpen()
		case 6:
			b.Release()
		case 7:
			b.Reset()
			done = 0
		case 8:
			b.Disable()
		case 9: // let an open timeout (and the half-open limit) pass
			time.Sleep(time.Second)
			synctest.Wait()
			if before == breaker.Open && b.State() != breaker.HalfOpen {
				t.Fatalf("open did not become half-open after the timeout: %v", b.State())
			}
			before = b.State()
		}
		st := b.State()
		if st > breaker.Disabled {
			t.Fatalf("impossible state %d", st)
		}
		m := b.Metrics()
		if m.Successes+m.Failures+m.Ignored+m.Late != m.Calls || m.Calls != done {
			t.Fatalf("counters do not add up to the %d Done calls: %+v", done, m)
		}
		if st == breaker.HalfOpen && (m.TrialCalls > 2 || m.TrialCalls < 0 || m.TrialSuccesses > m.TrialCalls) {
			t.Fatalf("impossible trial counts: %+v", m)
		}
		if m.Window.Calls > 5 || m.Window.Failures > m.Window.Calls {
			t.Fatalf("impossible window: %+v", m.Window)
		}
		if st == breaker.Disabled && before != breaker.Disabled && op%11 != 8 {
			t.Fatalf("became disabled without Disable (op %d)", op)
		}
		if st == breaker.ForcedOpen && before != breaker.ForcedOpen && op%11 != 5 {
			t.Fatalf("became forced open without ForceOpen (op %d)", op)
		}
	}
}
