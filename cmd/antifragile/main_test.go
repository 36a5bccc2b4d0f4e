package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const cliToken = "cli-test-token"

// opsServer is a real ops API over real components, for the remote
// commands' tests.
type opsServer struct {
	reg   *breaker.Registry
	agg   *health.Aggregator
	orch  *recovery.Orchestrator
	eng   *chaos.Engine
	meter *metering.Meter
	bus   *bus.Bus
	srv   *httptest.Server
	url   string
}

func startOpsServer(t testing.TB) *opsServer {
	t.Helper()
	s := &opsServer{}
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
	s.srv = httptest.NewServer(ops.Handler(ops.Options{
		Registry: s.reg, Health: s.agg, Recovery: s.orch, Chaos: s.eng, Meter: s.meter, Bus: s.bus, Token: cliToken,
	}))
	t.Cleanup(s.srv.Close)
	s.url = s.srv.URL
	return s
}

// deadAddr returns the URL of a server that is no longer listening.
func deadAddr(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// result is what one run of the CLI did.
type result struct {
	stdout, stderr string
	err            error
	code           int
}

func (r result) String() string {
	return "exit " + string(rune('0'+r.code)) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr + "\nerr: " + errString(r.err)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// cli runs the CLI with args and no input.
func cli(t testing.TB, args ...string) result {
	t.Helper()
	return cliIn(t, context.Background(), strings.NewReader(""), args...)
}

func cliIn(t testing.TB, ctx context.Context, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, stdin, &out, &errb)
	return result{stdout: out.String(), stderr: errb.String(), err: err, code: exitCode(err)}
}
