package busnats

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile/bus"
)

// Serve subscribes agent, registered on b, to its subject in the queue
// group named after it, so that the replicas of an agent in several
// processes share its messages (each one goes to one of them). Every
// message that arrives is delivered with b.Deliver — the hash check,
// chaos, the breaker, the handler and metering of b — under the sender's
// deadline (a published one under Config.PublishTimeout too), at most
// Config.MaxInFlight at once; the reply (or the error, as a
// *RemoteError at the sender) goes back to the sender. A probe (see
// Probe) is answered at once without delivery. It returns once the
// subscription is made; Close ends it. A second Serve of one agent is
// ErrServing; a name that cannot be a subject token is a
// *ValidationError.
func (t *Transport) Serve(b *bus.Bus, agent string) error {
	if err := checkAgent(agent); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.subs[agent] != nil {
		return &bus.AgentError{Agent: agent, Err: ErrServing}
	}
	sub, err := t.nc.QueueSubscribe(t.Subject(agent), agent, func(m *nats.Msg) { t.arrived(b, agent, m) })
	if err != nil {
		return err
	}
	if err := sub.SetPendingLimits(t.cfg.PendingLimit, -1); err != nil {
		_ = sub.Unsubscribe()
		return err
	}
	t.subs[agent] = sub
	return nil
}

// Unserve ends the subscription of agent and reports whether it was
// served; deliveries in flight finish (Close waits for them).
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

// arrived runs in the subscription's goroutine: it takes a delivery slot
// (waiting while MaxInFlight deliveries run, which leaves the following
// messages in the subscription's buffer) and delivers m in a goroutine of
// its own.
func (t *Transport) arrived(b *bus.Bus, agent string, m *nats.Msg) {
	if m.Header.Get(HeaderProbe) == "1" {
		t.probes.Add(1)
		t.respond(m, &nats.Msg{})
		return
	}
	t.received.Add(1)
	select {
	case t.sem <- struct{}{}:
	case <-t.base.Done():
		return
	}
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		<-t.sem
		return
	}
	t.wg.Add(1)
	t.mu.RUnlock()
	go func() {
		defer func() { <-t.sem; t.wg.Done() }()
		t.deliver(b, agent, m)
	}()
}

// deliver decodes m, delivers it to b under its deadline and answers it.
func (t *Transport) deliver(b *bus.Bus, agent string, m *nats.Msg) {
	req, err := decodeRequest(agent, m.Header, m.Data)
	if err != nil {
		t.malformed.Add(1)
		if t.cfg.Logger != nil {
			t.cfg.Logger.Warn("busnats: malformed request", slog.String("agent", agent), slog.Any("error", err))
		}
		t.answer(m, &nats.Msg{Header: nats.Header{HeaderKind: {KindMalformed}, HeaderError: {err.Error()}}})
		return
	}
	ctx := t.base
	var cancel context.CancelFunc = func() {}
	switch {
	case !req.deadline.IsZero() && m.Reply == "":
		ctx, cancel = context.WithDeadline(ctx, minTime(req.deadline, time.Now().Add(t.cfg.PublishTimeout)))
	case !req.deadline.IsZero():
		ctx, cancel = context.WithDeadline(ctx, req.deadline)
	case m.Reply == "":
		ctx, cancel = context.WithTimeout(ctx, t.cfg.PublishTimeout)
	}
	reply, err := b.Deliver(ctx, req.msg)
	cancel()
	if m.Reply == "" {
		if err != nil {
			t.publishFailed.Add(1)
		}
		return
	}
	t.answer(m, encodeReply(reply, err))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
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
