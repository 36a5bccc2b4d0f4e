package health_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/latency"
)

// calls makes n calls through b, the first failures of which fail.
func calls(t *testing.T, b *breaker.Breaker, n, failures int) {
	t.Helper()
	for i := range n {
		tk, err := b.Allow()
		if err != nil {
			t.Fatalf("call %d rejected: %v", i, err)
		}
		if i < failures {
			tk.Done(errBoom)
		} else {
			tk.Done(nil)
		}
	}
}

// anomalyAgg returns an aggregator with detection on over a registry with
// one breaker "svc" of config bc, and the breaker.
func anomalyAgg(t *testing.T, ac health.AnomalyConfig, bc breaker.Config) (*health.Aggregator, *breaker.Breaker) {
	t.Helper()
	reg := newRegistry(t)
	b, err := reg.GetOrCreate("svc", bc)
	if err != nil {
		t.Fatal(err)
	}
	ac.Enabled = true
	return newAgg(t, health.Config{Anomaly: ac}, reg), b
}

// interval makes n calls with failures failures, lets a second pass and
// collects.
func interval(t *testing.T, agg *health.Aggregator, b *breaker.Breaker, n, failures int) *health.Report {
	t.Helper()
	calls(t, b, n, failures)
	time.Sleep(time.Second)
	return agg.Collect()
}

// ewma is the baseline the detector must hold after learning xs.
func ewma(alpha float64, xs ...float64) (mean, sd float64) {
	var v float64
	for i, x := range xs {
		if i == 0 {
			mean = x
			continue
		}
		d := x - mean
		mean += alpha * d
		v = (1 - alpha) * (v + alpha*d*d)
	}
	return mean, math.Sqrt(v)
}

