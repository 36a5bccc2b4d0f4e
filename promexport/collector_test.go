package promexport_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/latency"
	"github.com/antifragile-go/antifragile/promexport"
	"github.com/antifragile-go/antifragile/system"
)

// newSystem builds a whole system — a timed breaker "db", an untimed
// "cache", a file sink behind a spool, a bus agent "validator" — sends one
// message through the bus and one call through each breaker, and returns
// it with the Config of a collector over every component.
func newSystem(t *testing.T) (*system.System, promexport.Config) {
	t.Helper()
	var cfg system.Config
	cfg.Breakers.Named = map[string]breaker.Config{"db": {SlowCallThreshold: time.Second}, "cache": {}}
	dir := t.TempDir()
	cfg.Metering.Sink = "file:" + filepath.Join(dir, "usage.jsonl")
	cfg.Metering.SpoolDir = filepath.Join(dir, "spool")
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	if err := sys.Bus().Register("validator", func(context.Context, bus.Message) (bus.Reply, error) {
		return bus.Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Bus().Send(context.Background(), bus.NewMessage("proposer", "validator", "validate", nil)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db", "cache"} {
		b, _ := sys.Registry().Get(name)
		_ = b.Execute(func() error { return nil })
	}
	o := sys.OpsOptions()
	if o.Spool == nil {
		t.Fatal("the system has no spool")
	}
	return sys, promexport.Config{
		Registry: o.Registry, Health: o.Health, Recovery: o.Recovery, Chaos: o.Chaos,
		Meter: o.Meter, Spool: o.Spool, Bus: o.Bus,
	}
}

// families gathers c from a pedantic registry and returns its metric
// families by name.
func families(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// descNames returns the names of every Desc c describes.
func descNames(c prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	var names []string
	for d := range ch {
		s := d.String()
		_, rest, _ := strings.Cut(s, `fqName: "`)
		name, _, _ := strings.Cut(rest, `"`)
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func TestCollector_Lint(t *testing.T) {
	_, cfg := newSystem(t)
	c, err := promexport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Every series must be there, so that the lint sees them all.
	got := families(t, c)
	for _, name := range descNames(c) {
		if got[name] == nil {
			t.Errorf("no series of %s: the lint does not see it", name)
		}
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollector_Collect(t *testing.T) {
	sys, cfg := newSystem(t)
	c, err := promexport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a user's registry gets the series", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
		want := `
# HELP antifragile_breaker_calls_total Calls admitted and completed through the breaker since it was created or reset.
# TYPE antifragile_breaker_calls_total counter
antifragile_breaker_calls_total{name="cache"} 1
antifragile_breaker_calls_total{name="db"} 1
antifragile_breaker_calls_total{name="validator"} 1
# HELP antifragile_bus_messages_total Bus messages by what happened to them.
# TYPE antifragile_bus_messages_total counter
antifragile_bus_messages_total{result="delivered"} 1
antifragile_bus_messages_total{result="dropped"} 0
antifragile_bus_messages_total{result="failed"} 0
antifragile_bus_messages_total{result="hash_mismatch"} 0
antifragile_bus_messages_total{result="injected"} 0
antifragile_bus_messages_total{result="mailbox_full"} 0
antifragile_bus_messages_total{result="published"} 0
antifragile_bus_messages_total{result="rejected"} 0
antifragile_bus_messages_total{result="sent"} 1
antifragile_bus_messages_total{result="unknown_agent"} 0
# HELP antifragile_info Always 1; labels carry the version and the constitutional hash.
# TYPE antifragile_info gauge
antifragile_info{constitutional_hash="` + antifragile.ConstitutionalHash + `",version="` + antifragile.Version + `"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
			"antifragile_breaker_calls_total", "antifragile_bus_messages_total", "antifragile_info"); err != nil {
			t.Error(err)
		}
	})
	t.Run("only timed breakers have a latency histogram", func(t *testing.T) {
		mf := families(t, c)["antifragile_breaker_call_duration_seconds"]
		if mf.GetType() != dto.MetricType_HISTOGRAM || len(mf.GetMetric()) != 1 {
			t.Fatalf("family %v", mf)
		}
		m := mf.GetMetric()[0]
		if l := m.GetLabel(); len(l) != 1 || l[0].GetValue() != "db" {
			t.Errorf("labels %v, want name=db", l)
		}
		checkHistogram(t, m.GetHistogram(), 1)
	})
	t.Run("each agent has a delivery-time histogram", func(t *testing.T) {
		mf := families(t, c)["antifragile_bus_message_duration_seconds"]
		if mf.GetType() != dto.MetricType_HISTOGRAM || len(mf.GetMetric()) != 1 {
			t.Fatalf("family %v", mf)
		}
		m := mf.GetMetric()[0]
		if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "agent" || l[0].GetValue() != "validator" {
			t.Errorf("labels %v, want agent=validator", l)
		}
		checkHistogram(t, m.GetHistogram(), 1)
	})
	t.Run("a scrape reads the components now", func(t *testing.T) {
		b, _ := sys.Registry().Get("db")
		b.ForceOpen()
		if v := testutil.ToFloat64(gaugeOf(t, c, "antifragile_breaker_state_value", "db")); v != float64(breaker.ForcedOpen) {
			t.Errorf("state value %v after ForceOpen", v)
		}
	})
}

// checkHistogram checks that h has the buckets of latency.Bounds, in
// seconds, cumulative, ending at count observations.
func checkHistogram(t *testing.T, h *dto.Histogram, count uint64) {
	t.Helper()
	bounds := latency.Bounds()
	if len(h.GetBucket()) != len(bounds) {
		t.Fatalf("%d buckets, want %d", len(h.GetBucket()), len(bounds))
	}
	prev := uint64(0)
	for i, b := range h.GetBucket() {
		if b.GetUpperBound() != bounds[i].Seconds() {
			t.Errorf("bucket %d bound %v, want %v", i, b.GetUpperBound(), bounds[i].Seconds())
		}
		if b.GetCumulativeCount() < prev {
			t.Errorf("bucket %d not cumulative", i)
		}
		prev = b.GetCumulativeCount()
	}
	if h.GetSampleCount() != count || prev != count {
		t.Errorf("count %d, last bucket %d, want %d", h.GetSampleCount(), prev, count)
	}
}

// gaugeOf returns a collector of the one series of family name with label
// value label, for testutil.ToFloat64.
func gaugeOf(t *testing.T, c prometheus.Collector, name, label string) prometheus.Collector {
	t.Helper()
	for _, m := range families(t, c)[name].GetMetric() {
		if m.GetLabel()[0].GetValue() == label {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, m.GetGauge().GetValue)
		}
	}
	t.Fatalf("no %s{%q}", name, label)
	return nil
}

func TestNew(t *testing.T) {
	_, err := promexport.New(promexport.Config{})
	var ve *antifragile.ValidationError
	if !errors.As(err, &ve) || ve.Field != "registry" {
		t.Errorf("New without a registry: %v, want a *ValidationError for registry", err)
	}
	t.Run("a registry alone exports the breakers' series only", func(t *testing.T) {
		reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
		_, _ = reg.GetOrCreate("db", breaker.Config{})
		c, err := promexport.New(promexport.Config{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		for name := range families(t, c) {
			if name != "antifragile_info" && name != "antifragile_breakers" && !strings.HasPrefix(name, "antifragile_breaker_") {
				t.Errorf("series %s without its component", name)
			}
		}
	})
}
