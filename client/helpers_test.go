package client_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

const token = "client-test-token"

// system is a real ops server over real components, closed at the end of
// the test.
type system struct {
	reg   *breaker.Registry
	agg   *health.Aggregator
	orch  *recovery.Orchestrator
	eng   *chaos.Engine
	meter *metering.Meter
	bus   *bus.Bus
	srv   *httptest.Server
}

func newSystem(t testing.TB, mod ...func(*ops.Options)) *system {
	t.Helper()
	s := &system{}
	var err error
	if s.reg, err = breaker.NewRegistry(breaker.RegistryConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db", "cache"} {
		if _, err := s.reg.GetOrCreate(name, breaker.Config{}); err != nil {
			t.Fatal(err)
		}
	}
	if s.agg, err = health.New(health.Config{}, s.reg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.agg.Close(context.Background()) })
	if s.orch, err = recovery.New(recovery.Config{}, s.reg); err != nil {
		t.Fatal(err)
	}
	if s.eng, err = chaos.New(chaos.Config{Seed: 1}, s.reg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.eng.Close(context.Background()) })
	if s.meter, err = metering.New(metering.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.meter.Close(context.Background()) })
	if s.bus, err = bus.New(bus.Config{Registry: s.reg, Chaos: s.eng, Meter: s.meter}); err != nil {
		t.Fatal(err)
	}
	if err := s.bus.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		return bus.Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	opts := ops.Options{Registry: s.reg, Health: s.agg, Recovery: s.orch, Chaos: s.eng, Meter: s.meter, Bus: s.bus, Token: token}
	for _, m := range mod {
		m(&opts)
	}
	s.srv = httptest.NewServer(ops.Handler(opts))
	t.Cleanup(s.srv.Close)
	return s
}

// client returns a client of s with the given token.
func (s *system) client(t testing.TB, tok string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: s.srv.URL, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}
