package health_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// TestAggregator_SuccessiveReports checks that a report made right after
// others (which may reuse what the last one found) says exactly what a
// report by a fresh aggregator over the same sources says, and that no
// report changes once returned.
func TestAggregator_SuccessiveReports(t *testing.T) {
	states := []breaker.State{breaker.Closed, breaker.HalfOpen, breaker.Open, breaker.ForcedOpen, breaker.Disabled, breaker.State(42)}
	weights := []float64{0.5, 1, 2, 3}
	for _, tc := range []struct {
		name string
		top  int
	}{
		{"matches a fresh aggregator after every change", 3},
		{"matches a fresh aggregator with every offender listed", 100},
		{"matches a fresh aggregator without offenders", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := health.Config{TopOffenders: tc.top}
			rng := rand.New(rand.NewPCG(11, uint64(tc.top+1000)))
			const n = 12
			srcs := make([]*fakeSource, n)
			w := make([]float64, n)
			agg := newAgg(t, cfg, nil)
			for i := range srcs {
				srcs[i], w[i] = newFake(breaker.Closed), 1
				if err := agg.Register(fmt.Sprintf("s%02d", i), srcs[i]); err != nil {
					t.Fatal(err)
				}
			}
			type kept struct {
				r    *health.Report
				json string
			}
			var history []kept
			for step := range 300 {
				switch op := rng.IntN(10); {
				case op < 4: // one state changes
					srcs[rng.IntN(n)].set(states[rng.IntN(len(states))])
				case op < 6: // two swap states: the counts stay, the names change
					i, j := rng.IntN(n), rng.IntN(n)
					si, sj := srcs[i].State(), srcs[j].State()
					srcs[i].set(sj)
					srcs[j].set(si)
				case op < 8:
					i := rng.IntN(n)
					w[i] = weights[rng.IntN(len(weights))]
					if err := agg.SetWeight(fmt.Sprintf("s%02d", i), w[i]); err != nil {
						t.Fatal(err)
					}
				default: // no change: the next report may reuse the last one's lists
				}
				got := agg.Report()
				again := agg.Report()
				fresh := newAgg(t, cfg, nil)
				for i := range srcs {
					_ = fresh.Register(fmt.Sprintf("s%02d", i), srcs[i])
					_ = fresh.SetWeight(fmt.Sprintf("s%02d", i), w[i])
				}
				want := fresh.Report()
				for _, r := range []*health.Report{got, again} {
					if !sameFindings(r, want) {
						t.Fatalf("step %d: report\n%+v\nwant\n%+v", step, r.Snapshot, want.Snapshot)
					}
					if !reflect.DeepEqual(r.TopOffenders, want.TopOffenders) || !reflect.DeepEqual(r.Circuits, want.Circuits) {
						t.Fatalf("step %d: offenders %+v circuits %+v\nwant %+v %+v", step, r.TopOffenders, r.Circuits, want.TopOffenders, want.Circuits)
					}
				}
				b, _ := json.Marshal(got)
				history = append(history, kept{got, string(b)})
			}
			for i, k := range history {
				if b, _ := json.Marshal(k.r); string(b) != k.json {
					t.Fatalf("report %d changed after it was returned:\n%s\nwas\n%s", i, b, k.json)
				}
			}
		})
	}

	t.Run("reports over unchanged states share their name lists", func(t *testing.T) {
		reg := newRegistry(t)
		populate(t, reg, 3, 2)
		agg := newAgg(t, health.Config{}, reg)
		r1, r2 := agg.Report(), agg.Report()
		if len(r2.Critical) != 2 || &r1.Critical[0] != &r2.Critical[0] || &r1.TopOffenders[0] != &r2.TopOffenders[0] {
			t.Errorf("the second report did not reuse the first one's lists: %v %v", r1.Critical, r2.Critical)
		}
		b, _ := reg.Get("c000")
		b.ForceOpen()
		r3 := agg.Report()
		if len(r3.Critical) != 3 || len(r1.Critical) != 2 {
			t.Errorf("critical %v after a change, first report's %v", r3.Critical, r1.Critical)
		}
	})
}

// sameFindings compares what two reports found, leaving out the time and
// the status (which depends on the previous report through hysteresis).
func sameFindings(a, b *health.Report) bool {
	x, y := a.Snapshot, b.Snapshot
	x.Timestamp = y.Timestamp
	x.Status = y.Status
	return reflect.DeepEqual(x, y)
}

func TestAggregator_Resync(t *testing.T) {
	t.Run("after Close a breaker replaced under its name is the one read", func(t *testing.T) {
		reg := newRegistry(t)
		populate(t, reg, 2, 0)
		agg := newAgg(t, health.Config{}, reg)
		if err := agg.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r := agg.Report(); r.Total != 2 || r.Closed != 2 {
			t.Fatalf("total %d closed %d", r.Total, r.Closed)
		}
		reg.Remove("c000")
		nb, err := breaker.New(breaker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		nb.ForceOpen()
		if err := reg.Register("c000", nb); err != nil {
			t.Fatal(err)
		}
		if c, ok := agg.Report().Circuit("c000"); !ok || c.State != breaker.ForcedOpen {
			t.Errorf("c000 = %+v, %v; want the new, forced-open breaker", c, ok)
		}
	})
	t.Run("an overflow of state changes keeps the members and their weights", func(t *testing.T) {
		reg := newRegistry(t)
		populate(t, reg, 3, 0)
		agg := newAgg(t, health.Config{}, reg)
		if err := agg.SetWeight("c001", 3); err != nil {
			t.Fatal(err)
		}
		if err := agg.Register("custom", newFake(breaker.HalfOpen)); err != nil {
			t.Fatal(err)
		}
		b, _ := reg.Get("c000")
		for range 600 { // 1,200 events: more than the membership buffer holds
			b.ForceOpen()
			b.Release()
		}
		b.ForceOpen()
		r := agg.Report()
		if r.Total != 4 || r.Open != 1 || r.HalfOpen != 1 {
			t.Fatalf("total %d open %d half-open %d", r.Total, r.Open, r.HalfOpen)
		}
		if c, _ := r.Circuit("c001"); c.Weight != 3 {
			t.Errorf("c001 weight %v, want 3", c.Weight)
		}
	})
}
