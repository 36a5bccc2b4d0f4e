package afotel_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collect reads every metric of reader, by name.
func collect(t testing.TB, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// matches reports whether set holds every key-value pair of want.
func matches(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// value returns the value of the data point of metric name whose
// attributes hold attrs, and whether there is exactly one such point.
func value(ms map[string]metricdata.Metrics, name string, attrs ...attribute.KeyValue) (float64, error) {
	m, ok := ms[name]
	if !ok {
		return 0, fmt.Errorf("no metric %s", name)
	}
	var vals []float64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, attrs) {
				vals = append(vals, float64(p.Value))
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, attrs) {
				vals = append(vals, float64(p.Value))
			}
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, attrs) {
				vals = append(vals, p.Value)
			}
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, attrs) {
				vals = append(vals, p.Value)
			}
		}
	default:
		return 0, fmt.Errorf("metric %s is a %T", name, m.Data)
	}
	if len(vals) != 1 {
		return 0, fmt.Errorf("metric %s has %d points with %v", name, len(vals), attrs)
	}
	return vals[0], nil
}

// want checks the values of metrics, each given as name, attributes and
// the value wanted.
type point struct {
	name  string
	attrs []attribute.KeyValue
	want  float64
}

func checkPoints(t *testing.T, ms map[string]metricdata.Metrics, points []point) {
	t.Helper()
	for _, p := range points {
		got, err := value(ms, p.name, p.attrs...)
		if err != nil {
			t.Error(err)
			continue
		}
		if got != p.want {
			t.Errorf("%s%v = %v, want %v", p.name, p.attrs, got, p.want)
		}
	}
}

func at(name string, want float64, attrs ...attribute.KeyValue) point {
	return point{name: name, attrs: attrs, want: want}
}
