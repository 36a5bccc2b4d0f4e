package ops_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/ops"
)

func TestOptions_Collectors(t *testing.T) {
	extra := func() prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "app_answer", Help: "The answer."}, func() float64 { return 42 })
	}
	t.Run("serves them on /metrics beside the toolkit's series", func(t *testing.T) {
		s := newSystem(t, func(o *ops.Options) { o.Collectors = []prometheus.Collector{extra()} })
		if err := s.opts.Validate(); err != nil {
			t.Fatal(err)
		}
		body := do(t, s.h, "GET", "/metrics", "").Body.String()
		for _, want := range []string{"app_answer 42", "antifragile_bus_agents 1"} {
			if !containsLine(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
	for _, tc := range []struct {
		name       string
		collectors []prometheus.Collector
		fields     []string
		nilErr     bool
	}{
		{"refuses a nil collector", []prometheus.Collector{extra(), nil}, []string{"collectors[1]"}, true},
		{"refuses a typed-nil collector", []prometheus.Collector{(*prometheus.Registry)(nil)}, []string{"collectors[0]"}, true},
		{"refuses a collector whose series clash with another's", []prometheus.Collector{extra(), extra()}, []string{"collectors[1]"}, false},
		{"refuses a collector whose series clash with the toolkit's", []prometheus.Collector{
			prometheus.NewGauge(prometheus.GaugeOpts{Name: "antifragile_info", Help: "x"}),
		}, []string{"collectors[0]"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSystem(t, func(o *ops.Options) { o.Collectors = tc.collectors })
			err := s.opts.Validate()
			if got := antifragile.InvalidFields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %q, want %q (err %v)", got, tc.fields, err)
			}
			if errors.Is(err, antifragile.ErrNil) != tc.nilErr {
				t.Errorf("errors.Is(%v, ErrNil) = %v", err, !tc.nilErr)
			}
			rec := do(t, s.h, "GET", "/metrics", "")
			if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), tc.fields[0]) {
				t.Errorf("/metrics = %d %s, want 500 naming %s", rec.Code, rec.Body, tc.fields[0])
			}
		})
	}
}
