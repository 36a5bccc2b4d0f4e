package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

// Bounds of the demo's agent processes.
const (
	childReadyTimeout = 30 * time.Second
	childStopTimeout  = 10 * time.Second
	childStatsTimeout = 2 * time.Second
)

// agentProcess is one agent process of the demo (demo-2 …): the binary
// running demo-agents for its agents. It can be killed and started again;
// every run is kept for its counters. Its methods are safe for concurrent
// use.
type agentProcess struct {
	instance string
	agents   []string
	exe      string
	args     []string
	started  func(pid int) // called with the pid of every run; nil means none
	// event, if set, is called with every breaker transition a run
	// reports, from the goroutine reading its output; it must not block.
	event func(breaker.Event)

	mu   sync.Mutex
	runs []*childRun // guarded by mu: every run, the current one last
}

// childRun is one run of an agent process. The goroutine reading its
// stdout owns it: it records READY and the stats lines, reaps the process
// at the end of its output and closes done.
type childRun struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	ready  chan struct{} // closed when the process printed demoReady
	stats  chan demoStats
	event  func(breaker.Event) // the process's event, fixed at start
	done   chan struct{}       // closed once the process exited and its output was read

	mu      sync.Mutex
	readyAt time.Time // guarded by mu
	last    demoStats // guarded by mu: the latest stats line
	killed  bool      // guarded by mu: killed on purpose
	exitErr error     // guarded by mu: set before done is closed
}

// start starts a new run of p and returns it; it does not wait for it to
// serve (see waitReady).
func (p *agentProcess) start() (*childRun, error) {
	r := &childRun{stderr: &tailBuffer{max: 16 << 10}, ready: make(chan struct{}), stats: make(chan demoStats, 1), done: make(chan struct{}), event: p.event}
	r.cmd = exec.Command(p.exe, p.args...)
	r.cmd.Stderr = r.stderr
	r.cmd.SysProcAttr = childProcAttr()
	var err error
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("demo: starting %s: %w", p.instance, err)
	}
	go r.read(stdout)
	p.mu.Lock()
	p.runs = append(p.runs, r)
	p.mu.Unlock()
	if p.started != nil {
		p.started(r.cmd.Process.Pid)
	}
	return r, nil
}

// read follows the run's output until it ends, then reaps the process.
func (r *childRun) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == demoReady:
			r.mu.Lock()
			first := r.readyAt.IsZero()
			if first {
				r.readyAt = time.Now()
			}
			r.mu.Unlock()
			if first {
				close(r.ready)
			}
		case strings.HasPrefix(line, demoEventPrefix):
			var ev breaker.Event
			if r.event != nil && json.Unmarshal([]byte(strings.TrimPrefix(line, demoEventPrefix)), &ev) == nil {
				r.event(ev)
			}
		case strings.HasPrefix(line, demoStatsPrefix):
			var st demoStats
			if json.Unmarshal([]byte(strings.TrimPrefix(line, demoStatsPrefix)), &st) == nil {
				r.mu.Lock()
				r.last = st
				r.mu.Unlock()
				select {
				case r.stats <- st:
				default:
				}
			}
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	err := r.cmd.Wait()
	r.mu.Lock()
	r.exitErr = err
	r.mu.Unlock()
	close(r.done)
}

// current returns p's latest run, nil before the first.
func (p *agentProcess) current() *childRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.runs) == 0 {
		return nil
	}
	return p.runs[len(p.runs)-1]
}

// waitReady waits until r serves its agents; an error when it exits
// first, ctx ends or childReadyTimeout passes.
func (p *agentProcess) waitReady(ctx context.Context, r *childRun) error {
	timer := time.NewTimer(childReadyTimeout)
	defer timer.Stop()
	select {
	case <-r.ready:
		return nil
	case <-r.done:
		return fmt.Errorf("demo: agent process %s exited before it served its agents (%v):\n%s", p.instance, r.err(), r.stderr.String())
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("demo: agent process %s did not serve its agents within %s:\n%s", p.instance, childReadyTimeout, r.stderr.String())
	}
}

// served returns when r printed demoReady; zero before.
func (r *childRun) served() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readyAt
}

func (r *childRun) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exitErr
}

// refresh asks the current run for its counters and waits, at most
// childStatsTimeout, for the answer (kept as the run's last stats). It
// reports whether one came.
func (p *agentProcess) refresh(ctx context.Context) bool {
	r := p.current()
	if r == nil {
		return false
	}
	select {
	case <-r.stats: // an answer nobody waited for
	default:
	}
	if _, err := io.WriteString(r.stdin, demoStatsRequest+"\n"); err != nil {
		return false
	}
	timer := time.NewTimer(childStatsTimeout)
	defer timer.Stop()
	select {
	case <-r.stats:
		return true
	case <-r.done:
	case <-ctx.Done():
	case <-timer.C:
	}
	return false
}

// totals sums the last stats of every run of p; partial says that a run
// was killed (its counts stop at its last report).
func (p *agentProcess) totals() (sum demoStats, starts int, partial bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.runs {
		r.mu.Lock()
		sum.Sent += r.last.Sent
		sum.Received += r.last.Received
		sum.Undelivered += r.last.Undelivered
		sum.TimedOut += r.last.TimedOut
		partial = partial || r.killed
		r.mu.Unlock()
	}
	return sum, len(p.runs), partial
}

// kill kills the current run with SIGKILL and waits until it has exited.
func (p *agentProcess) kill() error {
	r := p.current()
	if r == nil {
		return fmt.Errorf("demo: agent process %s is not running", p.instance)
	}
	select {
	case <-r.done:
		return fmt.Errorf("demo: agent process %s had already exited (%v)", p.instance, r.err())
	default:
	}
	r.mu.Lock()
	r.killed = true
	r.mu.Unlock()
	if err := r.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("demo: killing %s: %w", p.instance, err)
	}
	<-r.done
	return nil
}

// stop ends the current run: it closes its stdin (the process stops
// serving, stops its system and exits) and waits, killing it after
// childStopTimeout. It returns the exit error of a run that was not killed
// on purpose and did not exit cleanly, and a data race any run reported
// (a binary built with -race, killed or not).
func (p *agentProcess) stop() error {
	r := p.current()
	if r == nil {
		return nil
	}
	return errors.Join(p.stopRun(r), p.races())
}

// races returns the data races the runs of p reported on their stderr.
func (p *agentProcess) races() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.runs {
		if log := r.stderr.String(); strings.Contains(log, "WARNING: DATA RACE") {
			return fmt.Errorf("demo: agent process %s (run %d) reported a data race:\n%s", p.instance, i+1, log)
		}
	}
	return nil
}

// stopRun ends the run r (see stop).
func (p *agentProcess) stopRun(r *childRun) error {
	_ = r.stdin.Close()
	timer := time.NewTimer(childStopTimeout)
	defer timer.Stop()
	select {
	case <-r.done:
	case <-timer.C:
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("demo: agent process %s did not stop within %s; killed:\n%s", p.instance, childStopTimeout, r.stderr.String())
	}
	r.mu.Lock()
	killed, err := r.killed, r.exitErr
	r.mu.Unlock()
	var ee *exec.ExitError
	if killed || err == nil {
		return nil
	}
	if errors.As(err, &ee) && r.stderr.String() != "" {
		return fmt.Errorf("demo: agent process %s exited with %v:\n%s", p.instance, err, r.stderr.String())
	}
	return fmt.Errorf("demo: agent process %s exited with %v", p.instance, err)
}
