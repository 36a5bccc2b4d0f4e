package system_test

import (
	"context"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/logtest"
	"github.com/antifragile-go/antifragile/system"
)

// TestNew_Logger: Config.Logger reaches the components whose own Logger is
// nil (the breaker registry, health, chaos, the bus), and a component's own Logger
// is kept.
func TestNew_Logger(t *testing.T) {
	log, rec := logtest.New()
	own, ownRec := logtest.New()
	cfg := *system.Default()
	cfg.Logger = log
	cfg.Bus.Logger = own
	sys := newSystem(t, cfg)

	b, err := sys.Registry().GetOrCreate("db", breaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b.ForceOpen()
	sys.Health().Collect()
	if _, err := sys.Chaos().InjectLatency("db", time.Millisecond, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sys.Bus().Register("agent", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil }); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"breaker: state changed", "health: status changed", "chaos: scenario started"} {
		if len(rec.Find(msg)) != 1 {
			t.Errorf("the system's logger has no %q line: %+v", msg, rec.Records())
		}
	}
	if len(ownRec.Find("bus: agent registered")) != 1 || len(rec.Find("bus: agent registered")) != 0 {
		t.Errorf("the bus's own Logger was not kept: system %+v, own %+v", rec.Records(), ownRec.Records())
	}
}
