package latency_test

import (
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/latency"
)

func TestBounds(t *testing.T) {
	b := latency.Bounds()
	if b[0] != 10*time.Microsecond || b[latency.Buckets-1] != 10*time.Second {
		t.Fatalf("bounds run %v … %v, want 10µs … 10s", b[0], b[latency.Buckets-1])
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("bounds not ascending at %d: %v ≤ %v", i, b[i], b[i-1])
		}
		if r := float64(b[i]) / float64(b[i-1]); r < 2 || r > 2.5 {
			t.Errorf("bound %d grows by %.2f, want 2 to 2.5 (1, 2.5, 5 per decade)", i, r)
		}
	}
	b[0] = 0
	if latency.Bounds()[0] == 0 {
		t.Error("Bounds returned the package's own array")
	}
}

func TestHistogram_Observe(t *testing.T) {
	bounds := latency.Bounds()
	t.Run("a bound falls in its own bucket, just above it in the next", func(t *testing.T) {
		for i, b := range bounds {
			var h latency.Histogram
			h.Observe(b)
			h.Observe(b + 1)
			s := h.Snapshot()
			if s.Counts[i] != 1 || s.Counts[i+1] != 1 {
				t.Errorf("bound %v: counts[%d]=%d counts[%d]=%d, want 1 and 1", b, i, s.Counts[i], i+1, s.Counts[i+1])
			}
			if s.Sum != 2*b+1 {
				t.Errorf("bound %v: sum %v, want %v", b, s.Sum, 2*b+1)
			}
		}
	})
	t.Run("zero and negative count in the first bucket as zero", func(t *testing.T) {
		var h latency.Histogram
		h.Observe(0)
		h.Observe(-time.Second)
		s := h.Snapshot()
		if s.Counts[0] != 2 || s.Sum != 0 || s.Count() != 2 {
			t.Errorf("snapshot %+v, want 2 in bucket 0 and sum 0", s)
		}
	})
	t.Run("above the last bound is the overflow bucket", func(t *testing.T) {
		var h latency.Histogram
		h.Observe(time.Hour)
		if s := h.Snapshot(); s.Counts[latency.Buckets] != 1 || s.Count() != 1 {
			t.Errorf("snapshot %+v, want 1 in the overflow bucket", s)
		}
	})
	t.Run("concurrent observations are all counted", func(t *testing.T) {
		var h latency.Histogram
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 1000 {
					h.Observe(time.Duration(g*1000+i) * time.Microsecond)
				}
			})
		}
		wg.Wait()
		s := h.Snapshot()
		if s.Count() != 8000 {
			t.Errorf("count %d, want 8000", s.Count())
		}
		var want time.Duration
		for v := range 8000 {
			want += time.Duration(v) * time.Microsecond
		}
		if s.Sum != want {
			t.Errorf("sum %v, want %v", s.Sum, want)
		}
	})
	t.Run("allocates nothing", func(t *testing.T) {
		var h latency.Histogram
		if n := testing.AllocsPerRun(100, func() { h.Observe(3 * time.Millisecond); _ = h.Snapshot() }); n != 0 {
			t.Errorf("%v allocations per observation and snapshot", n)
		}
	})
}

func TestHistogram_Reset(t *testing.T) {
	var h latency.Histogram
	h.Observe(time.Millisecond)
	h.Observe(time.Minute)
	h.Reset()
	if s := h.Snapshot(); s != (latency.Snapshot{}) {
		t.Errorf("after Reset: %+v", s)
	}
}

func TestSnapshot_Add(t *testing.T) {
	var a, b latency.Histogram
	a.Observe(time.Millisecond)
	b.Observe(time.Millisecond)
	b.Observe(time.Second)
	s := a.Snapshot()
	s.Add(b.Snapshot())
	if s.Count() != 3 || s.Sum != time.Second+2*time.Millisecond || s.Counts[6] != 2 || s.Counts[15] != 1 {
		t.Errorf("merged %+v", s)
	}
}

func BenchmarkObserve(b *testing.B) {
	var h latency.Histogram
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(40 * time.Microsecond)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe(40 * time.Microsecond)
			}
		})
	})
}
