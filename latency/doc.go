// Package latency is a histogram of durations with fixed buckets, cheap
// enough for a hot path: an observation is two atomic adds, takes no lock and
// allocates nothing, and a snapshot is a plain array copy.
//
// The bucket bounds are the same for every histogram (see Bounds): 10 µs to
// 10 s in steps of 1, 2.5 and 5 per decade, plus an overflow bucket. One
// fixed set lets the histograms of many breakers or agents be added up and
// exported without configuration. The bus times its messages with one, and
// a breaker whose calls are timed (a slow-call rule or a time window) times
// them with one; the Prometheus collector (package promexport) exposes both.
//
//	var h latency.Histogram // the zero value is ready
//	start := time.Now()
//	call()
//	h.Observe(time.Since(start))
//	s := h.Snapshot()
//	fmt.Println(s.Count(), s.Sum)
package latency
