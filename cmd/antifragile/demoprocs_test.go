package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// requireNATSServer skips the test when nats-server is not on PATH, or
// fails it when the CI environment variable is set (CI installs it).
func requireNATSServer(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts processes")
	}
	if _, err := exec.LookPath("nats-server"); err != nil {
		msg := "nats-server not found on PATH; install it (apt-get install nats-server) to run this test"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " — CI is set, so a missing server is a failure, not a skip")
		}
		t.Skip(msg)
	}
}

// started records the processes a demo starts.
type started struct {
	mu    sync.Mutex
	names []string
	pids  []int
}

func (s *started) add(name string, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names, s.pids = append(s.names, name), append(s.pids, pid)
}

// checkGone fails the test for every process the demo started that is
// still there.
func (s *started) checkGone(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pids) == 0 {
		t.Fatal("the demo reported no process started")
	}
	for i, pid := range s.pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) outlived the demo", s.names[i], pid)
		}
	}
}

// cancelAt is an Out that cancels a context once the output contains a
// string.
type cancelAt struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	when   string
	cancel context.CancelFunc
}

func (c *cancelAt) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.when) {
		c.cancel()
	}
	return n, err
}

func (c *cancelAt) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// TestDemo_Processes: `demo -processes 3` on a real nats-server, the agent
// processes being this test binary re-executed as demo-agents. The game day
// passes; its process-kill phase kills demo-3, whose breaker opens and
// closes again once the restarted process serves; the cluster view shows
// the three instances live; messages crossed between the processes and
// every one is accounted for; every process the demo started is gone when
// it returns (and none reported a data race: an agent process that exited
// uncleanly is an error of the demo).
func TestDemo_Processes(t *testing.T) {
	requireNATSServer(t)
	reportPath := filepath.Join(t.TempDir(), "report.html")
	var out bytes.Buffer
	var procs started
	var view struct {
		Live      int `json:"live"`
		Instances []struct {
			Instance string `json:"instance"`
		} `json:"instances"`
	}
	res, err := playDemo(context.Background(), demoConfig{
		Addr: "127.0.0.1:0", Duration: 20 * time.Second, Report: reportPath, Seed: 9, Processes: 3,
		Out: &out, OnProcess: procs.add,
		Ready: func(url, _ string) { getJSON(t, url+"/cluster", &view) },
	})
	procs.checkGone(t)
	if err != nil {
		t.Fatalf("playDemo: %v\n%s", err, out.String())
	}
	if err := res.Err(); err != nil {
		t.Fatalf("verdict: %v\n%s", err, out.String())
	}
	if view.Live != 3 || len(view.Instances) != 3 {
		t.Errorf("GET /cluster once ready: %+v, want the three instances live", view)
	}
	if want := []string{"nats-server", "demo-2", "demo-3", "demo-3"}; !slices.Equal(procs.names, want) {
		t.Errorf("processes started: %v, want %v (demo-3 restarted)", procs.names, want)
	}
	i := slices.IndexFunc(res.Phases, func(p gameday.PhaseResult) bool { return p.Name == killPhaseName })
	if i != len(res.Phases)-2 {
		t.Fatalf("phases %+v: want %s before the last one", res.Phases, killPhaseName)
	}
	if kill := res.Phases[i]; !kill.Detected || !kill.Recovered {
		t.Errorf("phase %s: %+v", killPhaseName, kill)
	}
	checkAccount(t, res.Cluster, out.String())
	page, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Cluster demo</h2>", "Processes killed", "SIGKILL of process demo-3"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, want := range []string{"demo-1 (this process): proposer, deliberation", "demo-2 (pid ", "validator, executor",
		"policy_engine, auditor", "» SIGKILL of process demo-3 (policy_engine, auditor)", `cluster "demo" at the end`, "verdict: PASS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// checkAccount checks the cluster's account of a demo across three
// processes that passed.
func checkAccount(t *testing.T, c *gameday.ClusterResult, out string) {
	t.Helper()
	if c == nil || len(c.Instances) != 3 || len(c.Kills) != 1 {
		t.Fatalf("cluster account %+v\n%s", c, out)
	}
	for _, in := range c.Instances {
		if in.State != gameday.InstanceLive {
			t.Errorf("instance %s is %s at the end", in.Instance, in.State)
		}
	}
	if in := c.Instances[2]; in.Instance != "demo-3" || in.Starts != 2 || in.Received == 0 {
		t.Errorf("demo-3: %+v, want two runs that received messages", in)
	}
	if c.Crossed == 0 || c.Received == 0 || c.Received+c.Undelivered+c.Lost() != c.Crossed {
		t.Errorf("messages: %s", c.Accounting())
	}
	k := c.Kills[0]
	pe := slices.IndexFunc(k.Breakers, func(b gameday.KillBreaker) bool { return b.Breaker == "policy_engine" })
	if k.Instance != "demo-3" || pe < 0 || k.Restarted <= k.Killed || k.Served < k.Restarted {
		t.Fatalf("kill %+v", k)
	}
	if b := k.Breakers[pe]; b.Opened < k.Killed || b.Closed < k.Served {
		t.Errorf("policy_engine's breaker after the kill: %+v, want it opened after the kill and closed once the process served (%+v)", b, k)
	}
}

// getJSON decodes the JSON of GET url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Errorf("GET %s: %v", url, err)
	}
}