func TestAnomaly_ErrorRate(t *testing.T) {
	noTrip := breaker.Config{ConsecutiveFailures: 1 << 20}
	t.Run("a rise held for MinDuration raises the signal before any trip, with the exact baseline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, b := anomalyAgg(t, health.AnomalyConfig{Warmup: 4, MinDuration: 2 * time.Second}, noTrip)
			sub := agg.SubscribeAnomalies(8)
			defer sub.Close()
			agg.Collect()              // opens the first interval
			rates := []int{2, 4, 2, 4} // failures per 100 calls
			for _, f := range rates {
				if r := interval(t, agg, b, 100, f); len(r.Anomalies) != 0 {
					t.Fatalf("warming up: anomalies %v", r.Anomalies)
				}
			}
			mean, sd := ewma(0.1, 0.02, 0.04, 0.02, 0.04)
			departed := time.Now().UTC()
			if r := interval(t, agg, b, 100, 30); len(r.Anomalies) != 0 {
				t.Fatalf("one departing second of two raised the signal: %v", r.Anomalies)
			}
			r := interval(t, agg, b, 100, 30)
			if len(r.Anomalies) != 1 {
				t.Fatalf("anomalies = %v, want one", r.Anomalies)
			}
			a := r.Anomalies[0]
			want := health.Anomaly{Breaker: "svc", Metric: health.ErrorRate, Baseline: mean, StdDev: sd,
				Threshold: mean + max(3*sd, 0.05), Current: 0.3, Since: departed}
			if !sameAnomaly(a, want) {
				t.Errorf("anomaly = %+v\nwant      %+v", a, want)
			}
			if b.State() != breaker.Closed {
				t.Errorf("breaker %v: the signal must come before any trip", b.State())
			}
			if c, _ := r.Circuit("svc"); !c.AtRisk {
				t.Error("circuit not marked at risk")
			}
			if r.Score != 1 {
				t.Errorf("score = %v with Weight 0, want 1", r.Score)
			}
			ev := <-sub.C
			if ev.Kind != "at_risk" || ev.Anomaly.Breaker != "svc" || ev.ConstitutionalHash != antifragile.ConstitutionalHash {
				t.Errorf("event = %+v", ev)
			}
		})
	})
	t.Run("a return within the band for MinDuration clears it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, b := anomalyAgg(t, health.AnomalyConfig{Warmup: 3, MinDuration: time.Second}, noTrip)
			agg.Collect()
			for range 3 {
				interval(t, agg, b, 100, 1)
			}
			if r := interval(t, agg, b, 100, 50); len(r.Anomalies) != 1 {
				t.Fatalf("anomalies = %v, want one (MinDuration 1 s = one interval)", r.Anomalies)
			}
			sub := agg.SubscribeAnomalies(8)
			defer sub.Close()
			if r := interval(t, agg, b, 100, 1); len(r.Anomalies) != 0 {
				t.Fatalf("after a normal second: anomalies %v", r.Anomalies)
			}
			if ev := <-sub.C; ev.Kind != "cleared" || ev.Anomaly.Current != 0.01 {
				t.Errorf("event = %+v, want cleared at 0.01", ev)
			}
			if m := agg.Metrics(); m.AnomaliesRaised != 1 || m.AnomaliesCleared != 1 {
				t.Errorf("metrics raised/cleared = %d/%d, want 1/1", m.AnomaliesRaised, m.AnomaliesCleared)
			}
		})
	})
	t.Run("departing intervals do not feed the baseline; a departure lasting Adapt becomes it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, b := anomalyAgg(t, health.AnomalyConfig{Warmup: 2, MinDuration: time.Second, Adapt: 5 * time.Second}, noTrip)
			sub := agg.SubscribeAnomalies(8)
			defer sub.Close()
			agg.Collect()
			interval(t, agg, b, 100, 1)
			interval(t, agg, b, 100, 1)
			for i := range 4 {
				r := interval(t, agg, b, 100, 40)
				if len(r.Anomalies) != 1 || r.Anomalies[0].Baseline != 0.01 {
					t.Fatalf("departing second %d: anomalies %+v, want the baseline kept at 0.01", i, r.Anomalies)
				}
			}
			if r := interval(t, agg, b, 100, 40); len(r.Anomalies) != 0 {
				t.Fatalf("after Adapt: anomalies %v", r.Anomalies)
			}
			if ev := <-sub.C; ev.Kind != "at_risk" {
				t.Fatalf("first event %+v", ev)
			}
			if ev := <-sub.C; ev.Kind != "adapted" {
				t.Fatalf("second event %+v, want adapted", ev)
			}
		})
	})
	t.Run("intervals with fewer than MinCalls calls decide nothing and merge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, b := anomalyAgg(t, health.AnomalyConfig{Warmup: 2, MinDuration: time.Nanosecond, MinCalls: 10}, noTrip)
			agg.Collect()
			interval(t, agg, b, 10, 0)
			interval(t, agg, b, 10, 0)
			if r := interval(t, agg, b, 5, 5); len(r.Anomalies) != 0 {
				t.Fatalf("5 calls judged: %v", r.Anomalies)
			}
			r := interval(t, agg, b, 5, 0) // completes the merged interval: 5 of 10 failed
			if len(r.Anomalies) != 1 || r.Anomalies[0].Current != 0.5 {
				t.Fatalf("merged interval: anomalies %+v, want current 0.5", r.Anomalies)
			}
		})
	})
	t.Run("a reset breaker starts a new interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, b := anomalyAgg(t, health.AnomalyConfig{Warmup: 1, MinDuration: time.Nanosecond}, noTrip)
			agg.Collect()
			interval(t, agg, b, 100, 0)
			b.Reset()
			if r := interval(t, agg, b, 50, 0); len(r.Anomalies) != 0 {
				t.Fatalf("after a reset: %v", r.Anomalies)
			}
			if r := interval(t, agg, b, 100, 50); len(r.Anomalies) != 1 {
				t.Fatalf("after the reset's interval: %v", r.Anomalies)
			}
		})
	})
	t.Run("an open breaker keeps its signal; a removed breaker's signal is cleared", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := newRegistry(t)
			b, _ := reg.GetOrCreate("svc", breaker.Config{ConsecutiveFailures: 1 << 20})
			agg := newAgg(t, health.Config{Anomaly: health.AnomalyConfig{Enabled: true, Warmup: 2, MinDuration: time.Nanosecond}}, reg)
			agg.Collect()
			interval(t, agg, b, 100, 0)
			interval(t, agg, b, 100, 0)
			interval(t, agg, b, 100, 90)
			b.ForceOpen()
			time.Sleep(time.Second)
			if r := agg.Collect(); len(r.Anomalies) != 1 {
				t.Fatalf("open: anomalies %v", r.Anomalies)
			}
			sub := agg.SubscribeAnomalies(8)
			defer sub.Close()
			reg.Remove("svc")
			agg.Collect()
			time.Sleep(time.Second)
			if r := agg.Collect(); len(r.Anomalies) != 0 {
				t.Fatalf("removed: anomalies %v", r.Anomalies)
			}
			if ev := <-sub.C; ev.Kind != "removed" {
				t.Errorf("event %+v, want removed", ev)
			}
		})
	})
}

