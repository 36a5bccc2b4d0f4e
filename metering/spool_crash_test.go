package metering_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

const spoolChildEnv = "ANTIFRAGILE_SPOOL_CHILD_DIR"

// spoolChild is the process TestIssue13_SpoolSurvivesKill9 kills: a meter
// flushing every 100 ms into a spool whose sink is down (a stalled Redis),
// recording about 3,000 events a second and printing the sequence number of
// every event Record accepted. It never returns by itself.
func spoolChild(dir string) int {
	down := metering.SinkFunc(func(context.Context, []metering.Event) error { return errors.New("sink stalled") })
	spool, err := metering.NewSpool(metering.SpoolConfig{Dir: dir, Sink: down})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	m, err := metering.New(metering.Config{Sink: spool, FlushInterval: metering.SpoolFlushInterval, MaxQueueSize: 100_000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	go func() { _ = m.Run(ctx) }()
	go func() { _ = spool.Run(ctx) }()
	out := os.Stdout
	var line []byte
	for seq := 1; ; seq++ {
		if m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: int64(seq)}) {
			line = strconv.AppendInt(line[:0], int64(seq), 10)
			line = append(line, '\n')
			_, _ = out.Write(line)
		}
		if seq%3 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestIssue13_SpoolSurvivesKill9: a process whose sink is stalled is killed
// with SIGKILL mid-stream; a new spool on its directory delivers what it had
// spooled. At most the events of the last flush interval are lost.
func TestIssue13_SpoolSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	accepted := 0
	start := time.Now()
	for accepted < 3000 && lines.Scan() {
		accepted, _ = strconv.Atoi(lines.Text())
	}
	rate := float64(accepted) / time.Since(start).Seconds()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() { // what it printed before it died
		accepted, _ = strconv.Atoi(lines.Text())
	}
	_ = cmd.Wait()
	if accepted < 3000 {
		t.Fatalf("the child accepted only %d events", accepted)
	}

	got := map[int64]int{}
	sink := metering.SinkFunc(func(_ context.Context, events []metering.Event) error {
		for _, e := range events {
			got[e.Tokens]++
		}
		return nil
	})
	spool, err := metering.NewSpool(metering.SpoolConfig{Dir: dir, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if err := spool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lost, dup := 0, 0
	for seq := 1; seq <= accepted; seq++ {
		switch got[int64(seq)] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	// What the meter held since its last flush into the spool: at most one
	// flush interval of events (doubled for scheduling on a busy machine).
	bound := int(2*rate*metering.SpoolFlushInterval.Seconds()) + 50
	t.Logf("accepted %d events at %.0f/s before SIGKILL; recovered %d batches; lost %d (bound %d), delivered twice %d",
		accepted, rate, spool.Metrics().Recovered, lost, bound, dup)
	if lost > bound || dup != 0 {
		t.Fatalf("lost %d of %d accepted events (bound %d), %d delivered twice", lost, accepted, bound, dup)
	}
}
