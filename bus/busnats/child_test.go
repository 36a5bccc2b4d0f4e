package busnats_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/metering"
)

// childEnv carries a childSpec (JSON) to a test binary re-executed as a
// receiving process.
const childEnv = "ANTIFRAGILE_BUSNATS_CHILD"

// childSpec is what a receiving process serves.
type childSpec struct {
	URL     string   `json:"url"`
	Process string   `json:"process"`
	Agents  []string `json:"agents"`
}

// echoed is the reply of a child's agent: what its handler saw.
type echoed struct {
	Process     string            `json:"process"`
	Agent       string            `json:"agent"`
	ID          string            `json:"id"`
	From        string            `json:"from"`
	Type        string            `json:"type"`
	Tenant      string            `json:"tenant"`
	Priority    int               `json:"priority"`
	Hash        string            `json:"hash"`
	PayloadType string            `json:"payload_type"`
	Payload     string            `json:"payload"`
	Headers     map[string]string `json:"headers"`
	DeadlineIn  time.Duration     `json:"deadline_in"` // 0: the context had none
}

// runChild is a receiving process: a bus whose meter writes every event
// to stdout as "E <json>", each agent of spec served on NATS. Its
// handlers answer with what they saw (type "echo"), wait for their
// context to end (type "slow"), or fail (type "fail"); each run prints
// "H <message id>". It prints "READY" once serving and, on SIGTERM, closes
// the transport (waiting for deliveries), the bus and the meter, prints
// "DONE" and exits 0.
func runChild(raw string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	out := &lineWriter{w: os.Stdout}
	sink := metering.SinkFunc(func(_ context.Context, events []metering.Event) error {
		for _, e := range events {
			b, _ := json.Marshal(e)
			out.line("E " + string(b))
		}
		return nil
	})
	meter, err := metering.New(metering.Config{Sink: sink, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { _ = meter.Run(ctx) })
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	b, _ := bus.New(bus.Config{Registry: reg, Meter: meter})
	tr, err := busnats.New(busnats.Config{URL: spec.URL, Process: spec.Process, ReconnectWait: 50 * time.Millisecond, PingInterval: 500 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for _, a := range spec.Agents {
		if err := b.Register(a, childHandler(spec.Process, a, out)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := tr.Serve(b, a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	if err := tr.Conn().Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out.line("READY")
	<-sigs
	_ = tr.Close(context.Background())
	_ = b.Close(context.Background())
	stop()
	wg.Wait()
	_ = meter.Close(context.Background())
	out.line("DONE")
	return 0
}

// childHandler is the handler of agent in process.
func childHandler(process, agent string, out *lineWriter) bus.Handler {
	return func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		out.line("H " + m.ID)
		switch m.Type {
		case "slow":
			<-ctx.Done()
			return bus.Reply{}, ctx.Err()
		case "fail":
			return bus.Reply{}, fmt.Errorf("agent %s refuses", agent)
		}
		e := echoed{Process: process, Agent: agent, ID: m.ID, From: m.From, Type: m.Type, Tenant: m.Tenant,
			Priority: m.Priority, Hash: m.ConstitutionalHash, PayloadType: fmt.Sprintf("%T", m.Payload), Headers: m.Headers}
		switch p := m.Payload.(type) {
		case []byte:
			e.Payload = string(p)
		case json.RawMessage:
			e.Payload = string(p)
		}
		if d, ok := ctx.Deadline(); ok {
			e.DeadlineIn = time.Until(d)
		}
		return bus.Reply{Payload: e, Tokens: 7}, nil
	}
}

// lineWriter writes whole lines from many goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, s+"\n")
}

// child is a receiving process started by a test.
type child struct {
	t    *testing.T
	spec childSpec
	cmd  *exec.Cmd
	done chan struct{} // closed once stdout is read to its end

	mu      sync.Mutex
	events  []metering.Event // guarded by mu
	handled []string         // guarded by mu: message ids its handlers ran
	ready   chan struct{}
}

// startChild starts a receiving process serving agents as process and
// returns once it serves them. It is killed at cleanup.
func startChild(t *testing.T, url, process string, agents ...string) *child {
	t.Helper()
	if testing.Short() {
		t.Skip("starts child processes")
	}
	c := &child{t: t, spec: childSpec{URL: url, Process: process, Agents: agents}, done: make(chan struct{}), ready: make(chan struct{})}
	raw, _ := json.Marshal(c.spec)
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	c.cmd.Stderr = os.Stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(stdout)
	t.Cleanup(c.kill)
	select {
	case <-c.ready:
	case <-c.done:
		t.Fatalf("child %s exited before it was ready", process)
	case <-time.After(30 * time.Second):
		t.Fatalf("child %s not ready within 30s", process)
	}
	return c
}

// read collects the child's lines until its stdout ends.
func (c *child) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "READY":
			close(c.ready)
		case strings.HasPrefix(line, "E "):
			var e metering.Event
			if err := json.Unmarshal([]byte(line[2:]), &e); err != nil {
				c.t.Errorf("child event %q: %v", line, err)
				continue
			}
			c.mu.Lock()
			c.events = append(c.events, e)
			c.mu.Unlock()
		case strings.HasPrefix(line, "H "):
			c.mu.Lock()
			c.handled = append(c.handled, line[2:])
			c.mu.Unlock()
		}
	}
}

// stop ends the child cleanly (SIGTERM: it drains and flushes its meter)
// and returns the events it metered.
func (c *child) stop() []metering.Event {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.t.Fatal("child did not stop within 30s")
	}
	if err := c.cmd.Wait(); err != nil {
		c.t.Fatalf("child %s: %v", c.spec.Process, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}

// kill kills the child as kill -9 does; idempotent.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	_ = c.cmd.Wait()
}

// ran returns the message ids the child's handlers ran.
func (c *child) ran() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.handled...)
}
