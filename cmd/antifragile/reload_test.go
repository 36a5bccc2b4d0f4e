package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/servertest"
)

// TestRun_ServeReload runs serve as a real process: SIGHUP and `antifragile
// reload` re-read the file (keeping the command line's -listen and -token)
// and apply the breaker change live, list the restart-only change, and
// refuse an invalid file with every problem while the process keeps
// serving with the last good configuration.
func TestRun_ServeReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	writeDoc := func(doc string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeDoc("breakers:\n  named:\n    db:\n      consecutive_failures: 3\n")
	p := startProcess(t, "serve", "-config", path, "-listen", "127.0.0.1:0", "-token", cliToken)
	c, err := client.New(client.Config{BaseURL: p.url, Token: cliToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	rules := func() []string {
		b, err := c.Breakers(ctx)
		if err != nil {
			return nil
		}
		for _, s := range b.Breakers {
			if s.Name == "db" {
				return s.Rules
			}
		}
		return nil
	}
	if got := rules(); !slices.Equal(got, []string{"3 consecutive failures"}) {
		t.Fatalf("rules at start: %q", got)
	}

	writeDoc("breakers:\n  named:\n    db:\n      consecutive_failures: 7\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, 20*time.Second, "the SIGHUP reload", func() bool { return slices.Equal(rules(), []string{"7 consecutive failures"}) })

	writeDoc("breakers:\n  named:\n    db:\n      consecutive_failures: 9\nops:\n  idle_timeout: 1m\n")
	r := cli(t, "reload", "-addr", p.url, "-token", cliToken)
	if r.code != 0 || !strings.Contains(r.stdout, "breakers.named.db") || !strings.Contains(r.stdout, "need a restart") ||
		!strings.Contains(r.stdout, "ops.idle_timeout") {
		t.Fatalf("reload: exit %d, err %v\n%s", r.code, r.err, r.stdout)
	}
	if got := rules(); !slices.Equal(got, []string{"9 consecutive failures"}) {
		t.Fatalf("rules after antifragile reload: %q", got)
	}

	writeDoc("breakers:\n  named:\n    db:\n      failure_rate: 2\nchaos:\n  max_delay: -1s\n")
	r = cli(t, "reload", "-addr", p.url, "-token", cliToken)
	if r.code != exitRefused || r.err == nil {
		t.Fatalf("an invalid file: exit %d, err %v", r.code, r.err)
	}
	for _, f := range []string{"breakers.named.db.failure_rate", "chaos.max_delay"} {
		if !strings.Contains(r.err.Error(), f) {
			t.Errorf("the refusal does not name %s: %v", f, r.err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil { // refused too; the process keeps serving
		t.Fatal(err)
	}
	if got := rules(); !slices.Equal(got, []string{"9 consecutive failures"}) {
		t.Fatalf("rules after refused reloads: %q", got)
	}
	if r := cli(t, "reload", "-addr", p.url, "-token", "wrong-token-0000000000"); r.code != exitRefused {
		t.Fatalf("reload with a wrong token: exit %d", r.code)
	}
	p.kill(syscall.SIGTERM)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM", code)
	}
}
