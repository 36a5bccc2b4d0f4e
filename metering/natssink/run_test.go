package natssink_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
	"github.com/antifragile-go/antifragile/metering/natssink"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runSink runs s.Run until the returned stop is called; stop waits for
// Run and fails the test unless it returned nil.
func runSink(t *testing.T, s *natssink.Sink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

func TestSink_Run(t *testing.T) {
	t.Run("folds what is stored every interval", func(t *testing.T) {
		srv := natstest.Start(t)
		s := newSink(t, srv.URL(), "RUN1", func(c *natssink.Config) { c.FoldInterval = 10 * time.Millisecond })
		stop := runSink(t, s)
		if err := s.Write(context.Background(), events(5, "acme")); err != nil {
			t.Fatal(err)
		}
		servertest.Eventually(t, 10*time.Second, "the batch folded", func() bool { return s.Metrics().Folded == 1 })
		stop()
		if m := s.Metrics(); m.FoldErrors != 0 {
			t.Fatalf("Metrics = %+v", m)
		}
	})
	t.Run("logs the first of a run of failures, not every one", func(t *testing.T) {
		var log syncBuffer
		s := newSink(t, "nats://127.0.0.1:1", "RUN2", func(c *natssink.Config) {
			c.FoldInterval, c.Timeout = 10*time.Millisecond, 100*time.Millisecond
			c.Logger = slog.New(slog.NewTextHandler(&log, nil))
		})
		stop := runSink(t, s)
		servertest.Eventually(t, 10*time.Second, "three failed folds", func() bool { return s.Metrics().FoldErrors >= 3 })
		stop()
		if n := strings.Count(log.String(), "fold failed"); n != 1 {
			t.Fatalf("%d log lines of failure, want 1:\n%s", n, log.String())
		}
	})
}
