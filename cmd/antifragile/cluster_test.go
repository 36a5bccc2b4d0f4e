package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
)

// process is the CLI running as a real OS process.
type process struct {
	cmd *exec.Cmd
	url string // what serve printed: its ops API
}

// startProcess runs `antifragile args...` as a child process (the test
// binary re-executed) and, for serve, waits for the URL it prints. The
// process is killed when the test ends.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(argv))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(func() { p.kill(syscall.SIGKILL); logFile.Close() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() {
		}
	}()
	select {
	case p.url = <-line:
	case <-time.After(30 * time.Second):
		t.Fatalf("%v printed no URL", args)
	}
	if !strings.HasPrefix(p.url, "http") {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("%v printed %q:\n%s", args, p.url, log)
	}
	return p
}

// kill signals the process and waits for it to exit.
func (p *process) kill(sig syscall.Signal) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	_ = p.cmd.Wait()
}

// clusterConfig writes the config file of one instance of the cluster on
// nats and returns its path.
func clusterConfig(t *testing.T, natsURL, instance string) string {
	t.Helper()
	doc := fmt.Sprintf(`{
  "ops": {"listen": "127.0.0.1:0", "token": %q},
  "cluster": {"url": %q, "name": "shop", "instance": %q, "labels": {"role": "api"},
              "heartbeat_interval": "100ms", "ttl": "600ms", "lease": "1s",
              "nats": {"reconnect_wait": "100ms", "ping_interval": "200ms"}}
}`, cliToken, natsURL, instance)
	path := filepath.Join(t.TempDir(), instance+".json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCluster_Processes: three `antifragile serve` processes in a cluster on
// a real nats-server. The lever pulled through one (with the CLI) stops
// chaos on all three, and all three acknowledge; an instance killed with
// SIGKILL is shown lost after the TTL and, restarted, boots stopped; with
// NATS killed the view is stale and every instance halts its own chaos by
// the dead-man switch, and all come back when NATS does.
func TestCluster_Processes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	nats := natstest.Start(t)
	names := []string{"api-1", "api-2", "api-3"}
	procs := make([]*process, len(names))
	for i, n := range names {
		procs[i] = startProcess(t, "serve", "-config", clusterConfig(t, nats.URL(), n), "-log-level", "debug")
	}
	clients := make([]*client.Client, len(procs))
	for i, p := range procs {
		c, err := client.New(client.Config{BaseURL: p.url, Token: cliToken})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		clients[i] = c
	}
	ctx := context.Background()
	view := func(c *client.Client) *cluster.View {
		v, err := c.Cluster(ctx)
		if err != nil {
			t.Fatalf("GET /cluster: %v", err)
		}
		return v
	}
	servertest.Eventually(t, 20*time.Second, "three live instances", func() bool { return view(clients[0]).Live == 3 })
	if r := cli(t, "cluster", "status", "-addr", procs[1].url); r.code != 0 || !strings.Contains(r.stdout, "3 live") {
		t.Fatalf("cluster status: %v", r)
	}

	// The lever, pulled on api-1 with the CLI, reaches all three.
	if r := cli(t, "cluster", "emergency-stop", "-by", "game-day-operator", "-addr", procs[0].url, "-token", cliToken); r.code != 0 || !strings.Contains(r.stdout, "LATCHED") {
		t.Fatalf("cluster emergency-stop: %v", r)
	}
	stopped := func(c *client.Client) bool {
		m, err := c.ChaosMetrics(ctx)
		return err == nil && m.EmergencyStop
	}
	servertest.Eventually(t, 20*time.Second, "all three stopped and acknowledged", func() bool {
		l, err := clients[2].ClusterLever(ctx)
		return err == nil && len(l.Acked) == 3 && stopped(clients[0]) && stopped(clients[1]) && stopped(clients[2])
	})
	if _, err := clients[1].InjectScenario(ctx, chaos.LatencyScenario("db", time.Millisecond, time.Minute)); err == nil {
		t.Fatal("api-2 accepted an injection under the cluster stop")
	}

	// api-3 dies; it is lost after the TTL, and restarted it boots stopped.
	procs[2].kill(syscall.SIGKILL)
	servertest.Eventually(t, 20*time.Second, "api-3 lost", func() bool { v := view(clients[0]); return v.Lost == 1 && v.Live == 2 })
	procs[2] = startProcess(t, "serve", "-config", clusterConfig(t, nats.URL(), "api-3"))
	c3, _ := client.New(client.Config{BaseURL: procs[2].url, Token: cliToken})
	defer c3.CloseIdleConnections()
	clients[2] = c3
	servertest.Eventually(t, 20*time.Second, "api-3 back, stopped", func() bool { return view(clients[0]).Live == 3 && stopped(c3) })

	if r := cli(t, "cluster", "reset", "-addr", procs[1].url, "-token", cliToken); r.code != 0 {
		t.Fatalf("cluster reset: %v", r)
	}
	servertest.Eventually(t, 20*time.Second, "all three reset", func() bool { return !stopped(clients[0]) && !stopped(clients[1]) && !stopped(clients[2]) })

	// NATS dies: the view is stale, and each instance halts its own chaos
	// after its lease; its API keeps answering.
	for _, c := range clients {
		if _, err := c.InjectScenario(ctx, chaos.LatencyScenario("db", time.Millisecond, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	nats.Kill()
	servertest.Eventually(t, 20*time.Second, "a stale view", func() bool { return view(clients[0]).Stale })
	servertest.Eventually(t, 20*time.Second, "every instance's chaos halted by the dead-man switch", func() bool {
		return stopped(clients[0]) && stopped(clients[1]) && stopped(clients[2])
	})
	nats.Restart()
	servertest.Eventually(t, 20*time.Second, "back: live view, the dead-man stops lifted", func() bool {
		v := view(clients[0])
		return !v.Stale && v.Live == 3 && !stopped(clients[0]) && !stopped(clients[1]) && !stopped(clients[2])
	})
	for _, p := range procs {
		p.kill(syscall.SIGTERM)
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("a serve process exited %d after SIGTERM", code)
		}
	}
}
