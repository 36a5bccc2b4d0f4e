package client_test

import (
	"net/http/httptest"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/opstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

const token = "client-test-token-0123"

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
	sys := opstest.New(t, token, mod...)
	return &system{
		reg: sys.Registry(), agg: sys.Health(), orch: sys.Recovery(), eng: sys.Chaos(),
		meter: sys.Meter(), bus: sys.Bus(), srv: sys.Serve(t),
	}
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
