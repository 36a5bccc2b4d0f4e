package opstest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

// System is a registry with the breakers "db" and "cache", a health
// aggregator, a recovery orchestrator, a chaos engine (seed 1, a 1 MiB
// memory cap, disk I/O in a temp dir), a meter with its memory sink, and a
// bus with the agent "validator" that replies "ok". Nothing runs until the
// test starts it.
type System struct {
	Registry *breaker.Registry
	Health   *health.Aggregator
	Recovery *recovery.Orchestrator
	Chaos    *chaos.Engine
	Meter    *metering.Meter
	Bus      *bus.Bus
	// Options are the ops options over every component, with the token.
	Options ops.Options
}

// New builds a System whose ops options carry token; mod may adjust the
// options. Everything that holds resources is closed when the test ends.
func New(t testing.TB, token string, mod ...func(*ops.Options)) *System {
	t.Helper()
	s := &System{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	s.Registry, err = breaker.NewRegistry(breaker.RegistryConfig{})
	must(err)
	for _, name := range []string{"db", "cache"} {
		_, err := s.Registry.GetOrCreate(name, breaker.Config{})
		must(err)
	}
	s.Health, err = health.New(health.Config{}, s.Registry)
	must(err)
	t.Cleanup(func() { _ = s.Health.Close(context.Background()) })
	s.Recovery, err = recovery.New(recovery.Config{}, s.Registry)
	must(err)
	s.Chaos, err = chaos.New(chaos.Config{Seed: 1, MemoryCap: 1 << 20, DiskIO: chaos.DiskIOConfig{Dir: t.TempDir()}}, s.Registry)
	must(err)
	t.Cleanup(func() { _ = s.Chaos.Close(context.Background()) })
	s.Meter, err = metering.New(metering.Config{})
	must(err)
	t.Cleanup(func() { _ = s.Meter.Close(context.Background()) })
	s.Bus, err = bus.New(bus.Config{Registry: s.Registry, Chaos: s.Chaos, Meter: s.Meter})
	must(err)
	must(s.Bus.Register("validator", func(context.Context, bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: "ok"}, nil
	}))
	s.Options = ops.Options{
		Registry: s.Registry, Health: s.Health, Recovery: s.Recovery, Chaos: s.Chaos,
		Meter: s.Meter, Bus: s.Bus, Token: token,
	}
	for _, m := range mod {
		m(&s.Options)
	}
	return s
}

// Serve starts an httptest server over ops.Handler(s.Options), closed when
// the test ends.
func (s *System) Serve(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(ops.Handler(s.Options))
	t.Cleanup(srv.Close)
	return srv
}
