package promexport

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/antifragile-go/antifragile/latency"
)

// writer sends constant metrics to the channel of a Collect.
type writer chan<- prometheus.Metric

// gauge sends the gauge d with value v and the label values labels.
func (w writer) gauge(d *prometheus.Desc, v float64, labels ...string) {
	w <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// counter sends the counter d with value v and the label values labels.
func (w writer) counter(d *prometheus.Desc, v uint64, labels ...string) {
	w <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// seconds sends the counter d of a total in seconds.
func (w writer) seconds(d *prometheus.Desc, v float64, labels ...string) {
	w <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// bounds are latency.Bounds in seconds, the histograms' upper bounds.
var bounds = func() [latency.Buckets]float64 {
	var out [latency.Buckets]float64
	for i, b := range latency.Bounds() {
		out[i] = b.Seconds()
	}
	return out
}()

// histogram sends the histogram d of the snapshot s: cumulative bucket
// counts, the count (which includes the overflow bucket) and the sum in
// seconds.
func (w writer) histogram(d *prometheus.Desc, s latency.Snapshot, labels ...string) {
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += s.Counts[i]
		buckets[b] = cum
	}
	w <- prometheus.MustNewConstHistogram(d, cum+s.Counts[latency.Buckets], s.Sum.Seconds(), buckets, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
