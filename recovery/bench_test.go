package recovery_test

import (
	"container/heap"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/recovery"
)

const benchServices = 10_000

func serviceNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "service-" + strconv.Itoa(i)
	}
	return names
}

// baseTask and baseHeap are the baseline: a bare container/heap of the same
// tasks, ordered by due time then sequence like the orchestrator's queue.
type baseTask struct {
	name     string
	priority int
	due      time.Time
	seq      uint64
	index    int
}

type baseHeap []*baseTask

func (h baseHeap) Len() int { return len(h) }
func (h baseHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h baseHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *baseHeap) Push(x any) { t := x.(*baseTask); t.index = len(*h); *h = append(*h, t) }
func (h *baseHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// BenchmarkSchedule10000 schedules 10,000 services (one op = all 10,000),
// beside the baseline of pushing the same tasks onto a bare container/heap.
// The original Python took 30–58 ms.
func BenchmarkSchedule10000(b *testing.B) {
	names := serviceNames(benchServices)
	b.Run("orchestrator", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o, err := recovery.New(recovery.Config{Seed: 1}, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i, name := range names {
				if err := o.Schedule(name, recovery.ExponentialBackoff, i%10, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchServices), "ns/schedule")
	})
	b.Run("container_heap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var h baseHeap
			for i, name := range names {
				heap.Push(&h, &baseTask{name: name, priority: i % 10, due: time.Now().Add(time.Second), seq: uint64(i)})
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchServices), "ns/schedule")
	})
}

// BenchmarkSchedule10000_ratio interleaves the two sides of
// BenchmarkSchedule10000 in every iteration and reports their ratio, which
// is robust to a noisy machine: the target is ≤ 2.
func BenchmarkSchedule10000_ratio(b *testing.B) {
	names := serviceNames(benchServices)
	var orch, base time.Duration
	for b.Loop() {
		t0 := time.Now()
		var h baseHeap
		for i, name := range names {
			heap.Push(&h, &baseTask{name: name, priority: i % 10, due: time.Now().Add(time.Second), seq: uint64(i)})
		}
		t1 := time.Now()
		o, err := recovery.New(recovery.Config{Seed: 1}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i, name := range names {
			if err := o.Schedule(name, recovery.ExponentialBackoff, i%10, nil); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		base += t1.Sub(t0)
		orch += t2.Sub(t1)
	}
	b.ReportMetric(float64(orch)/float64(base), "orchestrator/heap")
	b.ReportMetric(float64(orch.Nanoseconds())/float64(b.N*benchServices), "ns/schedule")
}

// BenchmarkSchedule_update reschedules known services in place, from many
// goroutines at once.
func BenchmarkSchedule_update(b *testing.B) {
	names := serviceNames(benchServices)
	o := mustNew(b, recovery.Config{}, nil)
	for _, name := range names {
		_ = o.Schedule(name, recovery.ExponentialBackoff, 0, nil)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = o.Schedule(names[i%benchServices], recovery.ExponentialBackoff, i%7, nil)
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				_ = o.Schedule(names[i%benchServices], recovery.ExponentialBackoff, i%7, nil)
				i++
			}
		})
	})
}

// BenchmarkStatus10000 copies the status of 10,000 tracked services. The
// original Python took 20–36 ms.
func BenchmarkStatus10000(b *testing.B) {
	o := mustNew(b, recovery.Config{}, nil)
	for i, name := range serviceNames(benchServices) {
		_ = o.Schedule(name, recovery.ExponentialBackoff, i%10, nil)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st := o.Status(); len(st.Services) != benchServices {
				b.Fatal(len(st.Services))
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = o.Status()
			}
		})
	})
}

// BenchmarkRun_startLatency measures how late a due attempt starts after
// its due time while Run also holds 10,000 tasks due an hour later.
func BenchmarkRun_startLatency(b *testing.B) {
	o := mustNew(b, recovery.Config{DefaultPolicy: recovery.Policy{InitialDelay: time.Hour}}, nil)
	for _, name := range serviceNames(benchServices) {
		_ = o.Schedule(name, recovery.ExponentialBackoff, 0, nil)
	}
	started := make(chan time.Time, 1)
	policy := &recovery.Policy{InitialDelay: 2 * time.Millisecond, HealthCheck: func(context.Context) error {
		started <- time.Now()
		return nil
	}}
	sub := o.Subscribe(64)
	defer sub.Close()
	stop := start(b, o)
	defer stop()
	var lates []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		due := time.Now().Add(policy.InitialDelay) // no later than the real due time
		if err := o.Schedule("probe", recovery.ExponentialBackoff, 0, policy); err != nil {
			b.Fatal(err)
		}
		var at time.Time
		select {
		case at = <-started:
		case <-time.After(10 * time.Second):
			b.Fatal("the probe never started")
		}
		lates = append(lates, at.Sub(due))
		for ev := range sub.C { // wait until the probe's task has ended
			if ev.State == recovery.Succeeded {
				break
			}
		}
	}
	slices.Sort(lates)
	pct := func(p int) float64 { return float64(lates[(len(lates)-1)*p/100].Microseconds()) }
	b.ReportMetric(pct(50), "µs-late-p50")
	b.ReportMetric(pct(99), "µs-late-p99")
	b.ReportMetric(pct(100), "µs-late-max")
}

// BenchmarkDecision reschedules one service in place, which recomputes its
// next delay: the exponential strategy's computation beside the learned
// strategy's (a lookup of the service's plan and a LadderDelay), learned
// from 20 outages, and the learned strategy's fallback without history.
// The difference between the sides is the decision's own cost.
func BenchmarkDecision(b *testing.B) {
	heals := make([]time.Duration, 20)
	for i := range heals {
		heals[i] = time.Duration(3+i%5) * time.Second
	}
	path := writeHistoryB(b, "db", heals...)
	for _, c := range []struct {
		name     string
		strategy recovery.Strategy
		path     string
	}{
		{"exponential_backoff", recovery.ExponentialBackoff, ""},
		{"learned", recovery.Learned, path},
		{"learned_fallback", recovery.Learned, ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := mustNew(b, recovery.Config{HistoryPath: c.path}, nil)
			if c.strategy == recovery.Learned && c.path != "" && !o.Learning("db").Learned {
				b.Fatal("nothing learned")
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := o.Schedule("db", c.strategy, i&1, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
