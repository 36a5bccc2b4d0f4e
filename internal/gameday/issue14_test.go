package gameday_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/system"
)

// serveConfig runs the system of cfg behind a real ops server, as
// `antifragile serve` does, with no traffic, and returns a client of it.
func serveConfig(t *testing.T, cfg *system.Config) *client.Client {
	t.Helper()
	const token = "issue-14-token-of-32-characters!"
	cfg.Getenv = func(string) string { return token }
	cfg.Ops.Token = token
	sys, err := system.New(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- sys.Run(ctx) }()
	<-sys.Started()
	opts := sys.OpsOptions()
	opts.PingInterval = time.Second
	srv := httptest.NewServer(ops.Handler(opts))
	cl, err := client.New(client.Config{BaseURL: srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.CloseIdleConnections()
		srv.Close()
		stop()
		if err := <-ran; err != nil {
			t.Errorf("the system stopped with: %v", err)
		}
	})
	return cl
}

// TestIssue14_FalsePassIsInconclusive: the built-in game day against
// `serve -config examples/antifragile.json` (or the embedded defaults),
// whose services are not the agents the faults target and which has no
// traffic, is INCONCLUSIVE with its own exit status, not PASS — in the
// verdict, the summary and the report.
func TestIssue14_FalsePassIsInconclusive(t *testing.T) {
	t.Parallel()
	example, err := system.Load("../../examples/antifragile.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*system.Config{"examples/antifragile.json": example, "embedded defaults": system.Default()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg.Ops.Listen = "127.0.0.1:0"
			cl := serveConfig(t, cfg)
			sc, f := scenario.Default().Scaled(3 * time.Second)
			var progress bytes.Buffer
			res, err := gameday.Run(context.Background(), gameday.Config{Scenario: sc, Target: gameday.NewRemoteTarget(cl), Scale: f, Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			var sum bytes.Buffer
			_ = report.WriteSummary(&sum, res)
			if res.Verdict.Outcome != gameday.OutcomeInconclusive || res.Verdict.Passed {
				t.Fatalf("outcome %s, want INCONCLUSIVE\n%s", res.Verdict.Outcome, sum.String())
			}
			err = res.Err()
			var ve *gameday.VerdictError
			if !errors.As(err, &ve) || ve.ExitCode() != gameday.ExitInconclusive || !errors.Is(err, gameday.ErrInconclusive) || errors.Is(err, gameday.ErrFailed) {
				t.Errorf("Err() = %v, want an inconclusive *VerdictError (exit status %d)", err, gameday.ExitInconclusive)
			}
			all := strings.Join(res.Verdict.Inconclusive, "\n")
			for _, want := range []string{
				`phase "error-storm": fault "errors-policy-engine" hit nothing: "policy_engine" is not a service or agent of the system`,
				`phase "partition": fault "partition-validator" hit nothing: "validator" is not`,
				`phase "cpu-exhaustion": fault "cpu-burn" hit nothing: the system handled no message`,
				`phase "steady": no traffic`,
			} {
				if !strings.Contains(all, want) {
					t.Errorf("inconclusive findings lack %q:\n%s", want, all)
				}
			}
			// Under a loaded machine a short phase may have no observation
			// at all: that is inconclusive too.
			if !strings.Contains(all, `phase "final-steady": no traffic`) && !strings.Contains(all, `phase "final-steady": no observation`) {
				t.Errorf("final-steady is not inconclusive:\n%s", all)
			}
			for _, want := range []string{"verdict: INCONCLUSIVE", "INCONCLUSIVE: fault \"errors-policy-engine\" hit nothing"} {
				if !strings.Contains(sum.String(), want) {
					t.Errorf("summary lacks %q:\n%s", want, sum.String())
				}
			}
			if !strings.Contains(progress.String(), `! fault "errors-policy-engine": "policy_engine" is not a service or agent the system knows`) {
				t.Errorf("the progress does not warn of the unknown target:\n%s", progress.String())
			}
			var html bytes.Buffer
			if err := report.WriteReport(&html, res); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(html.String(), `<div class="badge">INCONCLUSIVE</div>`) || strings.Contains(html.String(), ">PASS<") {
				t.Error("the report does not show INCONCLUSIVE")
			}
		})
	}
}