// TestDemo_ProcessesInterrupted: a demo across processes interrupted in its
// third phase still writes its report (interrupted, FAIL) and leaves no
// process behind.
func TestDemo_ProcessesInterrupted(t *testing.T) {
	requireNATSServer(t)
	reportPath := filepath.Join(t.TempDir(), "report.html")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelAt{when: "phase 3/", cancel: cancel}
	var procs started
	res, err := playDemo(ctx, demoConfig{Addr: "127.0.0.1:0", Duration: 20 * time.Second, Report: reportPath, Seed: 4, Processes: 3,
		Out: out, OnProcess: procs.add})
	procs.checkGone(t)
	if err != nil {
		t.Fatalf("playDemo: %v\n%s", err, out.String())
	}
	if !res.Interrupted || res.Verdict.Passed || res.Cluster == nil || len(res.Cluster.Instances) != 3 {
		t.Errorf("interrupted %v, verdict %+v, cluster %+v", res.Interrupted, res.Verdict, res.Cluster)
	}
	if _, err := os.Stat(reportPath); err != nil {
		t.Errorf("no report after the interruption: %v", err)
	}
	if !strings.Contains(out.String(), "verdict: FAIL") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestDemo_ProcessesWithoutNATS: without nats-server on PATH, demo
// -processes 3 says so and runs the single-process demo.
func TestDemo_ProcessesWithoutNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a game day")
	}
	t.Setenv("PATH", t.TempDir())
	r := cli(t, "demo", "-processes", "3", "-duration", "3s", "-seed", "3", "-addr", "127.0.0.1:0", "-report", filepath.Join(t.TempDir(), "r.html"))
	if r.code != 0 {
		t.Fatalf("demo: %v", r)
	}
	for _, want := range []string{"-processes 3 needs nats-server on PATH", "running the single-process demo instead", "verdict: PASS"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, killPhaseName) || strings.Contains(r.stdout, "demo-2") {
		t.Errorf("the single-process demo ran processes:\n%s", r.stdout)
	}
	_, err := playDemo(t.Context(), demoConfig{Addr: "127.0.0.1:0", Processes: 2})
	if !slices.Contains(antifragile.InvalidFields(err), "nats_server") {
		t.Errorf("playDemo across processes without nats-server: %v, want a validation error of nats_server", err)
	}
}

