package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/metering"
)

// loopback is a bus.Transport from one bus to another in this process: a
// message to an agent the peer serves is delivered with peer.Deliver; one
// to any other name reached no receiver (bus.ErrNotDelivered).
type loopback struct {
	process string
	peer    *bus.Bus
	sends   atomic.Int64
}

var _ bus.Transport = (*loopback)(nil)

func (l *loopback) Link(agent string) string { return "link:" + l.process + "->" + agent }

func (l *loopback) Send(ctx context.Context, msg bus.Message) (bus.Reply, error) {
	l.sends.Add(1)
	if l.peer.Remote(msg.To) || !contains(l.peer.Agents(), msg.To) {
		return bus.Reply{}, fmt.Errorf("loopback: nobody serves %q: %w", msg.To, bus.ErrNotDelivered)
	}
	return l.peer.Deliver(ctx, msg)
}

func (l *loopback) Publish(ctx context.Context, msg bus.Message) error {
	_, err := l.Send(ctx, msg)
	if err != nil && !errors.Is(err, bus.ErrNotDelivered) {
		return nil // a receiver's failure is counted there, not returned
	}
	return err
}

func contains(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// pair is a sending bus with a loopback transport to a receiving one
// serving "validator".
func pair(t *testing.T, cfg bus.Config) (send, recv *fixture, tr *loopback) {
	t.Helper()
	recv = newFixture(t, bus.Config{})
	if err := recv.bus.Register("validator", echo); err != nil {
		t.Fatal(err)
	}
	tr = &loopback{process: "api", peer: recv.bus}
	cfg.Transport = tr
	send = newFixture(t, cfg)
	return send, recv, tr
}

func TestBus_Transport(t *testing.T) {
	t.Run("a message to a remote agent is delivered by the receiver and metered there alone", func(t *testing.T) {
		send, recv, _ := pair(t, bus.Config{})
		reply, err := send.bus.Send(context.Background(), bus.NewMessage("proposer", "validator", "validate", "p-1"))
		if err != nil || reply.Payload != "p-1" {
			t.Fatalf("Send = %+v, %v", reply, err)
		}
		if err := send.bus.Publish(context.Background(), bus.NewMessage("proposer", "validator", "validate", "p-2")); err != nil {
			t.Fatal(err)
		}
		if evs := send.metered(t); len(evs) != 0 {
			t.Errorf("the sender metered %+v", evs)
		}
		if evs := recv.metered(t); count(evs, metering.OutcomeOK) != 2 || len(evs) != 2 {
			t.Errorf("the receiver metered %+v, want 2 ok", evs)
		}
		if m := send.bus.Metrics(); m.Remote != 2 || m.RemoteUndelivered != 0 || m.Sent != 1 || m.Published != 1 {
			t.Errorf("sender metrics %+v", m)
		}
		if m := recv.bus.Metrics(); m.Received != 2 || m.Delivered != 2 {
			t.Errorf("receiver metrics %+v", m)
		}
		if _, ok := send.reg.Get("validator"); !ok {
			t.Error("no breaker named after the remote agent in the sender's registry")
		}
	})
	t.Run("undelivered messages are metered at the sender and open its breaker", func(t *testing.T) {
		send, recv, _ := pair(t, bus.Config{Breaker: breaker.Config{ConsecutiveFailures: 2}})
		for range 2 {
			if _, err := send.bus.Send(context.Background(), bus.NewMessage("proposer", "nobody", "x", nil)); !errors.Is(err, bus.ErrNotDelivered) {
				t.Fatalf("Send to nobody: %v", err)
			}
		}
		if _, err := send.bus.Send(context.Background(), bus.NewMessage("proposer", "nobody", "x", nil)); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("third Send: %v, want breaker.ErrOpen", err)
		}
		evs := send.metered(t)
		if count(evs, metering.OutcomeError) != 2 || count(evs, metering.OutcomeRejected) != 1 || len(evs) != 3 {
			t.Errorf("the sender metered %+v, want 2 errors and 1 rejected", evs)
		}
		if evs := recv.metered(t); len(evs) != 0 {
			t.Errorf("the receiver metered %+v", evs)
		}
		if m := send.bus.Metrics(); m.RemoteUndelivered != 3 || m.Failed != 2 || m.Rejected != 1 {
			t.Errorf("sender metrics %+v", m)
		}
	})
	t.Run("chaos on the link fails at the sender, which meters it as injected", func(t *testing.T) {
		var targets []string
		boom := chaosFunc(func(_ context.Context, target string) error {
			targets = append(targets, target)
			return errBoom
		})
		send, recv, tr := pair(t, bus.Config{Chaos: boom})
		if _, err := send.bus.Send(context.Background(), bus.NewMessage("proposer", "validator", "x", nil)); !errors.Is(err, errBoom) {
			t.Fatalf("Send: %v", err)
		}
		if len(targets) != 1 || targets[0] != "link:api->validator" || tr.sends.Load() != 0 {
			t.Errorf("chaos asked about %v, transport sent %d", targets, tr.sends.Load())
		}
		if evs := send.metered(t); count(evs, metering.OutcomeInjected) != 1 || len(evs) != 1 || evs[0].Metadata["delivered"] != false {
			t.Errorf("the sender metered %+v", evs)
		}
		if evs := recv.metered(t); len(evs) != 0 {
			t.Errorf("the receiver metered %+v", evs)
		}
	})
	t.Run("a local agent is preferred to the transport", func(t *testing.T) {
		send, _, tr := pair(t, bus.Config{})
		if err := send.bus.Register("validator", echo); err != nil {
			t.Fatal(err)
		}
		if _, err := send.bus.Send(context.Background(), bus.NewMessage("proposer", "validator", "x", nil)); err != nil || tr.sends.Load() != 0 || send.bus.Remote("validator") {
			t.Fatalf("Send: %v; transport sent %d", err, tr.sends.Load())
		}
	})
}

