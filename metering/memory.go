package metering

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// Defaults of MemoryConfig.
const (
	DefaultMemoryWindow    = 60 * time.Second
	DefaultMemoryWindows   = 1440 // a day of one-minute windows
	DefaultMemoryMaxSeries = 10_000
)

// Upper bounds of a MemoryConfig, checked by NewMemorySink.
const (
	MaxMemoryWindows = 100_000
	MaxMemorySeries  = 1_000_000
)

// MemoryConfig configures a MemorySink. Its zero value is valid.
type MemoryConfig struct {
	// Window is the aggregation window; events are grouped by the window
	// their timestamp falls in, windows aligned to multiples of Window since
	// the zero time (so a minute window starts on the minute, UTC). 0 means
	// 60 s; negative or above MaxInterval (24 h) is invalid.
	Window time.Duration `json:"window,omitempty"`
	// MaxWindows is how many windows are kept; the oldest is evicted when a
	// newer one opens, and an event older than every kept window is counted
	// in MemoryMetrics.Late instead. 0 means 1440 (a day of minute windows);
	// negative or above MaxMemoryWindows (100,000) is invalid.
	MaxWindows int `json:"max_windows,omitempty"`
	// MaxSeries bounds the tenant × operation × tier series of one window;
	// events of a further series are counted in MemoryMetrics.Overflow. 0
	// means 10,000; negative or above MaxMemorySeries (1,000,000) is invalid.
	MaxSeries int `json:"max_series,omitempty"`
	// BillAll counts rejected and injected events in Count, Tokens, latency
	// and compliance like ok and error ones. By default they are only
	// counted in Usage.Rejected and Usage.Injected.
	BillAll bool `json:"bill_all,omitempty"`
}

// Usage is the aggregate of one series (tenant × operation × tier) over one
// window, or a tenant's lifetime total (Operation, Tier, Start and End
// empty).
type Usage struct {
	Tenant    string    `json:"tenant_id"`
	Operation Operation `json:"operation,omitempty"`
	Tier      Tier      `json:"tier,omitempty"`
	// Start and End bound the window: [Start, End), UTC.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Count is the number of billable events (ok and error; all with BillAll).
	Count int64 `json:"count"`
	// Tokens, LatencySum and LatencyMax are over the billable events.
	Tokens     int64         `json:"tokens"`
	LatencySum time.Duration `json:"latency_sum_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`
	// ComplianceMean is the mean compliance score of the billable events.
	ComplianceMean float64 `json:"compliance_mean"`
	// Errors counts billable events whose outcome is error.
	Errors int64 `json:"errors"`
	// Rejected and Injected count events a breaker rejected and events a
	// chaos experiment injected.
	Rejected int64 `json:"rejected"`
	Injected int64 `json:"injected"`
}

// MemoryMetrics describes a MemorySink's retained data and what it refused.
type MemoryMetrics struct {
	Windows  int    `json:"windows"`
	Series   int    `json:"series"`
	Tenants  int    `json:"tenants"`
	Events   uint64 `json:"events"`
	Late     uint64 `json:"late"`
	Overflow uint64 `json:"overflow"`
}

type seriesKey struct {
	tenant string
	op     Operation
	tier   Tier
}

type agg struct {
	count, tokens, errors, rejected, injected int64
	latSum, latMax                            time.Duration
	compSum                                   float64
	total                                     *agg // the tenant's lifetime total; nil for totals
}

func (a *agg) add(e *Event, billAll bool) {
	switch e.Outcome {
	case OutcomeRejected:
		a.rejected++
	case OutcomeInjected:
		a.injected++
	case OutcomeError:
		a.errors++
	}
	if billAll || e.Outcome.Billable() {
		a.count++
		a.tokens += max(e.Tokens, 0)
		lat := max(e.Latency, 0)
		a.latSum += lat
		a.latMax = max(a.latMax, lat)
		a.compSum += clamp01(e.Compliance)
	}
}

func (a *agg) usage(k seriesKey) Usage {
	u := Usage{
		Tenant: k.tenant, Operation: k.op, Tier: k.tier, Count: a.count, Tokens: a.tokens,
		LatencySum: a.latSum, LatencyMax: a.latMax, Errors: a.errors, Rejected: a.rejected, Injected: a.injected,
	}
	if a.count > 0 {
		u.ComplianceMean = a.compSum / float64(a.count)
	}
	return u
}

type window struct {
	start  time.Time
	series map[seriesKey]*agg
}

// MemorySink is the embedded default Sink: it aggregates events per tenant ×
// operation × tier per window, in bounded memory, and keeps each tenant's
// lifetime totals. Write never fails. All methods are safe for concurrent
// use; none blocks beyond a short mutex hold.
type MemorySink struct {
	cfg MemoryConfig

	mu       sync.Mutex
	windows  map[time.Time]*window // guarded by mu
	order    []time.Time           // guarded by mu; window starts, ascending
	totals   map[string]*agg       // guarded by mu
	events   uint64                // guarded by mu
	late     uint64                // guarded by mu
	overflow uint64                // guarded by mu
}

var _ Sink = (*MemorySink)(nil)

