package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/opstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// childArgsEnv carries, as JSON, the arguments of a child process that runs
// the CLI itself (see startProcess): the test binary re-executed as
// antifragile.
const childArgsEnv = "ANTIFRAGILE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == demoAgentsCommand {
		main() // an agent process of a demo across processes: the test binary stands for antifragile
	}
	if args := os.Getenv(childArgsEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Args = append(os.Args[:1], argv...)
		main()
	}
	goleak.VerifyTestMain(m)
}

const cliToken = "cli-test-token-0123"

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
	sys := opstest.New(t, cliToken)
	s := &opsServer{
		reg: sys.Registry(), agg: sys.Health(), orch: sys.Recovery(), eng: sys.Chaos(),
		meter: sys.Meter(), bus: sys.Bus(), srv: sys.Serve(t),
	}
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
