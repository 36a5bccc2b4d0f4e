package tune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/backoff"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/recovery"
)

// Settings are what tuning changes: the configuration of the agents'
// breakers and the timings of their recovery policies (see
// agentsim.SimConfig). Durations are at the scenario's own scale.
type Settings struct {
	Breaker  breaker.Config  `json:"breaker"`
	Recovery recovery.Policy `json:"recovery"`
}

// Knob is one setting a search may change, with the values it tries.
type Knob struct {
	// Name is the setting's path in Settings' JSON form, such as
	// "breaker.open_timeout".
	Name string
	// Values are the candidates, in the setting's text form.
	Values []string
	get    func(Settings) string
	set    func(*Settings, string) error
}

// Get returns the knob's value in s.
func (k Knob) Get(s Settings) string { return k.get(s) }

// Set sets the knob's value in s, or reports why v is not one.
func (k Knob) Set(s *Settings, v string) error { return k.set(s, v) }

func durationKnob(name string, ptr func(*Settings) *time.Duration, values ...string) Knob {
	return Knob{Name: name, Values: values,
		get: func(s Settings) string { return ptr(&s).String() },
		set: func(s *Settings, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return antifragile.Invalid(name, v, "must be a positive duration")
			}
			*ptr(s) = d
			return nil
		}}
}

// DefaultKnobs are the settings the search tries by default: the trip
// rule's run of failures, the open timeout and its cap, the recovery
// strategy and its first and longest delays.
func DefaultKnobs() []Knob {
	return []Knob{
		{Name: "breaker.consecutive_failures", Values: []string{"3", "5", "10"},
			get: func(s Settings) string { return strconv.Itoa(s.Breaker.ConsecutiveFailures) },
			set: func(s *Settings, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return antifragile.Invalid("breaker.consecutive_failures", v, "must be a whole number ≥ 1")
				}
				s.Breaker.ConsecutiveFailures = n
				return nil
			}},
		durationKnob("breaker.open_timeout", func(s *Settings) *time.Duration { return &s.Breaker.OpenTimeout }, "500ms", "1s", "2s", "5s"),
		durationKnob("breaker.max_open_timeout", func(s *Settings) *time.Duration { return &s.Breaker.MaxOpenTimeout }, "2s", "8s", "30s"),
		{Name: "recovery.strategy", Values: []string{"exponential_backoff", "linear_backoff", "immediate"},
			get: func(s Settings) string { return s.Recovery.Strategy.String() },
			set: func(s *Settings, v string) error {
				st, err := backoff.Parse(v)
				if err != nil {
					return antifragile.Invalid("recovery.strategy", v, "%v", err)
				}
				s.Recovery.Strategy = st
				return nil
			}},
		durationKnob("recovery.initial_delay", func(s *Settings) *time.Duration { return &s.Recovery.InitialDelay }, "100ms", "250ms", "500ms", "1s", "2s"),
		durationKnob("recovery.max_delay", func(s *Settings) *time.Duration { return &s.Recovery.MaxDelay }, "1s", "4s", "10s"),
	}
}

// Metrics are the figures of one run that an objective may minimise.
type Metrics struct {
	// BelowMin is how long the status was below the steady-state minimum,
	// each observation's status holding until the next one.
	BelowMin time.Duration `json:"time_below_min"`
	// Failed counts the messages that failed.
	Failed uint64 `json:"failed"`
	// TimeToDetect is the mean over the phases whose faults were detected
	// (a fault in a phase expecting steady state often is not: nothing was
	// disturbed), Undetected how many were not. TimeToRecover is the mean
	// over the phases with faults, an unrecovered one counting the rest of
	// the game day from its faults' end.
	TimeToDetect  time.Duration `json:"time_to_detect"`
	Undetected    int           `json:"undetected"`
	TimeToRecover time.Duration `json:"time_to_recover"`
	// Verdict is the game day's outcome (PASS, FAIL, INCONCLUSIVE).
	Verdict string `json:"verdict"`
}

// Measure returns the metrics of a judged game day.
func Measure(r *gameday.Result) Metrics {
	m := Metrics{Verdict: r.Verdict.Outcome}
	min := r.Scenario.SteadyState.MinStatus
	for k, s := range r.Samples {
		if s.At > 0 && (s.Status == 0 || s.Status > min) { // UNKNOWN is 0, worse statuses are larger
			m.BelowMin += holds(r.Samples, k, r.SampleInterval)
		}
	}
	var detect, recover time.Duration
	n, detected := 0, 0
	for _, ph := range r.Phases {
		m.Failed += ph.Failed
		if !ph.Ran || !ph.HasFaults() {
			continue
		}
		n++
		if ph.Detected {
			detect += ph.TimeToDetect
			detected++
		} else {
			m.Undetected++
		}
		switch {
		case ph.Recovered:
			recover += ph.TimeToRecover
		case ph.FaultEnd >= 0:
			recover += r.Elapsed - ph.FaultEnd
		}
	}
	if detected > 0 {
		m.TimeToDetect = detect / time.Duration(detected)
	}
	if n > 0 {
		m.TimeToRecover = recover / time.Duration(n)
	}
	return m
}

