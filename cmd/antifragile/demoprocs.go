package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// killPhaseName names the phase of a demo across processes that kills an
// agent process and restarts it.
const killPhaseName = "process-kill"

// killPhaseDuration is the process-kill phase's length before scaling: the
// process is down for a third of it, and its breaker closes within the
// rest.
const killPhaseDuration = 9 * time.Second

// withKillPhase returns sc with a process-kill phase (expect degrade)
// before its last phase when that one expects steady, else at its end —
// unless sc has a phase of that name already, which is where the kill
// happens then.
func withKillPhase(sc *scenario.Scenario) *scenario.Scenario {
	if slices.ContainsFunc(sc.Phases, func(p scenario.Phase) bool { return p.Name == killPhaseName }) {
		return sc
	}
	out := *sc
	at := len(sc.Phases)
	if at > 1 && sc.Phases[at-1].Expect == scenario.ExpectSteady {
		at--
	}
	out.Phases = slices.Insert(slices.Clone(sc.Phases), at, scenario.Phase{Name: killPhaseName, Duration: killPhaseDuration, Expect: scenario.ExpectDegrade})
	return &out
}

// procDemo is the running demo across processes: the nats-server, this
// process (demo-1: the daemon, its simulation sending the traffic and its
// transport) and the agent processes. It owns them until stop.
type procDemo struct {
	ctx       context.Context // the demo's: a kill is not undone after it ended
	pl        demoPlan
	split     [][]string // the agents of each process, demo-1 first
	killPhase int        // the index of the process-kill phase

	nats   *natsServer
	tr     *busnats.Transport
	srv    *demoServer
	procs  []*agentProcess // demo-2 …
	target *clusterTarget

	mu    sync.Mutex
	kills []*killRecord // guarded by mu
}

// killRecord is one kill of an agent process.
type killRecord struct {
	proc     *agentProcess
	fault    string
	killedAt time.Time

	mu        sync.Mutex
	restarted time.Time // guarded by mu: zero until the restart
	run       *childRun // guarded by mu: the restarted run
}

// playProcesses is playDemo across pl.processes OS processes: it starts a
// nats-server on a free port, runs this process as demo-1 (the ops API,
// the traffic, the game day) and the other agents in processes of
// pl.exe's demo-agents, all in the cluster "demo", runs the game day with
// its process-kill phase, writes the results and stops every process it
// started, whatever happens.
func playProcesses(ctx context.Context, cfg demoConfig, pl demoPlan) (*gameday.Result, error) {
	d, err := startProcDemo(ctx, cfg, pl)
	if err != nil {
		return nil, err
	}
	url := d.srv.d.URL()
	pl.printBanner(url)
	d.printProcesses()
	if cfg.Ready != nil {
		cfg.Ready(url, pl.token)
	}
	d.srv.startTraffic(ctx)
	res, err := gameday.Run(ctx, gameday.Config{
		Scenario: pl.scenario, Target: d.target, Progress: pl.out, Terminal: cfg.Terminal,
		Description: fmt.Sprintf("%d processes on a local nats-server (cluster %q), ops API at %s", pl.processes, demoClusterName, url),
		Seed:        pl.seed, Scale: pl.scale, OnPhase: d.onPhase, Cluster: d.account,
		Traffic: fmt.Sprintf("simulated: %g msg/s for %s, sent by %s", pl.scenario.Traffic.Rate, strings.Join(pl.scenario.Traffic.Tenants, ", "), demoInstance(0)),
	})
	if err != nil {
		return nil, errors.Join(append([]error{err}, d.stop()...)...)
	}
	errs := pl.writeResults(res)
	if cfg.KeepRunning && ctx.Err() == nil {
		d.srv.startTraffic(ctx)
		fmt.Fprintf(pl.out, "still serving %s/ — press Ctrl-C to stop\n", url)
		<-ctx.Done()
	}
	errs = append(errs, d.stop()...)
	return res, errors.Join(errs...)
}

// startProcDemo starts the processes of a demo across processes and
// returns once every agent process serves its agents and the cluster view
// shows them (or a few seconds have passed). It stops what it started when
// something fails.
func startProcDemo(ctx context.Context, cfg demoConfig, pl demoPlan) (*procDemo, error) {
	d := &procDemo{ctx: ctx, pl: pl, split: demoSplit(pl.processes)}
	d.killPhase = slices.IndexFunc(pl.scenario.Phases, func(p scenario.Phase) bool { return p.Name == killPhaseName })
	var err error
	if d.nats, err = startNATS(ctx, pl.natsServer); err != nil {
		return nil, err
	}
	if cfg.OnProcess != nil {
		cfg.OnProcess("nats-server", d.nats.cmd.Process.Pid)
	}
	if err = d.startSelf(ctx, cfg); err == nil {
		err = d.startAgents(ctx, cfg.OnProcess)
	}
	if err != nil {
		return nil, errors.Join(append([]error{err}, d.stop()...)...)
	}
	d.waitCluster(ctx)
	return d, nil
}

