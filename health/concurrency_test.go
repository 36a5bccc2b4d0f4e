package health_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// TestAggregator_Concurrent reads reports while breakers and sources come
// and go and change state; run it with -race. The final report must match
// the final membership exactly.
func TestAggregator_Concurrent(t *testing.T) {
	reg := newRegistry(t)
	agg := newAgg(t, health.Config{}, reg)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := agg.Report()
				if r.Score < 0 || r.Score > 1 || r.Closed+r.HalfOpen+r.Open+r.Disabled != r.Total || len(r.Circuits) != r.Total {
					t.Errorf("inconsistent report: %+v", r.Snapshot)
					return
				}
				agg.Collect()
				_ = agg.Current().Score
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("w%d-%03d", w, i)
				switch w {
				case 0, 1:
					b := getOrCreate(t, reg, name)
					if i%3 == 0 {
						b.ForceOpen()
					}
					if i%2 == 0 {
						reg.Remove(name)
					}
				case 2:
					_ = agg.Register(name, newFake(breaker.HalfOpen))
					if i%2 == 0 {
						agg.Unregister(name)
					}
				case 3:
					_ = agg.SetWeight(fmt.Sprintf("w0-%03d", i), float64(i+1))
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	r := agg.Report()
	// Writers 0 and 1 keep their odd breakers (100 each), writer 2 its odd
	// sources (100).
	if r.Total != 300 || r.HalfOpen != 100 || len(r.Circuits) != 300 {
		t.Errorf("total %d half-open %d", r.Total, r.HalfOpen)
	}
	if c, ok := r.Circuit("w0-001"); !ok || c.Weight != 2 {
		t.Errorf("w0-001 = %+v, %v", c, ok)
	}
}