// NewMemorySink returns an empty MemorySink, or the *ValidationError(s) of
// cfg.
func NewMemorySink(cfg MemoryConfig) (*MemorySink, error) {
	var errs []error
	if cfg.Window < 0 {
		errs = append(errs, antifragile.Invalid("window", cfg.Window, "must not be negative"))
	}
	if cfg.MaxWindows < 0 {
		errs = append(errs, antifragile.Invalid("max_windows", cfg.MaxWindows, "must not be negative"))
	}
	if cfg.MaxSeries < 0 {
		errs = append(errs, antifragile.Invalid("max_series", cfg.MaxSeries, "must not be negative"))
	}
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "window", cfg.Window, MaxInterval)
	antifragile.AtMost(&bounds, "max_windows", cfg.MaxWindows, MaxMemoryWindows)
	antifragile.AtMost(&bounds, "max_series", cfg.MaxSeries, MaxMemorySeries)
	errs = append(errs, bounds.Err())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultMemoryWindow
	}
	if cfg.MaxWindows == 0 {
		cfg.MaxWindows = DefaultMemoryWindows
	}
	if cfg.MaxSeries == 0 {
		cfg.MaxSeries = DefaultMemoryMaxSeries
	}
	return &MemorySink{
		cfg:     cfg,
		windows: make(map[time.Time]*window),
		totals:  make(map[string]*agg),
	}, nil
}

// Config returns the sink's configuration with defaults applied.
func (s *MemorySink) Config() MemoryConfig { return s.cfg }

// Write aggregates events. It ignores ctx, never fails, and is safe for
// concurrent use. Empty tenants and tiers count as "default" and
// "standard".
func (s *MemorySink) Write(_ context.Context, events []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		w         *window
		wEnd      time.Time
		lastKey   seriesKey
		last      *agg
		lateStart time.Time // a window start found too old in this batch
		knownLate bool
	)
	for i := range events {
		e := &events[i]
		if w == nil || e.Time.Before(w.start) || !e.Time.Before(wEnd) {
			start := e.Time.UTC().Truncate(s.cfg.Window)
			if knownLate && start.Equal(lateStart) {
				s.late++
				continue
			}
			w, last = s.window(start), nil
			if w == nil {
				s.late++
				lateStart, knownLate = start, true
				continue
			}
			wEnd = w.start.Add(s.cfg.Window)
		}
		k := seriesKey{tenant: e.Tenant, op: e.Operation, tier: e.Tier}
		if k.tenant == "" {
			k.tenant = DefaultTenant
		}
		if k.tier == "" {
			k.tier = TierStandard
		}
		a := last
		if a == nil || k != lastKey {
			a = w.series[k]
			if a == nil {
				if len(w.series) >= s.cfg.MaxSeries {
					s.overflow++
					continue
				}
				t := s.totals[k.tenant]
				if t == nil {
					t = &agg{}
					s.totals[k.tenant] = t
				}
				a = &agg{total: t}
				w.series[k] = a
			}
			last, lastKey = a, k
		}
		a.add(e, s.cfg.BillAll)
		a.total.add(e, s.cfg.BillAll)
		s.events++
	}
	return nil
}

// window returns the window starting at start, opening it (and evicting the
// oldest) if needed; nil when start is older than every kept window and no
// room is left. s.mu is held.
func (s *MemorySink) window(start time.Time) *window {
	if w := s.windows[start]; w != nil {
		return w
	}
	i := sort.Search(len(s.order), func(i int) bool { return !s.order[i].Before(start) })
	if len(s.order) >= s.cfg.MaxWindows {
		if i == 0 {
			return nil
		}
		delete(s.windows, s.order[0])
		s.order = slices.Delete(s.order, 0, 1)
		i--
	}
	w := &window{start: start, series: make(map[seriesKey]*agg)}
	s.windows[start] = w
	s.order = slices.Insert(s.order, i, start)
	return w
}

// Usage returns the aggregates of tenant (every tenant when empty) for the
// kept windows starting in [from, to), ordered by window start, tenant,
// operation and tier. A zero from or to leaves that side open. The result is
// a new slice.
func (s *MemorySink) Usage(tenant string, from, to time.Time) []Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	if !from.IsZero() {
		i = sort.Search(len(s.order), func(i int) bool { return !s.order[i].Before(from) })
	}
	var out []Usage
	for ; i < len(s.order); i++ {
		start := s.order[i]
		if !to.IsZero() && !start.Before(to) {
			break
		}
		n := len(out)
		for k, a := range s.windows[start].series {
			if tenant != "" && k.tenant != tenant {
				continue
			}
			u := a.usage(k)
			u.Start, u.End = start, start.Add(s.cfg.Window)
			out = append(out, u)
		}
		slices.SortFunc(out[n:], func(a, b Usage) int {
			return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Tier, b.Tier))
		})
	}
	return out
}

// Total returns tenant's lifetime totals (since the sink was created; not
// limited to the kept windows) and whether the tenant was seen. An empty
// tenant means "default".
func (s *MemorySink) Total(tenant string) (Usage, bool) {
	if tenant == "" {
		tenant = DefaultTenant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.totals[tenant]
	if a == nil {
		return Usage{Tenant: tenant}, false
	}
	return a.usage(seriesKey{tenant: tenant}), true
}

// Totals returns every tenant's lifetime totals, ordered by tenant. It costs
// one entry per tenant, whatever the number of windows.
func (s *MemorySink) Totals() []Usage {
	s.mu.Lock()
	out := make([]Usage, 0, len(s.totals))
	for t, a := range s.totals {
		out = append(out, a.usage(seriesKey{tenant: t}))
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Usage) int { return cmp.Compare(a.Tenant, b.Tenant) })
	return out
}

// Metrics returns the sink's counters.
func (s *MemorySink) Metrics() MemoryMetrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := MemoryMetrics{Windows: len(s.order), Tenants: len(s.totals), Events: s.events, Late: s.late, Overflow: s.overflow}
	for _, w := range s.windows {
		st.Series += len(w.series)
	}
	return st
}

// plainMemoryConfig is MemoryConfig without its JSON methods, for the codec.
type plainMemoryConfig MemoryConfig

// MarshalJSON writes the MemoryConfig's JSON form, durations as strings such as
// "30s".
func (c MemoryConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainMemoryConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *MemoryConfig) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainMemoryConfig)(c)) }
