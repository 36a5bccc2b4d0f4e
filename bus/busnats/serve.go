package busnats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/bus"
)

// Serve subscribes agent, registered on b, to its subject in the queue
// group named after it, so that the replicas of an agent in several
// processes share its messages (each one goes to one of them), and starts
// Config.Concurrency workers that take the agent's messages from the
// subscription as they arrive. Each message is delivered with b.Deliver —
// the hash check, chaos, the breaker, the handler and metering of b —
// under the sender's deadline (a published one under
// Config.PublishTimeout too); the reply (or the error, as a *RemoteError at
// the sender) goes back to the sender. A probe (see Probe) is answered
// without delivery. It returns once the subscription is made; Unserve or
// Close ends it and its workers. A second Serve of one agent is a
// *bus.AgentError wrapping ErrServing; a name that cannot be a subject
// token, or a nil b, is a *ValidationError.
func (t *Transport) Serve(b *bus.Bus, agent string) error {
	if err := checkAgent(agent); err != nil {
		return err
	}
	if b == nil {
		return &ValidationError{Field: "bus", Err: antifragile.ErrNil}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.subs[agent] != nil {
		return &bus.AgentError{Agent: agent, Err: ErrServing}
	}
	sub, err := t.nc.QueueSubscribeSync(t.Subject(agent), agent)
	if err != nil {
		return fmt.Errorf("busnats: serve %q: %w", agent, err)
	}
	if err := sub.SetPendingLimits(t.cfg.PendingLimit, -1); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("busnats: serve %q: %w", agent, err)
	}
	t.subs[agent] = sub
	listen := new(sync.Mutex)
	for range t.cfg.Concurrency {
		t.wg.Go(func() { t.work(b, agent, sub, listen) })
	}
	return nil
}

// work takes the messages of sub and delivers them, until sub ends or
// the transport's context is cancelled. One worker at a time waits on sub
// (listen): the others, between deliveries, wait for that turn. With every
// worker waiting on sub itself, each message of a burst went to a worker
// of its own, woken for it, and each reply left in a write of its own;
// with one waiting, a burst queues in sub's buffer and the workers
// returning from a delivery take the next at once (about a tenth fewer
// write system calls a request in BenchmarkRequestReply). A worker passes
// the turn on as soon as it has a message, so a slow delivery holds
// nobody up.
func (t *Transport) work(b *bus.Bus, agent string, sub *nats.Subscription, listen *sync.Mutex) {
	// The worker's own context: the deliveries' contexts derive from it, so
	// that only this goroutine registers children with it (no lock shared
	// between workers); Close cancels it through t.base.
	base, cancel := context.WithCancel(t.base)
	defer cancel()
	for {
		listen.Lock()
		m, err := sub.NextMsgWithContext(base)
		listen.Unlock()
		if errors.Is(err, nats.ErrSlowConsumer) {
			t.slowConsumer.Add(1) // reported once per episode; the drops are in sub.Dropped
			continue
		}
		if err != nil {
			return // unsubscribed, the connection closed, or Close cancelled
		}
		t.arrived(base, b, agent, m)
	}
}

// Unserve ends the subscription of agent and reports whether it was
// served; its workers finish the deliveries in flight and exit (Close
// waits for them). Messages that arrived but were not taken yet are
// dropped, and time out at their senders.
func (t *Transport) Unserve(agent string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	sub := t.subs[agent]
	if sub == nil {
		return false
	}
	t.forget(sub)
	delete(t.subs, agent)
	return true
}

// forget unsubscribes sub, keeping its count of dropped messages; the
// caller holds t.mu.
func (t *Transport) forget(sub *nats.Subscription) {
	if n, err := sub.Dropped(); err == nil && n > 0 {
		t.droppedGone.Add(uint64(n))
	}
	_ = sub.Unsubscribe()
}