// startSelf runs this process as demo-1: its transport, the daemon with
// the simulation (demo-1's agents local, the others through the
// transport), its agents served, and the game day's target.
func (d *procDemo) startSelf(ctx context.Context, cfg demoConfig) error {
	self := demoInstance(0)
	tr, err := busnats.New(busnats.Config{URL: d.nats.url, Process: self, ReconnectWait: demoReconnectWait, PingInterval: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	d.tr = tr
	fc := demoConfigFile(d.pl.addr, d.pl.token, d.pl.seed, cfg.Dashboard)
	fc.Bus.Transport = tr
	demoCluster(fc, d.nats.url, self)
	sc := agentsim.ScenarioConfig(d.pl.scenario, d.pl.scale, d.pl.seed)
	sc.Local, sc.Remote = d.split[0], tr
	if d.srv, err = startDemoServer(ctx, fc, sc); err != nil {
		return err
	}
	for _, a := range d.srv.sim.Local() {
		if err := tr.Serve(d.srv.d.System.Bus(), a); err != nil {
			return err
		}
	}
	owner := map[string]string{}
	for i, agents := range d.split {
		for _, a := range agents {
			owner[a] = demoInstance(i)
		}
	}
	d.target = &clusterTarget{LocalTarget: d.srv.target, sys: d.srv.d.System, link: tr.Link, self: self, owner: owner,
		remote: make(chan gameday.Event, 1024), fleet: map[string]bool{}}
	return nil
}

// startAgents starts the agent processes (demo-2 …) and waits until each
// serves its agents.
func (d *procDemo) startAgents(ctx context.Context, onProcess func(string, int)) error {
	sc := d.pl.scenario
	for i := 1; i < len(d.split); i++ {
		p := &agentProcess{instance: demoInstance(i), agents: d.split[i], exe: d.pl.exe, args: []string{demoAgentsCommand,
			"-nats", d.nats.url, "-instance", demoInstance(i), "-agents", strings.Join(d.split[i], ","),
			"-seed", strconv.FormatUint(d.pl.seed, 10), "-scale", strconv.FormatFloat(d.pl.scale, 'g', -1, 64),
			"-topology", cmpOr(sc.Traffic.Topology, scenario.TopologyFlow), "-fallback=" + strconv.FormatBool(sc.Traffic.Fallback)}}
		if onProcess != nil {
			p.started = func(pid int) { onProcess(p.instance, pid) }
		}
		p.event = func(ev breaker.Event) { d.target.remoteEvent(p.instance, ev) }
		if _, err := p.start(); err != nil {
			return err
		}
		d.procs = append(d.procs, p)
	}
	for _, p := range d.procs {
		if err := p.waitReady(ctx, p.current()); err != nil {
			return err
		}
	}
	return nil
}

func cmpOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// waitCluster waits, at most 10 s, until the cluster view shows every
// process live; it warns when it does not.
func (d *procDemo) waitCluster(ctx context.Context) {
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		v, err := d.srv.d.System.Cluster().View(ctx)
		if err == nil && v.Live == len(d.split) {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(d.pl.out, "warning: the cluster view does not show the %d processes live yet\n", len(d.split))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// printProcesses prints which process hosts which agents, and the NATS
// server.
func (d *procDemo) printProcesses() {
	out := d.pl.out
	for i, agents := range d.split {
		who := "this process"
		if i > 0 {
			who = "pid " + strconv.Itoa(d.procs[i-1].current().cmd.Process.Pid)
		}
		label := "processes"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(out, "  %-9s  %s (%s): %s\n", label, demoInstance(i), who, strings.Join(agents, ", "))
	}
	fmt.Fprintf(out, "  nats       %s (nats-server pid %d, cluster %q)\n", d.nats.url, d.nats.cmd.Process.Pid, demoClusterName)
	if d.killPhase >= 0 {
		fmt.Fprintf(out, "  kill       phase %q kills %s (SIGKILL) and restarts it after a third of the phase\n", killPhaseName, d.victim().instance)
	}
	fmt.Fprintln(out)
}

// stop stops everything the demo started, in order: the traffic, the agent
// processes (at the end of their stdin, killed if they do not stop), this
// process's transport, the daemon, nats-server. It returns what went
// wrong: an agent process that did not exit cleanly, the daemon's error.
func (d *procDemo) stop() []error {
	var errs []error
	if d.srv != nil {
		d.srv.haltTraffic()
	}
	var wg sync.WaitGroup
	perr := make([]error, len(d.procs))
	for i, p := range d.procs {
		wg.Go(func() { perr[i] = p.stop() })
	}
	wg.Wait()
	errs = append(errs, slices.DeleteFunc(perr, func(e error) bool { return e == nil })...)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), childStopTimeout)
	defer cancel()
	if d.tr != nil {
		_ = d.tr.Close(cctx)
	}
	if d.srv != nil {
		if err := d.srv.stop(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("gameday: the demo server: %w", err))
		}
	}
	if d.nats != nil {
		if err := d.nats.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// victim is the agent process the process-kill phase kills (-kill; the
// last by default).
func (d *procDemo) victim() *agentProcess { return d.procs[d.pl.kill-2] }

// onPhase is the game day's OnPhase: at the start of the process-kill
// phase it kills the chosen agent process with SIGKILL (after asking it for
// its counters) and returns the kill as a disruption of that process's
// agents, undone — the process started again — after a third of the
// phase.
func (d *procDemo) onPhase(ctx context.Context, i int) []gameday.Disruption {
	if i != d.killPhase || len(d.procs) == 0 {
		return nil
	}
	p := d.victim()
	rec := &killRecord{proc: p, fault: "kill-" + p.instance}
	dis := gameday.Disruption{
		Fault: chaos.Scenario{Name: rec.fault, Type: chaos.TypeCrash, Target: p.agents[0], BlastRadius: p.agents[1:],
			Duration: d.pl.scenario.Phases[i].Duration / 3},
		Description: fmt.Sprintf("SIGKILL of process %s (%s), down", p.instance, strings.Join(p.agents, ", ")),
		End:         func(context.Context) error { return d.restart(rec) },
	}
	p.refresh(ctx)
	rec.killedAt = time.Now()
	if dis.Err = p.kill(); dis.Err == nil {
		d.mu.Lock()
		d.kills = append(d.kills, rec)
		d.mu.Unlock()
	}
	return []gameday.Disruption{dis}
}

// restart starts the killed process of rec again, unless the demo is
// ending (an interruption); it does not wait for it to serve (its READY
// line says when it does).
func (d *procDemo) restart(rec *killRecord) error {
	if d.ctx.Err() != nil {
		return nil
	}
	r, err := rec.proc.start()
	if err != nil {
		return err
	}
	rec.mu.Lock()
	rec.restarted, rec.run = time.Now(), r
	rec.mu.Unlock()
	return nil
}

// account is the game day's Cluster hook: it stops the traffic (so that
// every message sent has ended), asks each agent process for its counters
// once what it was sent has arrived, and reads the cluster view, then
// returns the cluster's account of the game day.
func (d *procDemo) account(ctx context.Context, res *gameday.Result) *gameday.ClusterResult {
	d.srv.haltTraffic()
	_ = d.tr.Conn().FlushTimeout(time.Second)
	c := &gameday.ClusterResult{Name: demoClusterName}
	sys := d.srv.d.System
	self := statsOf(sys, d.tr)
	stats := []demoStats{self}
	starts := []int{1}
	for _, p := range d.procs {
		p.refresh(ctx)
		st, n, partial := p.totals()
		stats, starts = append(stats, st), append(starts, n)
		c.Partial = c.Partial || partial
	}
	view, err := sys.Cluster().View(ctx)
	if err != nil {
		c.ViewError = err.Error()
	}
	for i, st := range stats {
		in := gameday.ClusterInstance{Instance: demoInstance(i), Agents: d.split[i], State: gameday.InstanceAbsent, Starts: starts[i],
			Sent: st.Sent, Received: st.Received, Undelivered: st.Undelivered}
		fillInstance(&in, view)
		c.Instances = append(c.Instances, in)
		c.Crossed, c.Received, c.Undelivered, c.TimedOut = c.Crossed+st.Sent, c.Received+st.Received, c.Undelivered+st.Undelivered, c.TimedOut+st.TimedOut
	}
	c.Kills = d.killsOf(res)
	return c
}

// killsOf returns the kills of the game day, their times as offsets from
// its start.
func (d *procDemo) killsOf(res *gameday.Result) []gameday.ProcessKill {
	at := func(t time.Time) time.Duration {
		if t.IsZero() {
			return -1
		}
		return t.Round(0).Sub(res.Started)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []gameday.ProcessKill
	for _, rec := range d.kills {
		rec.mu.Lock()
		k := gameday.ProcessKill{Instance: rec.proc.instance, Agents: rec.proc.agents, Fault: rec.fault,
			Killed: at(rec.killedAt), Restarted: at(rec.restarted), Served: -1}
		if rec.run != nil {
			k.Served = at(rec.run.served())
		}
		rec.mu.Unlock()
		out = append(out, k)
	}
	return out
}

// fillInstance sets the state and health of in from its line in the
// cluster view v (nil when it could not be read).
func fillInstance(in *gameday.ClusterInstance, v *cluster.View) {
	if v == nil {
		return
	}
	for _, row := range v.Instances {
		if row.Instance != in.Instance {
			continue
		}
		switch {
		case row.Lost:
			in.State = gameday.InstanceLost
		case row.Stale:
			in.State = gameday.InstanceStale
		default:
			in.State = gameday.InstanceLive
		}
		in.Status, in.Score, in.Breakers, in.Heartbeats = row.Status, float64(row.Score), row.Breakers, row.Seq
		in.Open = append(slices.Clone(row.Open), row.Forced...)
		return
	}
}
