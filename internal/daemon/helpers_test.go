package daemon_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/system"
)

// watchdog bounds waits for things that must happen promptly; it is a
// safety net against a hung test, never a timing assertion.
const watchdog = 30 * time.Second

// parse parses a config document on top of a loopback listen address on a
// free port.
func parse(t *testing.T, doc string) *system.Config {
	t.Helper()
	f, err := system.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if f.Ops.Listen == system.DefaultListen {
		f.Ops.Listen = "127.0.0.1:0"
	}
	return f
}

// running is a daemon whose Run runs in a goroutine the test owns.
type running struct {
	*daemon.Daemon
	cancel context.CancelFunc
	result chan error
}

// start builds and runs a daemon and waits until it listens. Cleanup stops
// it if the test has not.
func start(t *testing.T, f *system.Config) *running {
	t.Helper()
	d, err := daemon.New(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Daemon: d, cancel: cancel, result: make(chan error, 1)}
	go func() { r.result <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.result:
		case <-time.After(watchdog):
			t.Error("Run did not return")
		}
	})
	select {
	case <-d.Ready():
	case err := <-r.result:
		r.result <- err
		t.Fatalf("Run returned before it was ready: %v", err)
	case <-time.After(watchdog):
		t.Fatal("the daemon never became ready")
	}
	return r
}

// stop cancels Run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.result:
		r.result <- err // for Cleanup
		return err
	case <-time.After(watchdog):
		t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// get performs a GET on the daemon through a real HTTP client.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url, "")
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: watchdog}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// echo is a bus handler that answers at once.
func echo(_ context.Context, m bus.Message) (bus.Reply, error) {
	return bus.Reply{Payload: m.Payload}, nil
}

// sendN sends n messages from tenant acme to agent "validator".
func sendN(t *testing.T, b *bus.Bus, n int) {
	t.Helper()
	for i := range n {
		m := bus.NewMessage("proposer", "validator", "validate", i)
		m.Tenant = "acme"
		if _, err := b.Send(context.Background(), m); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
}
