package chaostest_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/chaos/chaostest"
)

// fakeTB records failures and cleanups instead of acting on them.
type fakeTB struct {
	testing.TB
	failed   []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = append(f.failed, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.failed = append(f.failed, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func TestInject(t *testing.T) {
	t.Run("activates the scenario for the rest of the test", func(t *testing.T) {
		e := chaostest.NewEngine(t, chaos.Config{}, nil)
		t.Run("inner", func(t *testing.T) {
			got := chaostest.Inject(t, e, chaos.LatencyScenario("db", time.Second, time.Minute))
			if !got.Active || e.Latency("db") != time.Second {
				t.Fatal("not active")
			}
		})
		if e.Latency("db") != 0 || len(e.Active()) != 0 {
			t.Fatal("still active after the test that injected it")
		}
	})
	t.Run("fails the test when the injection fails", func(t *testing.T) {
		e := chaostest.NewEngine(t, chaos.Config{}, nil)
		tb := &fakeTB{}
		chaostest.Inject(tb, e, chaos.ErrorScenario("db", 2, nil, time.Minute))
		if len(tb.failed) != 1 || len(tb.cleanups) != 0 {
			t.Fatalf("failed %q, %d cleanups", tb.failed, len(tb.cleanups))
		}
	})
}

func TestNewEngine(t *testing.T) {
	t.Run("watches stop conditions and closes at the end", func(t *testing.T) {
		var e *chaos.Engine
		t.Run("inner", func(t *testing.T) {
			e = chaostest.NewEngine(t, chaos.Config{}, nil)
			s := chaos.TimeoutScenario("db", time.Minute)
			s.StopConditions = []chaos.StopCondition{{Name: "never", Check: func() bool { return false }}}
			chaostest.Inject(t, e, s)
			if !e.Running() {
				t.Fatal("Run not running")
			}
		})
		if _, err := e.InjectTimeouts("db", time.Minute); !errors.Is(err, chaos.ErrClosed) {
			t.Fatalf("Inject after the test = %v, want ErrClosed", err)
		}
	})
	t.Run("works in a synctest bubble", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := chaostest.NewEngine(t, chaos.Config{}, nil)
			var critical atomic.Bool
			s := chaos.TimeoutScenario("db", time.Minute)
			s.StopConditions = []chaos.StopCondition{{Name: "critical", Check: critical.Load}}
			chaostest.Inject(t, e, s)
			critical.Store(true)
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if !e.Stopped() {
				t.Fatal("stop condition not watched")
			}
		})
	})
	t.Run("fails the test for an invalid config", func(t *testing.T) {
		tb := &fakeTB{}
		if e := chaostest.NewEngine(tb, chaos.Config{MaxDuration: time.Hour}, nil); e != nil || len(tb.failed) != 1 {
			t.Fatalf("engine %v, failed %q", e, tb.failed)
		}
	})
}
