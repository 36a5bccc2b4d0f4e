package health_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

func TestAggregator_Report(t *testing.T) {
	t.Run("no breakers is 1.0 and HEALTHY", func(t *testing.T) {
		for _, reg := range []*breaker.Registry{nil, newRegistry(t)} {
			r := newAgg(t, health.Config{}, reg).Report()
			if r.Score != 1 || r.Status != health.Healthy || r.Total != 0 {
				t.Errorf("registry %v: got score %v status %v total %d", reg != nil, r.Score, r.Status, r.Total)
			}
		}
	})

	// Boundaries: both thresholds are inclusive.
	boundaries := []struct {
		closed, open int
		score        float64
		want         health.Status
	}{
		{10, 0, 1, health.Healthy},
		{7, 3, 0.7, health.Healthy},
		{69, 31, 0.69, health.Degraded},
		{1, 1, 0.5, health.Degraded},
		{49, 51, 0.49, health.Critical},
		{0, 3, 0, health.Critical},
	}
	for _, tt := range boundaries {
		t.Run(fmt.Sprintf("%d closed %d open is %v %v", tt.closed, tt.open, tt.score, tt.want), func(t *testing.T) {
			reg := newRegistry(t)
			populate(t, reg, tt.closed, tt.open)
			r := newAgg(t, health.Config{}, reg).Report()
			if float64(r.Score) != tt.score || r.Status != tt.want {
				t.Errorf("got score %v status %v, want %v %v", r.Score, r.Status, tt.score, tt.want)
			}
			if r.Total != tt.closed+tt.open || r.Closed != tt.closed || r.Open != tt.open || r.HalfOpen != 0 {
				t.Errorf("counts total %d closed %d open %d half-open %d", r.Total, r.Closed, r.Open, r.HalfOpen)
			}
		})
	}

	t.Run("half-open counts 0.5 and is a degraded service", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			getOrCreate(t, reg, "a")
			b, err := reg.GetOrCreate("b", breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			trip(t, b)
			agg := newAgg(t, health.Config{}, reg)
			r := agg.Report()
			if r.Score != 0.5 || r.Open != 1 || !slices.Equal(r.Critical, []string{"b"}) {
				t.Fatalf("open: score %v open %d critical %v", r.Score, r.Open, r.Critical)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if b.State() != breaker.HalfOpen {
				t.Fatalf("breaker is %v", b.State())
			}
			r = agg.Report()
			if r.Score != 0.75 || r.HalfOpen != 1 || r.Open != 0 || r.Status != health.Healthy {
				t.Errorf("half-open: score %v half-open %d open %d status %v", r.Score, r.HalfOpen, r.Open, r.Status)
			}
			if !slices.Equal(r.Degraded, []string{"b"}) || len(r.Critical) != 0 {
				t.Errorf("degraded %v critical %v", r.Degraded, r.Critical)
			}
		})
	})

	t.Run("disabled breakers are left out", func(t *testing.T) {
		reg := newRegistry(t)
		populate(t, reg, 1, 1)
		getOrCreate(t, reg, "d").Disable()
		r := newAgg(t, health.Config{}, reg).Report()
		if r.Score != 0.5 || r.Disabled != 1 || r.Total != 3 {
			t.Errorf("score %v disabled %d total %d", r.Score, r.Disabled, r.Total)
		}
		reg.Get("o000")
		b, _ := reg.Get("o000")
		b.Disable()
		b, _ = reg.Get("c000")
		b.Disable()
		r = newAgg(t, health.Config{}, reg).Report()
		if r.Score != 1 || r.Status != health.Healthy || r.Disabled != 3 {
			t.Errorf("all disabled: score %v status %v disabled %d", r.Score, r.Status, r.Disabled)
		}
	})

	t.Run("weights", func(t *testing.T) {
		reg := newRegistry(t)
		getOrCreate(t, reg, "payments").ForceOpen()
		getOrCreate(t, reg, "cache")
		agg := newAgg(t, health.Config{Weights: map[string]float64{"payments": 3}}, reg)
		if r := agg.Report(); r.Score != 0.25 || r.Status != health.Critical {
			t.Errorf("config weight: score %v status %v", r.Score, r.Status)
		}
		if err := agg.SetWeight("cache", 9); err != nil {
			t.Fatal(err)
		}
		if r := agg.Report(); r.Score != 0.75 {
			t.Errorf("SetWeight: score %v, want 0.75", r.Score)
		}
		c, ok := agg.Report().Circuit("cache")
		if !ok || c.Weight != 9 {
			t.Errorf("Circuit(cache) = %+v, %v", c, ok)
		}
		if agg.Weight("payments") != 3 || agg.Weight("nobody") != 1 {
			t.Errorf("Weight() = %v, %v", agg.Weight("payments"), agg.Weight("nobody"))
		}
	})

	t.Run("a weight set before the breaker exists applies when it appears", func(t *testing.T) {
		reg := newRegistry(t)
		getOrCreate(t, reg, "cache")
		agg := newAgg(t, health.Config{}, reg)
		if err := agg.SetWeight("payments", 4); err != nil {
			t.Fatal(err)
		}
		getOrCreate(t, reg, "payments").ForceOpen()
		if r := agg.Report(); r.Score != 0.2 {
			t.Errorf("score %v, want 0.2", r.Score)
		}
	})

	t.Run("an invalid weight is refused and changes nothing", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		for _, w := range []float64{0, -1} {
			err := agg.SetWeight("db", w)
			ve, ok := err.(*health.ValidationError)
			if !ok || ve.Field != `weights["db"]` {
				t.Errorf("SetWeight(%v) = %v", w, err)
			}
		}
		if agg.Weight("db") != 1 {
			t.Errorf("Weight = %v", agg.Weight("db"))
		}
	})

	t.Run("a name in both the registry and custom sources counts once", func(t *testing.T) {
		reg := newRegistry(t)
		getOrCreate(t, reg, "db")
		getOrCreate(t, reg, "cache")
		agg := newAgg(t, health.Config{}, reg)
		if err := agg.Register("db", newFake(breaker.Open)); err != nil {
			t.Fatal(err)
		}
		r := agg.Report()
		if r.Total != 2 || r.Score != 0.5 || r.Open != 1 || r.Closed != 1 {
			t.Fatalf("custom wins: total %d score %v open %d closed %d", r.Total, r.Score, r.Open, r.Closed)
		}
		if c, _ := r.Circuit("db"); !c.Custom || c.State != breaker.Open {
			t.Errorf("db = %+v", c)
		}
		agg.Unregister("db")
		r = agg.Report()
		if r.Total != 2 || r.Score != 1 {
			t.Errorf("after Unregister: total %d score %v", r.Total, r.Score)
		}
		if c, _ := r.Circuit("db"); c.Custom {
			t.Errorf("db still custom")
		}
	})

	t.Run("a score never exceeds 1", func(t *testing.T) {
		reg := newRegistry(t)
		populate(t, reg, 5, 0)
		agg := newAgg(t, health.Config{}, reg)
		for i := range 5 {
			if err := agg.Register(fmt.Sprintf("c%03d", i), newFake(breaker.Closed)); err != nil {
				t.Fatal(err)
			}
		}
		if r := agg.Report(); r.Score != 1 || r.Total != 5 {
			t.Errorf("score %v total %d", r.Score, r.Total)
		}
	})

	t.Run("unregistering an unknown name is not an error", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		agg.Unregister("nobody")
		if r := agg.Report(); r.Total != 0 {
			t.Errorf("total %d", r.Total)
		}
	})

	t.Run("Register refuses an empty name or a nil source", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		if err := agg.Register("", newFake(breaker.Closed)); err == nil {
			t.Error("empty name accepted")
		}
		if err := agg.Register("x", nil); err == nil {
			t.Error("nil source accepted")
		}
	})

	t.Run("follows the registry's membership", func(t *testing.T) {
		reg := newRegistry(t)
		agg := newAgg(t, health.Config{}, reg)
		getOrCreate(t, reg, "a").ForceOpen()
		getOrCreate(t, reg, "b")
		if r := agg.Report(); r.Total != 2 || r.Score != 0.5 {
			t.Fatalf("after adds: total %d score %v", r.Total, r.Score)
		}
		reg.Remove("a")
		if r := agg.Report(); r.Total != 1 || r.Score != 1 {
			t.Fatalf("after remove: total %d score %v", r.Total, r.Score)
		}
		nb, _ := breaker.New(breaker.Config{})
		nb.ForceOpen()
		if err := reg.Register("a", nb); err != nil {
			t.Fatal(err)
		}
		if r := agg.Report(); r.Total != 2 || r.Open != 1 {
			t.Fatalf("after re-register: total %d open %d", r.Total, r.Open)
		}
	})

	t.Run("rereads the registry when membership events overflow", func(t *testing.T) {
		reg := newRegistry(t)
		agg := newAgg(t, health.Config{}, reg)
		populate(t, reg, 1500, 500)
		for i := range 100 {
			reg.Remove(fmt.Sprintf("c%03d", i))
		}
		r := agg.Report()
		if r.Total != 1900 || r.Open != 500 || r.Closed != 1400 {
			t.Fatalf("total %d open %d closed %d", r.Total, r.Open, r.Closed)
		}
		if !slices.IsSortedFunc(r.Circuits, func(a, b health.Circuit) int { return strings.Compare(a.Name, b.Name) }) {
			t.Error("circuits not sorted")
		}
	})

	t.Run("per-breaker details", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			b := getOrCreate(t, reg, "svc")
			for _, err := range []error{nil, nil, errBoom, errBoom} {
				tk, _ := b.Allow()
				tk.Done(err)
			}
			time.Sleep(time.Minute)
			b.ForceOpen()
			opened := time.Now().UTC()
			time.Sleep(time.Minute)
			agg := newAgg(t, health.Config{}, reg)
			if err := agg.Register("custom", newFake(breaker.HalfOpen)); err != nil {
				t.Fatal(err)
			}
			since := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := agg.Register("metered", metricsSource{breaker.Metrics{State: breaker.Closed, Failures: 7, Successes: 8, ConsecutiveFailures: 2, LastTransition: since}}); err != nil {
				t.Fatal(err)
			}
			r := agg.Report()
			want := []health.Circuit{
				{Name: "custom", State: breaker.HalfOpen, Weight: 1, Custom: true},
				{Name: "metered", State: breaker.Closed, Weight: 1, Custom: true, Failures: 7, Successes: 8, ConsecutiveFailures: 2, Since: since},
				{Name: "svc", State: breaker.ForcedOpen, Weight: 1, Failures: 2, Successes: 2, ConsecutiveFailures: 0, Since: opened}, // a new generation: its run starts over
			}
			if !slices.Equal(r.Circuits, want) {
				t.Errorf("Circuits =\n%+v\nwant\n%+v", r.Circuits, want)
			}
			if !r.Timestamp.Equal(time.Now()) || r.Timestamp.Location() != time.UTC {
				t.Errorf("Timestamp = %v, want now in UTC", r.Timestamp)
			}
			if _, ok := r.Circuit("nobody"); ok {
				t.Error("Circuit(nobody) found")
			}
		})
	})

	t.Run("a state the package does not know counts as open", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		_ = agg.Register("weird", newFake(breaker.State(42)))
		_ = agg.Register("ok", newFake(breaker.Closed))
		if r := agg.Report(); r.Score != 0.5 || r.Open != 1 {
			t.Errorf("score %v open %d", r.Score, r.Open)
		}
	})

	t.Run("top offenders", func(t *testing.T) {
		agg := newAgg(t, health.Config{TopOffenders: 3}, nil)
		sources := map[string]struct {
			s breaker.State
			w float64
		}{
			"a": {breaker.Open, 1}, "b": {breaker.HalfOpen, 4}, "c": {breaker.ForcedOpen, 2},
			"d": {breaker.Open, 1}, "e": {breaker.Closed, 10}, "f": {breaker.HalfOpen, 1},
		}
		for n, s := range sources {
			_ = agg.Register(n, newFake(s.s))
			_ = agg.SetWeight(n, s.w)
		}
		r := agg.Report()
		// Σw = 19; losses: b 2, c 2, a 1, d 1, f 0.5.
		want := []health.Offender{
			{Name: "b", State: breaker.HalfOpen, Loss: 2.0 / 19},
			{Name: "c", State: breaker.ForcedOpen, Loss: 2.0 / 19},
			{Name: "a", State: breaker.Open, Loss: 1.0 / 19},
		}
		if !slices.Equal(r.TopOffenders, want) {
			t.Errorf("TopOffenders = %+v, want %+v", r.TopOffenders, want)
		}
		if !slices.Equal(r.Critical, []string{"a", "c", "d"}) || !slices.Equal(r.Degraded, []string{"b", "f"}) {
			t.Errorf("critical %v degraded %v", r.Critical, r.Degraded)
		}
	})

	t.Run("all losses add up to 1 minus the score", func(t *testing.T) {
		agg := newAgg(t, health.Config{TopOffenders: 100}, nil)
		for i := range 20 {
			_ = agg.Register(fmt.Sprint(i), newFake(breaker.State(i%4)))
			_ = agg.SetWeight(fmt.Sprint(i), float64(i+1))
		}
		r := agg.Report()
		sum := 0.0
		for _, o := range r.TopOffenders {
			sum += float64(o.Loss)
		}
		if !approx(sum, 1-float64(r.Score)) {
			t.Errorf("Σ loss = %v, 1 − score = %v", sum, 1-r.Score)
		}
		if len(r.TopOffenders) != 15 {
			t.Errorf("%d offenders, want 15", len(r.TopOffenders))
		}
	})

	t.Run("a negative TopOffenders turns the list off", func(t *testing.T) {
		agg := newAgg(t, health.Config{TopOffenders: -1}, nil)
		_ = agg.Register("a", newFake(breaker.Open))
		if r := agg.Report(); len(r.TopOffenders) != 0 || r.Open != 1 {
			t.Errorf("TopOffenders = %v", r.TopOffenders)
		}
	})

	t.Run("does not store, record or notify", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		agg.Report()
		if agg.Current().Status != health.Unknown || len(agg.History(0)) != 0 || agg.Metrics().SnapshotsCollected != 0 {
			t.Error("Report changed the aggregator's state")
		}
	})
}

