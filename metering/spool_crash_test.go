package metering_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

const spoolChildEnv = "ANTIFRAGILE_SPOOL_CHILD_DIR"

// spoolChild is the process TestIssue13_SpoolSurvivesKill9 kills: a meter
// flushing every 100 ms into a spool whose sink is down (a stalled Redis),
// recording about 3,000 events a second and printing the sequence number of
// every event Record accepted, and "S <seq>" with the highest sequence
// number of each batch the spool made durable. It never returns by itself.
func spoolChild(dir string) int {
	down := metering.SinkFunc(func(context.Context, []metering.Event) error { return errors.New("sink stalled") })
	spool, err := metering.NewSpool(metering.SpoolConfig{Dir: dir, Sink: down})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex // serialises the lines of Record's loop and of the meter's writes
	out := os.Stdout
	spooled := metering.SinkFunc(func(ctx context.Context, events []metering.Event) error {
		if err := spool.Write(ctx, events); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintf(out, "S %d\n", events[len(events)-1].Tokens)
		return nil
	})
	m, err := metering.New(metering.Config{Sink: spooled, FlushInterval: metering.SpoolFlushInterval, MaxQueueSize: 100_000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	go func() { _ = m.Run(ctx) }()
	go func() { _ = spool.Run(ctx) }()
	var line []byte
	for seq := 1; ; seq++ {
		if m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: int64(seq)}) {
			line = strconv.AppendInt(line[:0], int64(seq), 10)
			line = append(line, '\n')
			mu.Lock()
			_, _ = out.Write(line)
			mu.Unlock()
		}
		if seq%3 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestIssue13_SpoolSurvivesKill9: a process whose sink is stalled is killed
// with SIGKILL mid-stream; a new spool on its directory delivers what it had
// spooled — every event of every batch the spool acknowledged, exactly
// once. What is lost is only what the meter held since its last flush: at
// most the events of one flush interval, or of the longest gap between two
// spool writes that the machine's load caused.
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
	var (
		accepted, lastSpooled int
		lastAck               time.Time
		maxGap                time.Duration
	)
	read := func() {
		text := lines.Text()
		if n, ok := strings.CutPrefix(text, "S "); ok {
			now := time.Now()
			if !lastAck.IsZero() {
				maxGap = max(maxGap, now.Sub(lastAck))
			}
			lastAck = now
			lastSpooled, _ = strconv.Atoi(n)
			return
		}
		accepted, _ = strconv.Atoi(text)
	}
	start := time.Now()
	for accepted < 3000 && lines.Scan() {
		read()
	}
	rate := float64(accepted) / time.Since(start).Seconds()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() { // what it printed before it died
		read()
	}
	_ = cmd.Wait()
	if accepted < 3000 || lastSpooled == 0 {
		t.Fatalf("the child accepted only %d events, spooled up to %d", accepted, lastSpooled)
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
			if seq <= lastSpooled {
				t.Errorf("event %d was in a batch the spool acknowledged, and is lost", seq)
			}
			lost++
		case 1:
		default:
			dup++
		}
	}
	// What the meter held since its last flush into the spool: one flush
	// interval of events, or the longest gap between spool writes when the
	// machine's load stretched it, plus a batch.
	window := max(metering.SpoolFlushInterval, maxGap)
	bound := int(rate*window.Seconds()) + 100
	t.Logf("accepted %d events at %.0f/s before SIGKILL; spool acknowledged up to %d (longest gap %v); recovered %d batches; lost %d (bound %d), delivered twice %d",
		accepted, rate, lastSpooled, maxGap.Round(time.Millisecond), spool.Metrics().Recovered, lost, bound, dup)
	if lost > bound || dup != 0 {
		t.Fatalf("lost %d of %d accepted events (bound %d), %d delivered twice", lost, accepted, bound, dup)
	}
}
