package health_test

import (
	"log/slog"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/logtest"
)

// TestAggregator_Logger: a status change is one line with the stable keys,
// Warn on CRITICAL; a collection that keeps the status logs nothing.
func TestAggregator_Logger(t *testing.T) {
	log, rec := logtest.New()
	a, err := health.New(health.Config{Logger: log}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(t.Context())
	src := newFake(breaker.Closed)
	if err := a.Register("db", src); err != nil {
		t.Fatal(err)
	}
	a.Collect()
	a.Collect() // unchanged: no line
	src.set(breaker.Open)
	a.Collect()
	got := rec.Find("health: status changed")
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2: %+v", len(got), got)
	}
	first, second := got[0], got[1]
	if first.Level != slog.LevelInfo || first.Str("status") != "HEALTHY" || first.Str("previous") != "UNKNOWN" || first.Attrs["score"].Float64() != 1 {
		t.Errorf("first line = %v %v", first.Level, first.Attrs)
	}
	if second.Level != slog.LevelWarn || second.Str("status") != "CRITICAL" || second.Str("previous") != "HEALTHY" || second.Attrs["score"].Float64() != 0 {
		t.Errorf("second line = %v %v", second.Level, second.Attrs)
	}
}
