package fanout_test

import (
	"sync"
	"testing"

	"github.com/antifragile-go/antifragile/internal/fanout"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHub(t *testing.T) {
	var h fanout.Hub[int]
	h.Publish(0) // no subscribers: nothing happens
	a := h.Subscribe(2)
	b := h.Subscribe(0)
	if h.Len() != 2 || cap(b.C) != fanout.DefaultBuffer {
		t.Fatalf("len %d, cap %d", h.Len(), cap(b.C))
	}
	for i := range 5 {
		h.Publish(i)
	}
	if got := []int{<-a.C, <-a.C}; got[0] != 0 || got[1] != 1 || len(a.C) != 0 {
		t.Fatalf("a got %v", got)
	}
	if a.Dropped() != 3 || b.Dropped() != 0 || len(b.C) != 5 {
		t.Fatalf("dropped a=%d b=%d, b buffered %d", a.Dropped(), b.Dropped(), len(b.C))
	}
	a.Close()
	a.Close()
	h.Publish(9)
	if len(a.C) != 0 || h.Len() != 1 {
		t.Fatal("a closed subscription still receives")
	}
	var nilHub *fanout.Hub[int]
	nilHub.Publish(1)
}

func TestHub_Concurrent(t *testing.T) {
	var h fanout.Hub[int]
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				s := h.Subscribe(1)
				h.Publish(1)
				s.Close()
			}
		})
	}
	wg.Wait()
	if h.Len() != 0 {
		t.Fatalf("len %d", h.Len())
	}
}