func TestBus_Deliver(t *testing.T) {
	t.Run("a message whose deadline passed is not run and is metered as an error", func(t *testing.T) {
		f := newFixture(t, bus.Config{})
		ran := false
		if err := f.bus.Register("validator", func(context.Context, bus.Message) (bus.Reply, error) { ran = true; return bus.Reply{}, nil }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := f.bus.Deliver(ctx, bus.NewMessage("proposer", "validator", "x", nil)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Deliver: %v", err)
		}
		if ran {
			t.Error("the handler ran")
		}
		if evs := f.metered(t); count(evs, metering.OutcomeError) != 1 || len(evs) != 1 {
			t.Errorf("metered %+v", evs)
		}
		if m := f.bus.Metrics(); m.ExpiredOnArrival != 1 || m.Received != 1 {
			t.Errorf("metrics %+v", m)
		}
	})
	t.Run("it never forwards to the transport", func(t *testing.T) {
		send, _, tr := pair(t, bus.Config{})
		if _, err := send.bus.Deliver(context.Background(), bus.NewMessage("proposer", "validator", "x", nil)); !errors.Is(err, bus.ErrUnknownAgent) || tr.sends.Load() != 0 {
			t.Fatalf("Deliver: %v; transport sent %d", err, tr.sends.Load())
		}
	})
	t.Run("a hash mismatch is refused and metered as a constitutional validation", func(t *testing.T) {
		f := newFixture(t, bus.Config{})
		if err := f.bus.Register("validator", echo); err != nil {
			t.Fatal(err)
		}
		msg := bus.NewMessage("proposer", "validator", "x", nil)
		msg.ConstitutionalHash = "0000000000000000"
		if _, err := f.bus.Deliver(context.Background(), msg); err == nil {
			t.Fatal("Deliver accepted another hash")
		}
		evs := f.metered(t)
		if len(evs) != 1 || evs[0].Operation != metering.OpConstitutionalValidation || evs[0].Outcome != metering.OutcomeRejected {
			t.Errorf("metered %+v", evs)
		}
	})
}

func count(evs []metering.Event, o metering.Outcome) int {
	n := 0
	for _, e := range evs {
		if e.Operation == metering.OpAgentMessage && e.Outcome == o {
			n++
		}
	}
	return n
}
