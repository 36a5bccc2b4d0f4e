package busnats_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/metering"
)

// decode reads a child's reply.
func decode(t *testing.T, r bus.Reply) echoed {
	t.Helper()
	raw, ok := r.Payload.(json.RawMessage)
	if !ok {
		t.Fatalf("reply payload is %T, want json.RawMessage", r.Payload)
	}
	var e echoed
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestIssue16_AcrossProcesses: a bus in this process reaches an agent of
// another process by name; the message's fields, headers and payload
// arrive as documented, replies come back, and every message is metered
// exactly once — at the receiver.
func TestIssue16_AcrossProcesses(t *testing.T) {
	srv := natstest.Start(t)
	c := startChild(t, srv.URL(), "worker", "validator")
	s := newSender(t, srv.URL(), "api", breaker.Config{})

	payloads := []struct {
		in       any
		wantType string
		want     string
	}{
		{[]byte("raw bytes"), "[]uint8", "raw bytes"},
		{json.RawMessage(`{"a":1}`), "json.RawMessage", `{"a":1}`},
		{map[string]int{"b": 2}, "json.RawMessage", `{"b":2}`},
		{"text", "json.RawMessage", `"text"`},
		{nil, "<nil>", ""},
	}
	for i, p := range payloads {
		msg := bus.NewMessage("proposer", "validator", "echo", p.in)
		msg.Tenant, msg.Priority = "acme", 3
		msg.Headers = map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		reply, err := s.bus.Send(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		e := decode(t, reply)
		if e.PayloadType != p.wantType || e.Payload != p.want {
			t.Errorf("payload %#v arrived as %s %q, want %s %q", p.in, e.PayloadType, e.Payload, p.wantType, p.want)
		}
		if e.Process != "worker" || e.From != "proposer" || e.Type != "echo" || e.Tenant != "acme" || e.Priority != 3 ||
			e.Hash != antifragile.ConstitutionalHash || e.ID == "" || e.Headers["traceparent"] != msg.Headers["traceparent"] {
			t.Errorf("the receiver saw %+v", e)
		}
		if e.DeadlineIn <= 0 || e.DeadlineIn > 5*time.Second {
			t.Errorf("the receiver's deadline was %v away, want within the sender's 5s", e.DeadlineIn)
		}
		if reply.Tokens != 7 {
			t.Errorf("reply tokens %d, want 7", reply.Tokens)
		}
	}
	const published = 10
	for i := range published {
		if err := s.bus.Publish(context.Background(), bus.NewMessage("proposer", "validator", "echo", []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	// A request after the publications is answered after they arrived
	// (NATS keeps one connection's order): the child then holds them all.
	if _, err := s.send("validator", "echo", nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got := c.stop()
	want := len(payloads) + published + 1
	if n := count(got, metering.OpAgentMessage, metering.OutcomeOK); n != want || len(got) != want {
		t.Errorf("the receiver metered %d agent messages ok (%d events), want %d", n, len(got), want)
	}
	if mine := s.metered(); len(mine) != 0 {
		t.Errorf("the sender metered %d events of messages that arrived, want 0: %+v", len(mine), mine)
	}
	if m := s.bus.Metrics(); m.Remote != uint64(want) || m.RemoteUndelivered != 0 {
		t.Errorf("sender bus metrics %+v", m)
	}
}

// TestIssue16_UndeliveredMeteredAtSender: a message that never reached a
// receiver — no responders, the sender's breaker open, chaos on the link,
// a deadline passed before it left — is metered once, at the sender, with
// its outcome; the receiver meters nothing of them.
func TestIssue16_UndeliveredMeteredAtSender(t *testing.T) {
	srv := natstest.Start(t)
	c := startChild(t, srv.URL(), "worker", "validator")
	s := newSender(t, srv.URL(), "api", breaker.Config{ConsecutiveFailures: 2, OpenTimeout: time.Hour})

	// No process serves "nobody": fails fast, twice, then the breaker is open.
	for range 2 {
		start := time.Now()
		_, err := s.send("nobody", "echo", nil, 5*time.Second)
		if !errors.Is(err, busnats.ErrNoResponders) || !errors.Is(err, bus.ErrNotDelivered) {
			t.Fatalf("send to nobody: %v, want ErrNoResponders and bus.ErrNotDelivered", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("no responders took %v: not failing fast", took)
		}
	}
	if _, err := s.send("nobody", "echo", nil, 5*time.Second); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("third send to nobody: %v, want breaker.ErrOpen", err)
	}
	// A partition of the link api->validator fails at the sender.
	if _, err := s.chaos.Inject(busnats.PartitionScenario("api", "worker", []string{"validator"}, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.send("validator", "echo", nil, 5*time.Second); !errors.Is(err, chaos.ErrPartitioned) {
		t.Fatalf("send across the partition: %v, want chaos.ErrPartitioned", err)
	}
	s.chaos.Deactivate("partition_api_worker")
	// A deadline that passed before the message left: it never does.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.bus.Send(ctx, bus.NewMessage("proposer", "validator", "echo", nil)); !errors.Is(err, bus.ErrNotDelivered) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with an expired deadline: %v, want not delivered, deadline exceeded", err)
	}
	received := c.stop()
	if len(received) != 0 || len(c.ran()) != 0 {
		t.Errorf("the receiver metered %d events and ran %d handlers for messages that never reached it", len(received), len(c.ran()))
	}
	got := s.metered()
	if e, r, i := count(got, metering.OpAgentMessage, metering.OutcomeError), count(got, metering.OpAgentMessage, metering.OutcomeRejected),
		count(got, metering.OpAgentMessage, metering.OutcomeInjected); e != 3 || r != 1 || i != 1 || len(got) != 5 {
		t.Errorf("the sender metered %d error, %d rejected, %d injected (%d events), want 3, 1, 1 (5)", e, r, i, len(got))
	}
	for _, e := range got {
		if e.Metadata["delivered"] != false || e.Metadata["reason"] == "" {
			t.Errorf("event %+v lacks delivered false and a reason", e)
		}
	}
}

// TestIssue16_Replicas: two processes serving one agent share its
// messages (a queue group).
func TestIssue16_Replicas(t *testing.T) {
	srv := natstest.Start(t)
	startChild(t, srv.URL(), "r1", "validator")
	startChild(t, srv.URL(), "r2", "validator")
	s := newSender(t, srv.URL(), "api", breaker.Config{})
	const n = 200
	by := map[string]int{}
	for range n {
		reply, err := s.send("validator", "echo", nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		by[decode(t, reply).Process]++
	}
	t.Logf("replies by replica: %v", by)
	if by["r1"] < n/10 || by["r2"] < n/10 || by["r1"]+by["r2"] != n {
		t.Errorf("replicas answered %v of %d messages; want both a share", by, n)
	}
}

// TestIssue16_Deadline: the sender's deadline bounds the handler at the
// receiver; a message whose deadline passed on the way is not run and is
// metered there as an error.
func TestIssue16_Deadline(t *testing.T) {
	srv := natstest.Start(t)
	c := startChild(t, srv.URL(), "worker", "validator")
	s := newSender(t, srv.URL(), "api", breaker.Config{})

	start := time.Now()
	_, err := s.send("validator", "slow", nil, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow send: %v, want context.DeadlineExceeded", err)
	}
	t.Logf("slow send returned after %v", time.Since(start))

	// A request that arrives expired: written on the wire by hand.
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	m := nats.NewMsg(s.tr.Subject("validator"))
	m.Header.Set(busnats.HeaderID, "expired-1")
	m.Header.Set(busnats.HeaderType, "echo")
	m.Header.Set(busnats.HeaderHash, antifragile.ConstitutionalHash)
	m.Header.Set(busnats.HeaderEnvelope, busnats.Envelope(time.Time{}, time.Now().Add(-time.Second), "proposer"))
	resp, err := nc.RequestMsg(m, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if kind := resp.Header.Get(busnats.HeaderKind); kind != busnats.KindDeadline {
		t.Errorf("an expired request was answered with kind %q (%s), want %q", kind, resp.Header.Get(busnats.HeaderError), busnats.KindDeadline)
	}
	got := c.stop()
	for _, id := range c.ran() {
		if id == "expired-1" {
			t.Error("the handler ran a message whose deadline had passed")
		}
	}
	if e := count(got, metering.OpAgentMessage, metering.OutcomeError); e != 2 || len(got) != 2 {
		t.Errorf("the receiver metered %d errors (%d events), want 2: the slow one cut off by its deadline, the expired one", e, len(got))
	}
	if mine := s.metered(); len(mine) != 0 {
		t.Errorf("the sender metered %d events of a message that arrived", len(mine))
	}
}

// TestIssue16_HashMismatchRefusedAtReceiver: a message carrying another
// hash, put on the transport directly (the sending bus would refuse it),
// is refused by the receiver and metered there as an invalid
// constitutional validation; its handler never runs.
func TestIssue16_HashMismatchRefusedAtReceiver(t *testing.T) {
	srv := natstest.Start(t)
	c := startChild(t, srv.URL(), "worker", "validator")
	s := newSender(t, srv.URL(), "rogue", breaker.Config{})
	msg := bus.NewMessage("proposer", "validator", "echo", nil)
	msg.ID, msg.ConstitutionalHash = "bad-hash-1", "0000000000000000"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.tr.Send(ctx, msg)
	var re *busnats.RemoteError
	if !errors.Is(err, antifragile.ErrHashMismatch) || !errors.As(err, &re) || re.Kind != busnats.KindHashMismatch {
		t.Fatalf("send with another hash: %v, want a RemoteError matching antifragile.ErrHashMismatch", err)
	}
	got := c.stop()
	if len(c.ran()) != 0 {
		t.Error("the handler ran a message with another hash")
	}
	if n := count(got, metering.OpConstitutionalValidation, metering.OutcomeRejected); n != 1 || len(got) != 1 {
		t.Errorf("the receiver metered %d rejected constitutional validations (%d events), want 1", n, len(got))
	}
	if !strings.Contains(err.Error(), "validator") {
		t.Errorf("error %q does not name the agent", err)
	}
}
