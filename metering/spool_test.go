package metering_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
)

func newSpool(t *testing.T, cfg metering.SpoolConfig) *metering.Spool {
	t.Helper()
	s, err := metering.NewSpool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func batch(ids ...string) []metering.Event {
	var out []metering.Event
	for _, id := range ids {
		out = append(out, metering.Event{ID: id, Tenant: "acme", Operation: metering.OpAgentMessage, Time: time.Unix(1, 0).UTC()})
	}
	return out
}

func ids(events []metering.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func TestSpool(t *testing.T) {
	t.Run("delivers the spooled batches in order and removes them", func(t *testing.T) {
		sink := &recSink{}
		dir := t.TempDir()
		s := newSpool(t, metering.SpoolConfig{Dir: dir, Sink: sink})
		for _, b := range [][]metering.Event{batch("a", "b"), batch("c"), batch("d", "e")} {
			if err := s.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}
		if len(sink.events()) != 0 {
			t.Fatal("Write delivered: it only spools")
		}
		if m := s.Metrics(); m.Pending != 3 || m.Spooled != 5 {
			t.Fatalf("%+v", m)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := ids(sink.events()); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
			t.Fatalf("delivered %q", got)
		}
		if m := s.Metrics(); m.Pending != 0 || m.Delivered != 5 || m.PendingBytes != 0 {
			t.Fatalf("%+v", m)
		}
		left, _ := filepath.Glob(filepath.Join(dir, "batch-*"))
		if len(left) != 0 {
			t.Fatalf("files left: %q", left)
		}
	})
	t.Run("a batch the sink refuses is retried and stays on disk for the next process", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &recSink{}
			sink.setFail(-1) // refuses until told otherwise
			dir := t.TempDir()
			s, err := metering.NewSpool(metering.SpoolConfig{Dir: dir, Sink: sink, Retry: metering.RetryPolicy{Initial: time.Second, Max: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), batch("x", "y")); err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			ran := make(chan error)
			go func() { ran <- s.Run(ctx) }()
			time.Sleep(5500 * time.Millisecond)
			stop()
			<-ran
			if n := sink.attemptCount(); n != 6 {
				t.Fatalf("%d attempts in 5.5 s at 1 s apart, want 6", n)
			}
			closeCtx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := s.Close(closeCtx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Close with batches left = %v", err)
			}
			// The next process delivers what this one left.
			sink.setFail(0)
			next, err := metering.NewSpool(metering.SpoolConfig{Dir: dir, Sink: sink})
			if err != nil {
				t.Fatal(err)
			}
			if m := next.Metrics(); m.Recovered != 1 || m.Pending != 1 {
				t.Fatalf("recovered %+v", m)
			}
			if err := next.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := ids(sink.events()); !slices.Equal(got, []string{"x", "y"}) {
				t.Fatalf("delivered %q", got)
			}
		})
	})
	t.Run("one spool per directory", func(t *testing.T) {
		dir := t.TempDir()
		newSpool(t, metering.SpoolConfig{Dir: dir, Sink: &recSink{}})
		if _, err := metering.NewSpool(metering.SpoolConfig{Dir: dir, Sink: &recSink{}}); err == nil {
			t.Fatal("a second spool opened a locked directory")
		}
	})
	t.Run("full", func(t *testing.T) {
		s := newSpool(t, metering.SpoolConfig{Dir: t.TempDir(), Sink: &recSink{}, MaxBytes: 300})
		if err := s.Write(context.Background(), batch("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), batch("b", "c")); !errors.Is(err, metering.ErrSpoolFull) {
			t.Fatalf("Write beyond MaxBytes = %v", err)
		}
	})
	t.Run("an unfinished write of a dead process is dropped, a finished one delivered", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "batch-00000000000000000007.jsonl.tmp"), []byte(`{"id":"half`), 0o600); err != nil {
			t.Fatal(err)
		}
		sink := &recSink{}
		first := newSpool(t, metering.SpoolConfig{Dir: dir, Sink: &recSink{}})
		if err := first.Write(context.Background(), batch("kept")); err != nil {
			t.Fatal(err)
		}
		_ = first.Close(canceled())
		s := newSpool(t, metering.SpoolConfig{Dir: dir, Sink: sink})
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := ids(sink.events()); !slices.Equal(got, []string{"kept"}) {
			t.Fatalf("delivered %q", got)
		}
	})
	t.Run("refuses a bad config", func(t *testing.T) {
		_, err := metering.NewSpool(metering.SpoolConfig{MaxBytes: -1})
		for _, f := range []string{"dir", "sink", "max_bytes"} {
			if !slices.Contains(antifragile.InvalidFields(err), f) {
				t.Errorf("no problem at %s: %v", f, err)
			}
		}
	})
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
