package health_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/health"
)

func TestConfig_Validate(t *testing.T) {
	t.Run("zero value is valid", func(t *testing.T) {
		if err := (health.Config{}).Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bounds are inclusive", func(t *testing.T) {
		cfgs := []health.Config{
			{DegradedThreshold: 1, CriticalThreshold: 1},
			{DegradedThreshold: 0.5, CriticalThreshold: 0.5},
			{DegradedThreshold: 0.3, CriticalThreshold: 0.1},
			{Hysteresis: 0.5},
			{MaxHistory: 1, CheckInterval: time.Nanosecond, CallbackQueue: 1},
			{Weights: map[string]float64{"a": 0.001, "b": 1e9}},
			{MinEventInterval: -1, TopOffenders: -1},
		}
		for _, cfg := range cfgs {
			if err := cfg.Validate(); err != nil {
				t.Errorf("%+v: %v", cfg, err)
			}
		}
	})
	tests := []struct {
		name  string
		cfg   health.Config
		field string
	}{
		{"negative history window", health.Config{HistoryWindow: -time.Second}, "history_window"},
		{"negative max history", health.Config{MaxHistory: -1}, "max_history"},
		{"negative check interval", health.Config{CheckInterval: -time.Second}, "check_interval"},
		{"degraded above 1", health.Config{DegradedThreshold: 1.1}, "degraded_threshold"},
		{"negative degraded", health.Config{DegradedThreshold: -0.1}, "degraded_threshold"},
		{"NaN degraded", health.Config{DegradedThreshold: math.NaN()}, "degraded_threshold"},
		{"critical above 1", health.Config{CriticalThreshold: 1.5}, "critical_threshold"},
		{"negative critical", health.Config{CriticalThreshold: -0.5}, "critical_threshold"},
		{"critical above degraded", health.Config{DegradedThreshold: 0.6, CriticalThreshold: 0.8}, "critical_threshold"},
		{"critical default above degraded", health.Config{DegradedThreshold: 0.4}, "critical_threshold"},
		{"negative hysteresis", health.Config{Hysteresis: -0.1}, "hysteresis"},
		{"hysteresis above 0.5", health.Config{Hysteresis: 0.6}, "hysteresis"},
		{"zero weight", health.Config{Weights: map[string]float64{"db": 0}}, `weights["db"]`},
		{"negative weight", health.Config{Weights: map[string]float64{"db": -1}}, `weights["db"]`},
		{"infinite weight", health.Config{Weights: map[string]float64{"db": math.Inf(1)}}, `weights["db"]`},
		{"NaN weight", health.Config{Weights: map[string]float64{"db": math.NaN()}}, `weights["db"]`},
		{"negative callback queue", health.Config{CallbackQueue: -1}, "callback_queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var ve *health.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", ve.Field, tt.field, err)
			}
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if _, err := health.New(tt.cfg, nil); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
	t.Run("reports every invalid field", func(t *testing.T) {
		err := health.Config{MaxHistory: -1, CheckInterval: -1, Hysteresis: 2}.Validate()
		fields := map[string]bool{}
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ve *health.ValidationError
			if errors.As(e, &ve) {
				fields[ve.Field] = true
			}
		}
		for _, f := range []string{"max_history", "check_interval", "hysteresis"} {
			if !fields[f] {
				t.Errorf("%s not reported in %v", f, err)
			}
		}
	})
	t.Run("refuses a wrong hash", func(t *testing.T) {
		cfg := health.Config{ConstitutionalHash: "deadbeefdeadbeef"}
		if err := cfg.Validate(); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Errorf("Validate() = %v, want ErrHashMismatch", err)
		}
		if _, err := health.New(cfg, nil); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Errorf("New() = %v, want ErrHashMismatch", err)
		}
	})
}

func TestNew(t *testing.T) {
	t.Run("applies the defaults", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, nil)
		got := agg.Config()
		want := health.Config{
			HistoryWindow:      5 * time.Minute,
			MaxHistory:         300,
			CheckInterval:      time.Second,
			DegradedThreshold:  0.7,
			CriticalThreshold:  0.5,
			MinEventInterval:   10 * time.Millisecond,
			CallbackQueue:      16,
			TopOffenders:       5,
			ConstitutionalHash: antifragile.ConstitutionalHash,
		}
		if got.HistoryWindow != want.HistoryWindow || got.MaxHistory != want.MaxHistory ||
			got.CheckInterval != want.CheckInterval || got.DegradedThreshold != want.DegradedThreshold ||
			got.CriticalThreshold != want.CriticalThreshold || got.MinEventInterval != want.MinEventInterval ||
			got.CallbackQueue != want.CallbackQueue || got.TopOffenders != want.TopOffenders ||
			got.ConstitutionalHash != want.ConstitutionalHash || got.Disabled || got.Hysteresis != 0 {
			t.Errorf("Config() = %+v, want %+v", got, want)
		}
	})
	t.Run("status is UNKNOWN before the first collection", func(t *testing.T) {
		agg := newAgg(t, health.Config{}, newRegistry(t))
		cur := agg.Current()
		if cur == nil || cur.Status != health.Unknown || !cur.Timestamp.IsZero() {
			t.Fatalf("Current() = %+v, want a non-nil UNKNOWN report", cur)
		}
		if cur.ConstitutionalHash != antifragile.ConstitutionalHash {
			t.Errorf("hash = %q", cur.ConstitutionalHash)
		}
		if m := agg.Metrics(); m.Status != health.Unknown || m.SnapshotsCollected != 0 || !m.Enabled || m.Running {
			t.Errorf("Metrics() = %+v", m)
		}
	})
}
