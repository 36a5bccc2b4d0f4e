package busnats

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestDeliveryContext pins deliveryContext to what
// context.WithDeadline(parent, deadline) and its cancel give, on the fake
// clock of a synctest bubble.
func TestDeliveryContext(t *testing.T) {
	t.Run("its deadline passes: Done closes then, Err is DeadlineExceeded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			c := newDeliveryContext(context.Background(), start.Add(time.Second))
			defer c.end()
			if d, ok := c.Deadline(); !ok || !d.Equal(start.Add(time.Second)) {
				t.Errorf("Deadline() = %v, %v", d, ok)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err() before the deadline = %v", err)
			}
			<-c.Done()
			if took := time.Since(start); took != time.Second {
				t.Errorf("done after %v, want 1s", took)
			}
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Err() = %v, want DeadlineExceeded", err)
			}
			if err := context.Cause(c); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Cause() = %v, want DeadlineExceeded", err)
			}
		})
	})
	t.Run("never waited on: Err turns DeadlineExceeded at the deadline, Done is closed after", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newDeliveryContext(context.Background(), time.Now().Add(time.Second))
			defer c.end()
			time.Sleep(time.Second - time.Nanosecond)
			if err := c.Err(); err != nil {
				t.Fatalf("Err() a nanosecond before the deadline = %v", err)
			}
			time.Sleep(time.Nanosecond)
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Err() at the deadline = %v, want DeadlineExceeded", err)
			}
			select {
			case <-c.Done():
			default:
				t.Error("Done is open once Err reported the deadline")
			}
		})
	})
	t.Run("its parent is cancelled: done with the parent's error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.Background())
			c := newDeliveryContext(parent, time.Now().Add(time.Hour))
			defer c.end()
			done := c.Done()
			cancel()
			<-done
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err() = %v, want Canceled", err)
			}
		})
	})
	t.Run("its parent was cancelled before Done was called: Err says so", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		cancel()
		c := newDeliveryContext(parent, time.Now().Add(time.Hour))
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err() = %v, want Canceled", err)
		}
		<-c.Done()
	})
	t.Run("the delivery ends: Canceled, Done closed, the timer stopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newDeliveryContext(context.Background(), time.Now().Add(time.Hour))
			done := c.Done()
			c.end()
			<-done
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err() = %v, want Canceled", err)
			}
			c.end() // idempotent
			time.Sleep(2 * time.Hour)
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err() after the deadline of an ended context = %v, want Canceled", err)
			}
		})
	})
	t.Run("a derived context ends with it, without a goroutine of its own", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newDeliveryContext(context.Background(), time.Now().Add(time.Second))
			defer c.end()
			child, cancel := context.WithTimeout(c, time.Hour)
			defer cancel()
			c.mu.Lock()
			n := len(c.afters)
			c.mu.Unlock()
			if n != 1 {
				t.Fatalf("%d functions registered by the derived context, want 1 (AfterFunc not used?)", n)
			}
			<-child.Done()
			if err := child.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the derived context's Err() = %v, want DeadlineExceeded", err)
			}
			if err := context.Cause(child); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the derived context's Cause() = %v, want DeadlineExceeded", err)
			}
		})
	})
	t.Run("a derived context cancelled first unregisters", func(t *testing.T) {
		c := newDeliveryContext(context.Background(), time.Now().Add(time.Hour))
		defer c.end()
		_, cancel := context.WithCancel(c)
		cancel()
		c.mu.Lock()
		n := len(c.afters)
		c.mu.Unlock()
		if n != 0 {
			t.Errorf("%d functions left registered after the derived context was cancelled", n)
		}
	})
	t.Run("AfterFunc: runs once done, a stopped one never runs, a late one at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newDeliveryContext(context.Background(), time.Now().Add(time.Second))
			var ran, stopped atomic.Int32
			context.AfterFunc(c, func() { ran.Add(1) })
			stop := context.AfterFunc(c, func() { stopped.Add(1) })
			if !stop() {
				t.Error("stop before the context is done returned false")
			}
			if stop() {
				t.Error("a second stop returned true")
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if ran.Load() != 1 || stopped.Load() != 0 {
				t.Errorf("ran %d, stopped one ran %d; want 1, 0", ran.Load(), stopped.Load())
			}
			late := context.AfterFunc(c, func() { ran.Add(1) })
			synctest.Wait()
			if ran.Load() != 2 {
				t.Error("a function registered once done did not run")
			}
			if late() {
				t.Error("stop of a function that ran returned true")
			}
		})
	})
	t.Run("concurrent Done, Err, AfterFunc and end", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		for range 100 {
			c := newDeliveryContext(parent, time.Now().Add(time.Millisecond))
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { _ = c.Done(); _ = c.Err() })
				wg.Go(func() { stop := context.AfterFunc(c, func() {}); stop() })
			}
			wg.Go(c.end)
			wg.Wait()
			<-c.Done()
			if c.Err() == nil {
				t.Fatal("Err() is nil once Done is closed")
			}
		}
	})
}
