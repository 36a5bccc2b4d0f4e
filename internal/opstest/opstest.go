package opstest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/system"
)

// System is a system.System with the breakers "db" and "cache", a chaos
// engine seeded with 1 (a 1 MiB memory cap, disk I/O in a temp dir) and a
// bus with the agent "validator" that replies "ok". Nothing runs until the
// test starts it.
type System struct {
	*system.System
	// Options are the system's ops options, with the token, as mod has
	// adjusted them.
	Options ops.Options
}

// ReloadedMaxDelay is the chaos engine's max_delay after a reload of a
// System that New built (the only setting its Source changes).
const ReloadedMaxDelay = 7 * time.Second

// New builds a System whose ops options carry token; mod may adjust the
// options. The system is closed when the test ends.
func New(t testing.TB, token string, mod ...func(*ops.Options)) *System {
	t.Helper()
	var cfg system.Config
	cfg.Ops.Token = token
	cfg.Breakers.Named = map[string]breaker.Config{"db": {}, "cache": {}}
	cfg.Chaos.Engine = chaos.Config{Seed: 1, MemoryCap: 1 << 20, DiskIO: chaos.DiskIOConfig{Dir: t.TempDir()}}
	// The configuration POST /config/reload re-reads: the same, with the
	// chaos engine's max_delay at ReloadedMaxDelay.
	cfg.Source = func() (*system.Config, error) {
		next := cfg.Clone()
		next.Chaos.Engine.MaxDelay = ReloadedMaxDelay
		return next, nil
	}
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	if err := sys.Bus().Register("validator", func(context.Context, bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: "ok"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	s := &System{System: sys, Options: sys.OpsOptions()}
	// The tokens as plain options, for mod to change (the system's live
	// Tokens holder is the same token).
	s.Options.Tokens, s.Options.Token = nil, token
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