func TestDemo_ProcessesUsage(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"0", "7", "-1"} {
		if r := cli(t, "demo", "-processes", n, "-duration", "1s"); r.code != exitUsage || !strings.Contains(r.err.Error(), "-processes "+n) {
			t.Errorf("demo -processes %s: %v", n, r)
		}
	}
	_, err := playDemo(t.Context(), demoConfig{Addr: "127.0.0.1:0", Processes: 9})
	if !slices.Contains(antifragile.InvalidFields(err), "processes") {
		t.Errorf("playDemo with 9 processes: %v, want a validation error of processes", err)
	}
	for _, c := range []struct{ args, want string }{
		{"-processes 3 -kill 1", "-kill 1 must be within 2 and 3"},
		{"-processes 3 -kill 4", "-kill 4 must be within 2 and 3"},
		{"-kill 2", "needs -processes"},
	} {
		args := append([]string{"demo", "-duration", "1s"}, strings.Fields(c.args)...)
		if r := cli(t, args...); r.code != exitUsage || !strings.Contains(errString(r.err), c.want) {
			t.Errorf("demo %s: %v; want a usage error with %q", c.args, r, c.want)
		}
	}
	_, err = playDemo(t.Context(), demoConfig{Addr: "127.0.0.1:0", Processes: 3, Kill: 1})
	if !slices.Contains(antifragile.InvalidFields(err), "kill") {
		t.Errorf("playDemo killing demo-1: %v, want a validation error of kill", err)
	}
	d := &procDemo{pl: demoPlan{processes: 3, kill: 2}, procs: []*agentProcess{{instance: "demo-2"}, {instance: "demo-3"}}}
	if got := d.victim().instance; got != "demo-2" {
		t.Errorf("-kill 2 kills %s", got)
	}
	if pl, err := (demoConfig{Addr: "127.0.0.1:0", Processes: 3, NATSServer: "/bin/true", Executable: "/bin/true"}).plan(); err != nil || pl.kill != 3 {
		t.Errorf("the default victim: process %d (%v), want the last, 3", pl.kill, err)
	}
	if r := cli(t, "help"); strings.Contains(r.stdout, demoAgentsCommand) {
		t.Errorf("the command list shows the hidden %s:\n%s", demoAgentsCommand, r.stdout)
	}
	if r := cli(t, demoAgentsCommand, "-instance", "x"); r.code != exitUsage || !strings.Contains(r.err.Error(), "-nats") {
		t.Errorf("%s without -nats: %v", demoAgentsCommand, r)
	}
}

func TestDemoSplit(t *testing.T) {
	t.Parallel()
	got := demoSplit(3)
	want := [][]string{{"proposer", "deliberation"}, {"validator", "executor"}, {"policy_engine", "auditor"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("demoSplit(3) = %v, want %v", got, want)
	}
	if got := demoSplit(6); len(got) != 6 || len(got[5]) != 1 {
		t.Errorf("demoSplit(6) = %v, want one agent each", got)
	}
}

func TestWithKillPhase(t *testing.T) {
	t.Parallel()
	sc := scenario.Default()
	n := len(sc.Phases)
	got := withKillPhase(sc)
	if len(got.Phases) != n+1 || got.Phases[n-1].Name != killPhaseName || got.Phases[n].Name != "final-steady" || len(sc.Phases) != n {
		t.Errorf("phases %v: want %s inserted before final-steady, the scenario itself untouched", phaseNames(got), killPhaseName)
	}
	if again := withKillPhase(got); len(again.Phases) != n+1 {
		t.Errorf("a scenario with a %s phase got another: %v", killPhaseName, phaseNames(again))
	}
	last := &scenario.Scenario{Name: "x", Phases: []scenario.Phase{{Name: "a", Duration: time.Second, Expect: scenario.ExpectDegrade}}}
	if got := withKillPhase(last); len(got.Phases) != 2 || got.Phases[1].Name != killPhaseName {
		t.Errorf("phases %v: want %s at the end", phaseNames(got), killPhaseName)
	}
}

func phaseNames(sc *scenario.Scenario) []string {
	var out []string
	for _, p := range sc.Phases {
		out = append(out, p.Name)
	}
	return out
}
