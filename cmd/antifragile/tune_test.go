package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/opstest"
	"github.com/antifragile-go/antifragile/internal/tune"
)

func TestTune(t *testing.T) {
	dir := t.TempDir()
	calm := filepath.Join(dir, "calm.json")
	doc := `{"name": "calm", "traffic": {"rate": 100}, "phases": [{"name": "steady", "duration": "500ms", "expect": "steady"}],
	  "objective": {"metric": "failed", "error_budget": 10}}`
	if err := os.WriteFile(calm, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("says when nothing is better, with the table and the report", func(t *testing.T) {
		var out, errOut bytes.Buffer
		report := filepath.Join(dir, "tune.json")
		err := run(context.Background(), []string{"tune", "-scenario", calm, "-seed", "5", "-knobs", "recovery.max_delay", "-report", report}, nil, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		for _, want := range []string{`tuning "calm"`, "minimise failed, at most 10 failed messages", "run  1  current", "run  4  recovery.max_delay=10s",
			"CURRENT", "PROPOSED", "failed messages", "no better setting found"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "config patch") {
			t.Errorf("a patch with nothing better:\n%s", out.String())
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Better bool              `json:"better"`
			Trials []json.RawMessage `json:"trials"`
			Patch  map[string]any    `json:"patch"`
		}
		if err := json.Unmarshal(b, &got); err != nil || got.Better || len(got.Trials) != 4 || len(got.Patch) != 0 {
			t.Errorf("report %s: %+v %v", b, got, err)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"tune", "-knobs", "nope"}, {"tune", "-duration", "-1s"}, {"tune", "extra"}, {"tune", "-scenario", filepath.Join(dir, "missing.json")}} {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), args, nil, &out, &errOut); exitCode(err) != exitUsage {
				t.Errorf("%v: exit %d (%v), want %d", args, exitCode(err), err, exitUsage)
			}
		}
	})
}

func TestTune_apply(t *testing.T) {
	s := startOpsServer(t)
	for _, a := range agentsim.Agents() {
		if _, err := s.reg.GetOrCreate(a, agentsim.BreakerConfig(1)); err != nil {
			t.Fatal(err)
		}
	}
	rf := remoteFlags{addr: s.url, token: cliToken, timeout: 5 * time.Second}
	var out bytes.Buffer
	t.Run("an unproven proposal is not sent", func(t *testing.T) {
		if err := applyTune(context.Background(), &rf, &tune.Outcome{Why: "no better setting found"}, agentsim.Agents(), &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "nothing applied") {
			t.Errorf("output %q", out.String())
		}
		if r := cli(t, "tune", "-ledger", "-addr", s.url); r.code != 0 || !strings.Contains(r.stdout, "empty") {
			t.Errorf("ledger: %v", r)
		}
	})
	t.Run("a proven one is applied to every agent and recorded", func(t *testing.T) {
		proven := &tune.Outcome{Better: true, Why: "breaker.open_timeout 2s → 1s: 22s → 18s",
			Changes: []tune.Change{{Setting: "breaker.open_timeout", From: "2s", To: "1s"}, {Setting: "recovery.initial_delay", From: "500ms", To: "250ms"}}}
		out.Reset()
		if err := applyTune(context.Background(), &rf, proven, agentsim.Agents(), &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "applied as ledger entry 1") {
			t.Errorf("output %q", out.String())
		}
		for _, a := range agentsim.Agents() {
			b, _ := s.reg.Get(a)
			if b.Config().OpenTimeout != time.Second || s.orch.Policy(a).InitialDelay != 250*time.Millisecond {
				t.Errorf("%s: open timeout %s, initial delay %s", a, b.Config().OpenTimeout, s.orch.Policy(a).InitialDelay)
			}
		}
		r := cli(t, "tune", "-ledger", "-addr", s.url)
		if r.code != 0 || !strings.Contains(r.stdout, "12 settings on proposer") || !strings.Contains(r.stdout, proven.Why) {
			t.Errorf("ledger:\n%v", r)
		}
	})
}

// TestTune_remote: `tune -remote` tunes a running server through a tuning
// trial — here a calm game day with nothing to improve, so it says so — and
// the server's settings are its own again afterwards.
func TestTune_remote(t *testing.T) {
	t.Setenv(envToken, "")
	sys := opstest.New(t, cliToken)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- sys.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	<-sys.Started()
	srv := sys.Serve(t)
	db, _ := sys.Registry().Get("db")
	before := db.Config()
	file := filepath.Join(t.TempDir(), "calm.json")
	if err := os.WriteFile(file, []byte(`{"name": "calm", "phases": [{"name": "steady", "duration": "600ms", "expect": "steady"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "tune", "-remote", "-addr", srv.URL, "-token", cliToken, "-scenario", file, "-knobs", "breaker.open_timeout",
		"-services", "db,cache", "-seed", "3", "-settle", "20s")
	if r.code != 0 {
		t.Fatalf("tune -remote:\n%v", r)
	}
	for _, want := range []string{"a trial of db, cache", "breaker.open_timeout=500ms", "no better setting found"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in:\n%s", want, r.stdout)
		}
	}
	tr := sys.Trial()
	if tr.Active || tr.Ended != "ended" || tr.Runs != 1+2+4 { // the opening trial, current twice, the four open timeouts (30s is none of them)
		t.Errorf("the trial after tune -remote: %+v", tr)
	}
	if got := db.Config(); got.OpenTimeout != before.OpenTimeout || got.ConsecutiveFailures != before.ConsecutiveFailures {
		t.Errorf("db breaker after tune -remote: %+v, want %+v", got, before)
	}
}

func TestTune_remoteUsage(t *testing.T) {
	t.Setenv(envToken, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tune", "-services", "db"}, "needs -remote"},
		{[]string{"tune", "-remote", "-addr", "127.0.0.1:1"}, "token is required"},
		{[]string{"tune", "-remote", "-settle", "0s", "-token", "x"}, "-settle"},
	} {
		r := cli(t, c.args...)
		if r.code != exitUsage || !strings.Contains(errString(r.err), c.want) {
			t.Errorf("%v: exit %d, %v; want a usage error naming %q", c.args, r.code, r.err, c.want)
		}
	}
}
