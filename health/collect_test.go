package health_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// scoreSetter drives the score of an aggregator in steps of 0.01 through
// 100 custom sources.
type scoreSetter []*fakeSource

func newScoreSetter(t *testing.T, agg *health.Aggregator) scoreSetter {
	s := make(scoreSetter, 100)
	for i := range s {
		s[i] = newFake(breaker.Closed)
		if err := agg.Register(fmt.Sprintf("s%03d", i), s[i]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// set makes the score pct/100.
func (s scoreSetter) set(pct int) {
	for i, f := range s {
		if i < pct {
			f.set(breaker.Closed)
		} else {
			f.set(breaker.Open)
		}
	}
}

func TestAggregator_Collect(t *testing.T) {
	t.Run("makes the report current and records a snapshot", func(t *testing.T) {
		reg := newRegistry(t)
		populate(t, reg, 3, 1)
		agg := newAgg(t, health.Config{}, reg)
		r := agg.Collect()
		if agg.Current() != r || r.Status != health.Healthy || r.Score != 0.75 {
			t.Fatalf("Current() = %+v, Collect() = %+v", agg.Current(), r)
		}
		h := agg.History(0)
		if len(h) != 1 || h[0].Score != 0.75 || h[0].Total != 4 || !h[0].Timestamp.Equal(r.Timestamp) {
			t.Errorf("History = %+v", h)
		}
		m := agg.Metrics()
		if m.SnapshotsCollected != 1 || m.HistorySize != 1 || m.Status != health.Healthy || m.Score != 0.75 || m.TotalBreakers != 4 {
			t.Errorf("Metrics = %+v", m)
		}
	})

	t.Run("queues status changes only", func(t *testing.T) {
		agg := newAgg(t, health.Config{CallbackQueue: 1}, nil)
		src := newFake(breaker.Closed)
		_ = agg.Register("a", src)
		agg.OnChange(func(health.Report) {})
		agg.Collect() // UNKNOWN → HEALTHY: queued
		agg.Collect() // no change
		if m := agg.Metrics(); m.CallbacksDropped != 0 {
			t.Fatalf("dropped %d", m.CallbacksDropped)
		}
		src.set(breaker.Open)
		agg.Collect() // HEALTHY → CRITICAL: the queue (1) is full
		if m := agg.Metrics(); m.CallbacksDropped != 1 {
			t.Errorf("dropped %d, want 1", m.CallbacksDropped)
		}
	})
}

func TestAggregator_Hysteresis(t *testing.T) {
	type step struct {
		pct  int
		want health.Status
	}
	tests := []struct {
		name  string
		cfg   health.Config
		steps []step
	}{
		{"off: every crossing changes the status", health.Config{}, []step{
			{100, health.Healthy}, {69, health.Degraded}, {70, health.Healthy}, {49, health.Critical},
			{50, health.Degraded}, {69, health.Degraded}, {70, health.Healthy},
		}},
		{"0.05: leaves a status only beyond the band", health.Config{Hysteresis: 0.05}, []step{
			{100, health.Healthy}, {68, health.Healthy}, {65, health.Healthy}, {64, health.Degraded},
			{72, health.Degraded}, {74, health.Degraded}, {75, health.Healthy}, {47, health.Degraded},
			{45, health.Degraded}, {44, health.Critical}, {54, health.Critical}, {55, health.Degraded},
			{100, health.Healthy}, {30, health.Critical}, {80, health.Healthy},
		}},
		{"a band past 1 still lets a perfect score be HEALTHY", health.Config{DegradedThreshold: 0.95, Hysteresis: 0.1}, []step{
			{80, health.Degraded}, {99, health.Degraded}, {100, health.Healthy},
		}},
		{"a band below 0 still lets a zero score be CRITICAL", health.Config{CriticalThreshold: 0.05, Hysteresis: 0.1}, []step{
			{60, health.Degraded}, {1, health.Degraded}, {0, health.Critical}, {14, health.Critical}, {15, health.Degraded},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agg := newAgg(t, tt.cfg, nil)
			s := newScoreSetter(t, agg)
			for i, st := range tt.steps {
				s.set(st.pct)
				if r := agg.Collect(); r.Status != st.want {
					t.Fatalf("step %d: score %v → %v, want %v", i, r.Score, r.Status, st.want)
				}
			}
		})
	}
	t.Run("Report applies it relative to the current status", func(t *testing.T) {
		agg := newAgg(t, health.Config{Hysteresis: 0.05}, nil)
		s := newScoreSetter(t, agg)
		agg.Collect()
		s.set(68)
		if r := agg.Report(); r.Status != health.Healthy {
			t.Errorf("Report() = %v, want HEALTHY", r.Status)
		}
	})
}

func TestAggregator_History(t *testing.T) {
	for _, size := range []int{1, 5, 40} {
		t.Run(fmt.Sprintf("bounded by size %d, oldest evicted first", size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				agg := newAgg(t, health.Config{MaxHistory: size}, nil)
				var stamps []time.Time
				const collections = 100
				for range collections {
					stamps = append(stamps, agg.Collect().Timestamp)
					time.Sleep(time.Second)
					if got, want := len(agg.History(0)), min(len(stamps), size); got != want {
						t.Fatalf("after %d collections: %d snapshots, want %d", len(stamps), got, want)
					}
				}
				h := agg.History(0)
				for i, s := range h {
					if want := stamps[collections-size+i]; !s.Timestamp.Equal(want) {
						t.Errorf("h[%d] = %v, want %v", i, s.Timestamp, want)
					}
				}
				if m := agg.Metrics(); m.HistorySize != size || m.SnapshotsCollected != collections {
					t.Errorf("Metrics = %+v", m)
				}
			})
		})
	}
	t.Run("bounded by age", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg := newAgg(t, health.Config{HistoryWindow: 10 * time.Second}, nil)
			for range 30 {
				agg.Collect()
				time.Sleep(time.Second)
			}
			// Collected at t = 0 … 29; now is 30; the window keeps 20 … 29.
			now := time.Now()
			h := agg.History(0)
			if len(h) != 10 || now.Sub(h[0].Timestamp) != 10*time.Second || now.Sub(h[9].Timestamp) != time.Second {
				t.Fatalf("History(0) = %d snapshots from %v to %v", len(h), h[0].Timestamp, h[len(h)-1].Timestamp)
			}
			// Aging alone evicts, without a new collection.
			time.Sleep(5 * time.Second)
			if h := agg.History(0); len(h) != 5 {
				t.Errorf("after 5 s: %d snapshots, want 5", len(h))
			}
			if m := agg.Metrics(); m.HistorySize != 5 {
				t.Errorf("HistorySize = %d, want 5", m.HistorySize)
			}
		})
	})
	t.Run("window selects timestamp ≥ now − window, oldest first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg := newAgg(t, health.Config{}, nil)
			for range 10 {
				agg.Collect()
				time.Sleep(time.Second)
			}
			now := time.Now()
			h := agg.History(3 * time.Second) // inclusive: t = 7, 8, 9
			if len(h) != 3 {
				t.Fatalf("len = %d, want 3", len(h))
			}
			for i, s := range h {
				if want := now.Add(time.Duration(i-3) * time.Second); !s.Timestamp.Equal(want) {
					t.Errorf("h[%d] = %v, want %v", i, s.Timestamp, want)
				}
			}
			if len(agg.History(time.Hour)) != 10 {
				t.Error("a window larger than the history does not return it all")
			}
		})
	})
}

func TestAggregator_Disabled(t *testing.T) {
	reg := newRegistry(t)
	populate(t, reg, 1, 1)
	agg := newAgg(t, health.Config{Disabled: true}, reg)
	if err := agg.Run(t.Context()); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for name, r := range map[string]*health.Report{"Report": agg.Report(), "Collect": agg.Collect(), "Current": agg.Current()} {
		if r.Status != health.Unknown || r.Total != 0 {
			t.Errorf("%s: status %v total %d", name, r.Status, r.Total)
		}
	}
	m := agg.Metrics()
	if m.Enabled || m.Running || m.SnapshotsCollected != 0 || m.Status != health.Unknown || len(agg.History(0)) != 0 {
		t.Errorf("Metrics = %+v", m)
	}
}