func TestReport_JSON(t *testing.T) {
	reg := newRegistry(t)
	populate(t, reg, 2, 1)
	agg := newAgg(t, health.Config{}, reg)
	r := agg.Collect()
	if float64(r.Score) != 2.0/3 {
		t.Fatalf("Go score = %v, want exactly 2/3", r.Score)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, frag := range []string{
		`"health_score":0.667`, `"status":"DEGRADED"`, `"total_breakers":3`, `"closed_breakers":2`,
		`"half_open_breakers":0`, `"open_breakers":1`, `"disabled_breakers":0`, `"degraded_services":[]`,
		`"critical_services":["o000"]`, `"constitutional_hash":"` + antifragile.ConstitutionalHash + `"`,
		`"circuit_details":[{"name":"c000","state":"closed","weight":1,"failures":0,"successes":0,"consecutive_failures":0,"since":"`,
		`"top_offenders":[{"name":"o000","state":"forced_open","loss":0.333}]`,
	} {
		if !strings.Contains(s, frag) {
			t.Errorf("JSON lacks %s:\n%s", frag, s)
		}
	}
	var back health.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Status != health.Degraded || back.Score != 0.667 || back.Total != 3 || len(back.Circuits) != 3 ||
		back.Circuits[2].State != breaker.ForcedOpen || !back.Timestamp.Equal(r.Timestamp) {
		t.Errorf("decoded %+v", back)
	}

	t.Run("an UNKNOWN report shows empty lists", func(t *testing.T) {
		b, err := json.Marshal(newAgg(t, health.Config{}, nil).Current())
		if err != nil {
			t.Fatal(err)
		}
		for _, frag := range []string{`"status":"UNKNOWN"`, `"circuit_details":[]`, `"degraded_services":[]`, `"top_offenders":[]`} {
			if !strings.Contains(string(b), frag) {
				t.Errorf("JSON lacks %s: %s", frag, b)
			}
		}
	})
	t.Run("metrics and snapshots round the score", func(t *testing.T) {
		for _, v := range []any{agg.Metrics(), agg.History(0)} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `0.667`) || strings.Contains(string(b), `0.6666`) {
				t.Errorf("%s", b)
			}
		}
	})
}
