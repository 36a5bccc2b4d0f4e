package chaos_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/antifragile-go/antifragile/chaos"
)

func TestPool(t *testing.T) {
	newPool := func(t *testing.T, size int) *chaos.Pool {
		e := newEngine(t, chaos.Config{}, nil)
		return e.Pool("p", size)
	}
	t.Run("defaults to 100 slots and keeps an existing pool", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, nil)
		p := e.Pool("p", 0)
		if p.Size() != chaos.DefaultPoolSize || e.Pool("p", 5) != p {
			t.Fatalf("size %d", p.Size())
		}
	})
	t.Run("serves waiters first in first out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 1)
			if err := p.Acquire(t.Context()); err != nil {
				t.Fatal(err)
			}
			order := make(chan int, 3)
			for i := range 3 {
				go func() {
					if err := p.Acquire(t.Context()); err == nil {
						order <- i
					}
				}()
				synctest.Wait() // queue them in order
			}
			for want := range 3 {
				p.Release()
				synctest.Wait()
				if got := <-order; got != want {
					t.Fatalf("waiter %d served before %d", got, want)
				}
			}
			p.Release()
		})
	})
	t.Run("a cancelled waiter holds nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, 1)
			if !p.TryAcquire() {
				t.Fatal("TryAcquire failed")
			}
			ctx, cancel := context.WithCancel(t.Context())
			got := make(chan error)
			go func() { got <- p.Acquire(ctx) }()
			synctest.Wait()
			cancel()
			if err := <-got; !errors.Is(err, context.Canceled) {
				t.Fatalf("Acquire() = %v", err)
			}
			p.Release()
			if p.InUse() != 0 || p.Available() != 1 {
				t.Fatalf("in use %d", p.InUse())
			}
		})
	})
	t.Run("an ended context fails at once", func(t *testing.T) {
		p := newPool(t, 1)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p.Acquire(ctx); !errors.Is(err, context.Canceled) || p.InUse() != 0 {
			t.Fatalf("Acquire() = %v", err)
		}
	})
	t.Run("a release without acquire panics", func(t *testing.T) {
		p := newPool(t, 1)
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		p.Release()
	})
	t.Run("never hands out more than its size", func(t *testing.T) {
		p := newPool(t, 3)
		var mu sync.Mutex
		held, peak := 0, 0
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 200 {
					if err := p.Acquire(context.Background()); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					held++
					peak = max(peak, held)
					mu.Unlock()
					mu.Lock()
					held--
					mu.Unlock()
					p.Release()
				}
			})
		}
		wg.Wait()
		if peak > 3 || p.InUse() != 0 {
			t.Fatalf("peak %d, in use %d", peak, p.InUse())
		}
	})
}
