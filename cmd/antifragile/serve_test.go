package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/servertest"
	"github.com/antifragile-go/antifragile/system"
)

// TestRun_ServePrintConfig: serve -print-config prints the configuration
// in force — every default written out, what the file and the flags set
// kept, the tokens masked — and a document that parses back to itself.
func TestRun_ServePrintConfig(t *testing.T) {
	t.Run("the embedded defaults", func(t *testing.T) {
		r := cli(t, "serve", "-print-config")
		if r.code != 0 {
			t.Fatal(r)
		}
		for _, want := range []string{`"listen": "127.0.0.1:8080"`, `"read_header_timeout": "10s"`, `"idle_timeout": "2m0s"`,
			`"max_body_bytes": 1048576`, `"open_timeout": "30s"`, `"check_interval": "1s"`, `"max_duration": "5m0s"`,
			`"flush_interval": "1s"`, `"mailbox_size": 1024`, `"max_windows": 1440`, `"initial_delay": "1s"`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("lacks %s:\n%s", want, r.stdout)
			}
		}
		var back system.Config
		if err := json.Unmarshal([]byte(r.stdout), &back); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(system.Default().Effective())
		if got, _ := json.Marshal(&back); string(got) != string(want) {
			t.Errorf("printed\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("a file and flags, secrets masked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.json")
		doc := `{"ops":{"read_token":"read-token-0123456789"},"chaos":{"max_duration":"2m","strict_targets":true},"metering":{"sink":"redis://u:pw@127.0.0.1:6379/0"}}`
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "serve", "-print-config", "-config", path, "-listen", "127.0.0.1:0", "-token", "a-token-long-enough-123")
		if r.code != 0 {
			t.Fatal(r)
		}
		for _, want := range []string{`"listen": "127.0.0.1:0"`, `"token": "xxxxx"`, `"read_token": "xxxxx"`, `"max_duration": "2m0s"`,
			`"strict_targets": true`, `"stream": "antifragile:metering:events"`, `"sink": "redis://u:xxxxx@127.0.0.1:6379/0"`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("lacks %s:\n%s", want, r.stdout)
			}
		}
		for _, secret := range []string{"a-token-long-enough-123", "read-token-0123456789", ":pw@"} {
			if strings.Contains(r.stdout, secret) {
				t.Errorf("prints the secret %q", secret)
			}
		}
	})
}

// TestRun_ServeConfigSources: serve reads a YAML file, then the
// ANTIFRAGILE_* overrides, then its flags, each winning over the one before;
// a bad override is a usage error naming the variable.
func TestRun_ServeConfigSources(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	doc := "ops:\n  listen: 127.0.0.1:7001\nchaos:\n  max_duration: 2m\n  stop_on_critical: false\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ANTIFRAGILE_LISTEN", "127.0.0.1:7002")
	t.Setenv("ANTIFRAGILE_STOP_ON_CRITICAL", "on")
	r := cli(t, "serve", "-print-config", "-config", path)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{`"listen": "127.0.0.1:7002"`, `"max_duration": "2m0s"`, `"stop_on_critical": true`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lacks %s:\n%s", want, r.stdout)
		}
	}
	if r := cli(t, "serve", "-print-config", "-config", path, "-listen", "127.0.0.1:7003"); !strings.Contains(r.stdout, `"listen": "127.0.0.1:7003"`) {
		t.Errorf("-listen does not win over the environment:\n%s", r.stdout)
	}
	t.Setenv("ANTIFRAGILE_STOP_ON_CRITICAL", "perhaps")
	r = cli(t, "serve", "-print-config", "-config", path)
	if r.code != exitUsage || r.err == nil || !strings.Contains(r.err.Error(), "$ANTIFRAGILE_STOP_ON_CRITICAL (chaos.stop_on_critical)") {
		t.Errorf("a bad override: exit %d, err %v", r.code, r.err)
	}
}

// TestRun_ServeSimulate: serve -simulate runs the six simulated agents on
// the bus with their traffic, so that a fault on one of them is known and
// hits calls; SIGTERM still shuts it down cleanly (exit status 0).
func TestRun_ServeSimulate(t *testing.T) {
	p := startProcess(t, "serve", "-listen", "127.0.0.1:0", "-token", cliToken, "-simulate")
	c, err := client.New(client.Config{BaseURL: p.url, Token: cliToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	servertest.Eventually(t, 20*time.Second, "traffic on the bus", func() bool {
		m, err := c.Bus(ctx)
		return err == nil && m.Delivered > 10
	})
	b, err := c.Breakers(ctx)
	if err != nil || b.Count != len(agentsim.Agents()) {
		t.Fatalf("breakers %+v, %v: want one per agent", b, err)
	}
	ans, err := c.Inject(ctx, []byte(`{"name":"p","type":"network_partition","target":"validator","duration":"2s"}`), client.InjectOptions{Strict: true})
	if err != nil || len(ans.Warnings) != 0 {
		t.Fatalf("strict inject on a simulated agent: %+v, %v", ans, err)
	}
	p.kill(syscall.SIGTERM)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("serve -simulate exited %d after SIGTERM", code)
	}
}
