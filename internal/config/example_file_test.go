package config_test

import (
	"testing"

	"github.com/antifragile-go/antifragile/internal/config"
)

// TestExampleFile keeps the example configuration in examples/ valid.
func TestExampleFile(t *testing.T) {
	f, err := config.Load("../../examples/antifragile.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.BreakerConfig("payments"); got.FailureRate != 0.5 || got.MinimumCalls != 20 {
		t.Fatalf("payments breaker = %+v", got)
	}
}
