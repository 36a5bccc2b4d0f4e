package daemon_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/system"
)

// TestDaemon_ReloadOn: a signal re-reads the config's Source; a valid one
// is applied while the daemon serves, an invalid one changes nothing and
// every problem is logged with its field.
func TestDaemon_ReloadOn(t *testing.T) {
	var mu sync.Mutex
	doc := `{"breakers": {"named": {"db": {"consecutive_failures": 3}}}}`
	f := parse(t, doc)
	source := func() (*system.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return system.Parse([]byte(doc))
	}
	f.Source = func() (*system.Config, error) {
		c, err := source()
		if err == nil {
			c.Ops.Listen = f.Ops.Listen // as a flag would
		}
		return c, err
	}
	var logs lockedBuffer
	f.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r := start(t, f)
	sig := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.ReloadOn(ctx, sig) }()
	defer func() { cancel(); <-done }()

	setDoc := func(d string) { mu.Lock(); doc = d; mu.Unlock() }
	setDoc(`{"breakers": {"named": {"db": {"consecutive_failures": 7}}}, "ops": {"idle_timeout": "1m"}}`)
	sig <- syscall.SIGHUP
	sig <- syscall.SIGHUP // the first is handled once this one is received
	b, _ := r.Registry().Get("db")
	if got := b.Config().ConsecutiveFailures; got != 7 {
		t.Fatalf("consecutive_failures = %d after SIGHUP, want 7", got)
	}
	if l := logs.String(); !strings.Contains(l, "config reload") || !strings.Contains(l, "restart=[ops.idle_timeout]") {
		t.Fatalf("log does not report the reload and its restart-only change:\n%s", l)
	}

	setDoc(`{"breakers": {"named": {"db": {"failure_rate": 2}}}, "chaos": {"max_delay": "-1s"}}`)
	sig <- syscall.SIGHUP
	sig <- syscall.SIGHUP
	if got := b.Config().ConsecutiveFailures; got != 7 {
		t.Fatalf("an invalid reload changed the breaker: %d", got)
	}
	l := logs.String()
	for _, want := range []string{"config reload refused", "field=breakers.named.db.failure_rate", "field=chaos.max_delay"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
	if code, _ := get(t, r.URL()+"/livez"); code != 200 {
		t.Fatalf("the daemon stopped serving after a refused reload: %d", code)
	}
}

func TestProblems(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	if got := daemon.Problems(wrap(errors.Join(a, b))); len(got) != 2 {
		t.Fatalf("Problems = %v", got)
	}
	if got := daemon.Problems(a); len(got) != 1 || got[0] != a {
		t.Fatalf("Problems(a) = %v", got)
	}
	if daemon.Problems(nil) != nil {
		t.Fatal("Problems(nil) not nil")
	}
}

func wrap(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
