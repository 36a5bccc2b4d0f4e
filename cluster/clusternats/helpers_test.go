package clusternats_test

import (
	"context"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/internal/natstest"
)

// open returns a store on its own connection to srv, closed at cleanup.
func open(t testing.TB, srv *natstest.Server) *clusternats.Store {
	t.Helper()
	s, err := clusternats.Open(context.Background(), clusternats.Config{URL: srv.URL(), ReconnectWait: 50 * time.Millisecond, PingInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// eventually polls cond every 10 ms until it holds or the deadline
// passes, then fails with what.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
