package latency_test

import (
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/latency"
)

func ExampleHistogram() {
	var h latency.Histogram // the zero value is ready
	for _, d := range []time.Duration{300 * time.Microsecond, 2 * time.Millisecond, 40 * time.Millisecond} {
		h.Observe(d)
	}
	s := h.Snapshot()
	bounds := latency.Bounds()
	for i, n := range s.Counts[:latency.Buckets] {
		if n > 0 {
			fmt.Printf("≤ %v: %d\n", bounds[i], n)
		}
	}
	fmt.Println("count", s.Count(), "sum", s.Sum)
	// Output:
	// ≤ 500µs: 1
	// ≤ 2.5ms: 1
	// ≤ 50ms: 1
	// count 3 sum 42.3ms
}