// holds returns how long sample k's status held: until the next sample (an
// observation that came late stretches it, as the game day's judge counts
// it), or one interval for the last one.
func holds(samples []gameday.Sample, k int, interval time.Duration) time.Duration {
	if k+1 < len(samples) && samples[k+1].At > samples[k].At {
		return samples[k+1].At - samples[k].At
	}
	return interval
}

// Value returns the metric named metric (see scenario.Metrics) as a number:
// seconds for a duration.
func (m Metrics) Value(metric string) float64 {
	switch metric {
	case scenario.MetricFailed:
		return float64(m.Failed)
	case scenario.MetricTimeToRecover:
		return m.TimeToRecover.Seconds()
	case scenario.MetricTimeToDetect:
		return m.TimeToDetect.Seconds()
	}
	return m.BelowMin.Seconds()
}

// Runner runs the game day once with settings s and returns the judged
// result. Every run of a search uses the same seed.
type Runner func(ctx context.Context, s Settings) (*gameday.Result, error)

// Config configures a Search.
type Config struct {
	// Current are the settings in force, the search's starting point.
	Current Settings
	// Objective is what is minimised (the scenario's).
	Objective scenario.Objective
	// Knobs are the settings tried. nil means DefaultKnobs().
	Knobs []Knob
	// Run runs the game day. Required.
	Run Runner
	// MinGain is the least relative improvement that counts, beyond the
	// noise measured between two runs of the current settings. 0 means
	// 0.05 (5 %).
	MinGain float64
	// Progress, if set, receives a line per run.
	Progress io.Writer
}

// Trial is one run of the search.
type Trial struct {
	// Change is what differs from the settings the search stood on
	// ("breaker.open_timeout=1s"), or "current" / "proposed".
	Change   string   `json:"change"`
	Settings Settings `json:"settings"`
	Metrics  Metrics  `json:"metrics"`
	Value    float64  `json:"value"`
	// WithinBudget is false when the run failed more messages than the
	// objective's error budget allows.
	WithinBudget bool `json:"within_budget"`
}