func sameAnomaly(a, b health.Anomaly) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	return a.Breaker == b.Breaker && a.Metric == b.Metric && eq(a.Baseline, b.Baseline) && eq(a.StdDev, b.StdDev) &&
		eq(a.Threshold, b.Threshold) && eq(a.Current, b.Current) && a.Since.Equal(b.Since)
}

func TestAnomaly_Latency(t *testing.T) {
	slowCall := func(b *breaker.Breaker, d time.Duration) {
		tk, err := b.Allow()
		if err != nil {
			panic(err)
		}
		time.Sleep(d)
		tk.Done(nil)
	}
	t.Run("a timed breaker's mean latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			agg, b := anomalyAgg(t, health.AnomalyConfig{Warmup: 3, MinDuration: time.Nanosecond, MinCalls: 5},
				breaker.Config{SlowCallThreshold: time.Minute})
			agg.Collect()
			for range 3 {
				for range 10 {
					slowCall(b, 10*time.Millisecond)
				}
				agg.Collect()
			}
			for range 10 {
				slowCall(b, 40*time.Millisecond)
			}
			r := agg.Collect()
			if len(r.Anomalies) != 1 {
				t.Fatalf("anomalies = %+v, want one", r.Anomalies)
			}
			a := r.Anomalies[0]
			if a.Metric != health.MeanLatency || math.Abs(a.Baseline-0.010) > 1e-9 || math.Abs(a.Current-0.040) > 1e-9 {
				t.Errorf("anomaly = %+v, want latency 10ms → 40ms", a)
			}
			if math.Abs(a.Threshold-0.015) > 1e-9 {
				t.Errorf("threshold = %v, want 0.015 (the 50 %% floor over a baseline with no spread)", a.Threshold)
			}
		})
	})
	t.Run("an untimed breaker uses Config.Latency, and a rise under MinLatencyIncrease is not one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var h latency.Histogram
			ac := health.AnomalyConfig{Warmup: 2, MinDuration: time.Nanosecond, MinCalls: 5,
				Latency: func(name string) (latency.Snapshot, bool) { return h.Snapshot(), name == "svc" }}
			agg, b := anomalyAgg(t, ac, breaker.Config{})
			observe := func(d time.Duration) {
				calls(t, b, 10, 0)
				for range 10 {
					h.Observe(d)
				}
				time.Sleep(time.Second)
			}
			agg.Collect()
			observe(100 * time.Microsecond)
			agg.Collect()
			observe(100 * time.Microsecond)
			agg.Collect()
			observe(900 * time.Microsecond) // 9×, but under 1 ms more
			if r := agg.Collect(); len(r.Anomalies) != 0 {
				t.Fatalf("a 0.8 ms rise: %v", r.Anomalies)
			}
			observe(5 * time.Millisecond)
			if r := agg.Collect(); len(r.Anomalies) != 1 || r.Anomalies[0].Metric != health.MeanLatency {
				t.Fatalf("anomalies %+v, want latency", r.Anomalies)
			}
		})
	})
}

func TestAnomaly_Weight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := newRegistry(t)
		b, _ := reg.GetOrCreate("a", breaker.Config{ConsecutiveFailures: 1 << 20})
		getOrCreate(t, reg, "b")
		open := getOrCreate(t, reg, "c")
		open.ForceOpen()
		agg := newAgg(t, health.Config{Anomaly: health.AnomalyConfig{Enabled: true, Warmup: 1, MinDuration: time.Nanosecond, Weight: 0.5}}, reg)
		agg.Collect()
		interval(t, agg, b, 100, 0)
		r := interval(t, agg, b, 100, 50)
		if len(r.Anomalies) != 1 {
			t.Fatalf("anomalies %v", r.Anomalies)
		}
		// a: 1 − 0.5, b: 1, c: 0 → 1.5 / 3
		if math.Abs(float64(r.Score)-0.5) > 1e-12 {
			t.Errorf("score = %v, want 0.5", r.Score)
		}
		var sum float64
		for _, o := range r.TopOffenders {
			sum += float64(o.Loss)
		}
		if len(r.TopOffenders) != 2 || r.TopOffenders[1].Name != "a" || r.TopOffenders[1].State != breaker.Closed {
			t.Errorf("top offenders = %+v, want c then a (closed, at risk)", r.TopOffenders)
		}
		if math.Abs(sum-(1-float64(r.Score))) > 1e-12 {
			t.Errorf("losses add to %v, want 1 − score = %v", sum, 1-float64(r.Score))
		}
		if len(r.Critical) != 1 || r.Critical[0] != "c" || len(r.Degraded) != 0 {
			t.Errorf("critical %v degraded %v", r.Critical, r.Degraded)
		}
		r = interval(t, agg, b, 100, 0) // clears (MinDuration: one interval)
		if r.Score != 2.0/3 || len(r.TopOffenders) != 1 {
			t.Errorf("cleared: score %v offenders %+v", r.Score, r.TopOffenders)
		}
	})
}