// arrived delivers m in the worker's goroutine, or answers a probe: ok
// while agent is registered on b, KindUnknownAgent once it is not.
func (t *Transport) arrived(base context.Context, b *bus.Bus, agent string, m *nats.Msg) {
	if m.Header.Get(HeaderProbe) == "1" {
		t.probes.Add(1)
		reply := &nats.Msg{}
		if !slices.Contains(b.Agents(), agent) { // served, but unregistered since
			reply.Header = nats.Header{HeaderKind: {KindUnknownAgent}, HeaderError: {"busnats: agent " + strconv.Quote(agent) + " is not registered here"}}
		}
		t.respond(m, reply)
		return
	}
	t.received.Add(1)
	t.inFlight.Add(1)
	defer t.inFlight.Add(-1)
	t.deliver(base, b, agent, m)
}

// deliver decodes m, delivers it to b under its deadline and answers it.
func (t *Transport) deliver(base context.Context, b *bus.Bus, agent string, m *nats.Msg) {
	req, err := decodeRequest(agent, m.Header, m.Data)
	if err != nil {
		t.malformed.Add(1)
		if t.cfg.Logger != nil {
			t.cfg.Logger.Warn("busnats: malformed request", slog.String("agent", agent), slog.Any("error", err))
		}
		t.answer(m, &nats.Msg{Header: nats.Header{HeaderKind: {KindMalformed}, HeaderError: {err.Error()}}})
		return
	}
	ctx := newDeliveryContext(base, t.deadline(req.deadline, m.Reply == ""))
	reply, err := b.Deliver(ctx, req.msg)
	ctx.end()
	if m.Reply == "" {
		if err != nil {
			t.publishFailed.Add(1)
		}
		return
	}
	if err == nil && reply.Tokens == 0 {
		if data, ok := reply.Payload.([]byte); ok || reply.Payload == nil {
			t.respondData(m, data) // the common reply: bytes, no headers
			return
		}
	}
	t.answer(m, encodeReply(reply, err))
}

// deadline returns the deadline of a delivery: the sender's, bounded for
// a published message by Config.PublishTimeout from now; without the
// sender's, Config.PublishTimeout or (a request from a client that sent
// none) Config.RequestTimeout from now.
func (t *Transport) deadline(sender time.Time, published bool) time.Time {
	switch {
	case published:
		bound := time.Now().Add(t.cfg.PublishTimeout)
		if !sender.IsZero() && sender.Before(bound) {
			return sender
		}
		return bound
	case sender.IsZero():
		return time.Now().Add(t.cfg.RequestTimeout)
	}
	return sender
}

// answer replies to m when it is a request.
func (t *Transport) answer(m, reply *nats.Msg) {
	if m.Reply != "" {
		t.respond(m, reply)
	}
}

// respond sends reply to m's reply subject, counting a failure.
func (t *Transport) respond(m, reply *nats.Msg) {
	if m.Reply == "" {
		return
	}
	reply.Subject = m.Reply
	if err := t.nc.PublishMsg(reply); err != nil {
		t.replyFailed.Add(1)
	}
}

// respondData sends data with no headers to m's reply subject.
func (t *Transport) respondData(m *nats.Msg, data []byte) {
	if err := t.nc.Publish(m.Reply, data); err != nil {
		t.replyFailed.Add(1)
	}
}

// Served returns the agents this transport serves, sorted.
func (t *Transport) Served() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.subs))
	for a := range t.subs {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Close ends every subscription, waits until the deliveries in flight
// have finished or ctx ends (then cancels their context and waits for
// them to return), and closes the connection New made. It is idempotent
// and safe for concurrent use; Send and Publish fail afterwards.
func (t *Transport) Close(ctx context.Context) error {
	t.mu.Lock()
	already := t.closed
	t.closed = true
	t.shut.Store(true)
	for a, sub := range t.subs {
		t.forget(sub)
		delete(t.subs, a)
	}
	t.mu.Unlock()
	if already {
		return nil
	}
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.cancel()
		<-done
	}
	t.cancel()
	if t.owned {
		t.nc.Close()
	}
	return nil
}
