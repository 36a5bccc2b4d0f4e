//go:build unix

package antifragile_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadme_OperateIt runs the "Operate it" block of README.md as a user
// would paste it into a fresh shell in the repository's root: bash with a
// new HOME, GOBIN in a temporary directory (so the go install is the one
// that puts antifragile on PATH), no ANTIFRAGILE_* variable set but the
// address (a free loopback port), the build and module caches of this go.
// Every line must succeed (the script stops at the first that fails and
// names it), the antifragile found must be the one just installed, and the
// commands must have done what the README says they do. It builds the
// binary and runs a 20 s game day, so -short skips it.
func TestReadme_OperateIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a game day")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, headline := range []string{"```sh\ngo run ./cmd/antifragile demo\n```", "```sh\ngo test -race ./...\n```"} {
		if !bytes.Contains(readme, []byte(headline)) {
			t.Errorf("README.md lost its headline command %q", headline)
		}
	}
	block := operateBlock(t, string(readme))
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("the README's commands are for bash: %v", err)
	}
	preserve(t, "scenario.json", "gameday.html") // what the block writes into the current directory
	home := t.TempDir()
	gobin := filepath.Join(home, "bin")
	script := "set -eo pipefail\n" +
		`trap 'echo "README line failed with status $?: $BASH_COMMAND" >&2' ERR` + "\n" +
		`trap 'kill $(jobs -p) 2> /dev/null || true' EXIT` + "\n" + // a failed line leaves serve behind

		block +
		`test "$(command -v antifragile)" = "$GOBIN/antifragile"` + "\n" +
		"echo README-OK\n"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script)
	cmd.Env = readmeEnv(t, home, gobin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // serve runs in bash's group: one kill ends both
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // a process that keeps the output open does not hold Wait
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // nothing of it may outlive the test
	if err != nil || !strings.HasSuffix(out.String(), "README-OK\n") {
		t.Fatalf("the README's Operate it block failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"http://" + os.Getenv("ANTIFRAGILE_ADDR"), // serve's URL
		"HEALTHY", "injected latency_validator_100ms", "stopped latency_validator_100ms",
		"configuration reloaded: nothing changed", "verdict: PASS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(gobin, "antifragile")); err != nil {
		t.Errorf("go install did not put antifragile into GOBIN: %v", err)
	}
}

// operateBlock returns the first ```sh block of the README's "Operate it"
// section.
func operateBlock(t *testing.T, readme string) string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Operate it\n")
	if !ok {
		t.Fatal(`README.md has no "## Operate it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok || strings.TrimSpace(block) == "" {
		t.Fatal(`the "Operate it" section has no sh block`)
	}
	return block
}

// readmeEnv is a fresh shell's environment: PATH, a new HOME and GOBIN,
// this go's caches and toolchain with the network off, and
// ANTIFRAGILE_ADDR, set in the test's own environment too, on a free
// loopback port; no other ANTIFRAGILE_ variable.
func readmeEnv(t *testing.T, home, gobin string) []string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	t.Setenv("ANTIFRAGILE_ADDR", addr)
	env := []string{"HOME=" + home, "GOBIN=" + gobin, "PATH=" + os.Getenv("PATH"), "ANTIFRAGILE_ADDR=" + addr,
		"GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=" + os.Getenv("GOFLAGS"), "TMPDIR=" + t.TempDir()}
	out, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, name := range []string{"GOPATH", "GOMODCACHE", "GOCACHE"} {
		if i < len(vals) {
			env = append(env, name+"="+vals[i])
		}
	}
	return env
}

// preserve saves the files of the current directory named names and, when
// the test ends, removes what the test wrote in their place and puts the
// saved ones back.
func preserve(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		info, err := os.Stat(name)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		var data []byte
		if err == nil {
			if data, err = os.ReadFile(name); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			_ = os.Remove(name)
			if info != nil {
				if err := os.WriteFile(name, data, info.Mode().Perm()); err != nil {
					t.Errorf("restoring %s: %v", name, err)
				}
			}
		})
	}
}