func TestAnomalyConfig_Validate(t *testing.T) {
	bad := health.AnomalyConfig{Alpha: 1.5, Margin: -1, MinDuration: -1, Warmup: -1, MinCalls: -1,
		ErrorRateFloor: 2, LatencyFloor: -1, Adapt: -1, Weight: 1.1}
	err := health.Config{Anomaly: bad}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range []string{"alpha", "margin", "min_duration", "warmup", "min_calls", "error_rate_floor", "latency_floor", "adapt", "weight"} {
		if !strings.Contains(err.Error(), `"anomaly.`+f+`"`) && !strings.Contains(err.Error(), "anomaly."+f) {
			t.Errorf("no problem for anomaly.%s in %v", f, err)
		}
	}
	if got := len(antifragile.InvalidFields(err)); got != 9 {
		t.Errorf("%d problems, want 9: %v", got, err)
	}
	if err := (health.Config{Anomaly: health.AnomalyConfig{Enabled: true, Alpha: math.NaN()}}).Validate(); err == nil {
		t.Error("NaN alpha accepted")
	}
}

func TestAnomaly_JSON(t *testing.T) {
	c := health.Config{Anomaly: health.AnomalyConfig{Enabled: true, MinDuration: 3 * time.Second, Weight: 0.2}}.WithDefaults()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"anomaly":{"enabled":true,"alpha":0.1,"margin":3,"min_duration":"3s","warmup":10,"min_calls":10,"error_rate_floor":0.05,"latency_floor":0.5,"adapt":"10m0s","weight":0.2}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config JSON %s\nlacks %s", b, want)
		}
	}
	var back health.Config
	if err := json.Unmarshal(b, &back); err != nil || back.Anomaly.MinDuration != 3*time.Second || !back.Anomaly.Enabled {
		t.Errorf("round trip: %+v, %v", back.Anomaly, err)
	}
	ev := health.AnomalyEvent{Kind: "at_risk", Anomaly: health.Anomaly{Breaker: "svc", Metric: health.ErrorRate, Baseline: 0.01,
		StdDev: 0.005, Threshold: 0.06, Current: 0.3, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Time: time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC), ConstitutionalHash: antifragile.ConstitutionalHash}
	got, _ := json.Marshal(ev)
	want := `{"kind":"at_risk","anomaly":{"breaker":"svc","metric":"error_rate","baseline":0.01,"stddev":0.005,"threshold":0.06,"current":0.3,"since":"2026-01-02T03:04:05Z"},"time":"2026-01-02T03:04:07Z","constitutional_hash":"cdd01ef066bc6cf2"}`
	if string(got) != want {
		t.Errorf("event JSON\n%s\nwant\n%s", got, want)
	}
}

func TestAnomaly_Off(t *testing.T) {
	reg := newRegistry(t)
	b := getOrCreate(t, reg, "svc")
	agg := newAgg(t, health.Config{}, reg)
	calls(t, b, 100, 4)
	r := agg.Collect()
	if r.Anomalies != nil || len(agg.Anomalies()) != 0 {
		t.Errorf("detection off found %v / %v", r.Anomalies, agg.Anomalies())
	}
	out, _ := json.Marshal(r)
	if strings.Contains(string(out), "anomalies") || strings.Contains(string(out), "at_risk") {
		t.Errorf("report JSON with detection off mentions anomalies: %s", out)
	}
	sub := agg.SubscribeAnomalies(1)
	sub.Close()
}