// Change is one setting a proposal changes.
type Change struct {
	Setting string `json:"setting"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// Outcome is what a search found.
type Outcome struct {
	Objective scenario.Objective `json:"objective"`
	// Current and Proposed are the settings before and after; Before and
	// After their metrics (Before from the first run of the current
	// settings, After from the run confirming the proposal).
	Current  Settings `json:"current"`
	Proposed Settings `json:"proposed"`
	Before   Metrics  `json:"before"`
	After    Metrics  `json:"after"`
	// Noise is how far two runs of the current settings, same seed,
	// disagreed on the objective; Margin the least gain that counted.
	Noise  float64 `json:"noise"`
	Margin float64 `json:"margin"`
	// Better is true when the proposal beat the current settings by more
	// than Margin in its confirming run, within the error budget. When it
	// is false Proposed is Current, and Why says what was tried.
	Better  bool     `json:"better"`
	Why     string   `json:"why"`
	Changes []Change `json:"changes"`
	Trials  []Trial  `json:"trials"`
}

// Search runs the game day with the current settings twice (to measure the
// noise), then changes one knob at a time (coordinate descent, one pass
// over the knobs in order, keeping the best value of each that beats the
// best so far by more than the margin), then runs the best settings once
// more to confirm them. It blocks for every run; ctx ending stops it with
// ctx's error.
func Search(ctx context.Context, cfg Config) (*Outcome, error) {
	if cfg.Run == nil {
		return nil, antifragile.Invalid("run", nil, "is required")
	}
	if cfg.Knobs == nil {
		cfg.Knobs = DefaultKnobs()
	}
	if cfg.MinGain == 0 {
		cfg.MinGain = 0.05
	}
	if cfg.Objective.Metric == "" {
		cfg.Objective.Metric = scenario.MetricBelowMin
	}
	s := &search{cfg: cfg, out: &Outcome{Objective: cfg.Objective, Current: cfg.Current, Changes: []Change{}}}
	if err := s.baseline(ctx); err != nil {
		return nil, err
	}
	best, bestV := cfg.Current, s.base
	for _, k := range cfg.Knobs {
		next, v, err := s.tryKnob(ctx, k, best, bestV)
		if err != nil {
			return nil, err
		}
		best, bestV = next, v
	}
	return s.confirm(ctx, best)
}

// search is one Search's state.
type search struct {
	cfg  Config
	out  *Outcome
	base float64 // the objective of the current settings: the worse of its two runs
}

// run runs s once and records the trial.
func (se *search) run(ctx context.Context, change string, s Settings) (Trial, error) {
	res, err := se.cfg.Run(ctx, s)
	if err != nil {
		return Trial{}, fmt.Errorf("tune: run %d (%s): %w", len(se.out.Trials)+1, change, err)
	}
	m := Measure(res)
	b := se.cfg.Objective.ErrorBudget
	t := Trial{Change: change, Settings: s, Metrics: m, Value: m.Value(se.cfg.Objective.Metric), WithinBudget: b == 0 || m.Failed <= b}
	se.out.Trials = append(se.out.Trials, t)
	if w := se.cfg.Progress; w != nil {
		fmt.Fprintf(w, "run %2d  %-40s  %s %s  failed %d  %s\n", len(se.out.Trials), change, se.cfg.Objective.Metric,
			formatValue(se.cfg.Objective.Metric, t.Value), m.Failed, m.Verdict)
	}
	return t, nil
}

// baseline runs the current settings twice: the noise is how far apart
// they land, the base the worse of the two.
func (se *search) baseline(ctx context.Context) error {
	var vs []float64
	for range 2 {
		t, err := se.run(ctx, "current", se.cfg.Current)
		if err != nil {
			return err
		}
		vs = append(vs, t.Value)
	}
	se.out.Before = se.out.Trials[0].Metrics
	se.out.Noise = math.Abs(vs[0] - vs[1])
	se.base = max(vs[0], vs[1])
	se.out.Margin = max(se.out.Noise, se.cfg.MinGain*se.base)
	return nil
}

// tryKnob runs every other value of k on best and returns the settings
// with k's best value when it beats bestV by more than the margin.
func (se *search) tryKnob(ctx context.Context, k Knob, best Settings, bestV float64) (Settings, float64, error) {
	from := k.Get(best)
	next, nextV := best, bestV
	for _, v := range k.Values {
		if v == from {
			continue
		}
		cand := best
		if err := k.Set(&cand, v); err != nil {
			return best, bestV, err
		}
		t, err := se.run(ctx, k.Name+"="+v, cand)
		if err != nil {
			return best, bestV, err
		}
		if t.WithinBudget && t.Value < nextV && t.Value < bestV-se.out.Margin {
			next, nextV = cand, t.Value
		}
	}
	return next, nextV, nil
}

// confirm runs best once more and decides.
func (se *search) confirm(ctx context.Context, best Settings) (*Outcome, error) {
	out := se.out
	out.Proposed, out.After = out.Current, out.Before
	changes := diff(se.cfg.Knobs, out.Current, best)
	if len(changes) == 0 {
		out.Why = fmt.Sprintf("no better setting found: none of %d candidates beat the current settings by more than %s "+
			"(noise between two runs of the current settings: %s)", len(out.Trials)-2,
			formatValue(se.cfg.Objective.Metric, out.Margin), formatValue(se.cfg.Objective.Metric, out.Noise))
		return out, nil
	}
	t, err := se.run(ctx, "proposed", best)
	if err != nil {
		return nil, err
	}
	t.Change = "proposed"
	if !t.WithinBudget || t.Value >= se.base-out.Margin {
		out.Why = fmt.Sprintf("no better setting found: the best candidate (%s) gave %s in a confirming run, not better than %s by %s",
			changeText(changes), formatValue(se.cfg.Objective.Metric, t.Value), formatValue(se.cfg.Objective.Metric, se.base),
			formatValue(se.cfg.Objective.Metric, out.Margin))
		return out, nil
	}
	out.Better, out.Proposed, out.After, out.Changes = true, best, t.Metrics, changes
	out.Why = fmt.Sprintf("%s: %s → %s in the confirming run (same seed; noise %s)", changeText(changes),
		formatValue(se.cfg.Objective.Metric, se.base), formatValue(se.cfg.Objective.Metric, t.Value),
		formatValue(se.cfg.Objective.Metric, out.Noise))
	return out, nil
}

// diff lists the knobs whose value differs between a and b.
func diff(knobs []Knob, a, b Settings) []Change {
	var out []Change
	for _, k := range knobs {
		if from, to := k.Get(a), k.Get(b); from != to {
			out = append(out, Change{Setting: k.Name, From: from, To: to})
		}
	}
	return out
}

func changeText(cs []Change) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Setting+" "+c.From+" → "+c.To)
	}
	return strings.Join(parts, ", ")
}

// formatValue shows a value of metric m: seconds as a duration.
func formatValue(m string, v float64) string {
	if m == scenario.MetricFailed {
		return strconv.FormatFloat(v, 'f', -1, 64) + " messages"
	}
	return gameday.RoundDuration(time.Duration(v * float64(time.Second))).String()
}

// ErrNoKnobs is returned by Validate for an empty knob list.
var ErrNoKnobs = errors.New("tune: no knobs to try")

// Validate checks that every knob's values can be set on s.
func Validate(s Settings, knobs []Knob) error {
	if len(knobs) == 0 {
		return ErrNoKnobs
	}
	var p antifragile.Problems
	for _, k := range knobs {
		for _, v := range k.Values {
			c := s
			p.Add(k.Set(&c, v))
		}
		if slices.Contains(k.Values, "") {
			p.Invalid(k.Name, "", "has an empty value")
		}
	}
	return p.Err()
}
