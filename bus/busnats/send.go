package busnats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile/bus"
)

// Send carries msg to a process serving msg.To and returns the reply: the
// handler's, or a *RemoteError for a delivery that failed there. It blocks
// until the reply arrives or ctx ends; a ctx without a deadline is bounded
// by Config.RequestTimeout, and the deadline travels in the Af-Env header
// (see HeaderEnvelope), enforced by the receiver. No process serving the agent is a
// *NotDeliveredError matching ErrNoResponders, at once. A bus with this
// Transport calls Send; calling it directly skips the sender's hash
// check, breaker and chaos. Safe for concurrent use.
func (t *Transport) Send(ctx context.Context, msg bus.Message) (bus.Reply, error) {
	t.sent.Add(1)
	if err := t.usable(ctx); err != nil {
		return t.notDeliveredReply(msg.To, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.cfg.RequestTimeout)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}
	w, err := t.encode(msg, deadline)
	if err != nil {
		return t.notDeliveredReply(msg.To, err)
	}
	resp, err := t.nc.RequestMsgWithContext(ctx, &w.m)
	w.release()
	if err != nil {
		return bus.Reply{}, t.requestError(msg.To, err)
	}
	return decodeReply(msg.To, resp)
}

// Publish carries msg one way to one process serving msg.To and returns
// once the connection has taken it (NATS core: at most once; a message
// to an agent nobody serves is lost by the server, and a receiver's
// failure is counted there, not returned). It does not block on the
// receiver. Safe for concurrent use.
func (t *Transport) Publish(ctx context.Context, msg bus.Message) error {
	t.published.Add(1)
	if err := t.usable(ctx); err != nil {
		return t.notDelivered(msg.To, err)
	}
	deadline, _ := ctx.Deadline()
	w, err := t.encode(msg, deadline)
	if err != nil {
		return t.notDelivered(msg.To, err)
	}
	err = t.nc.PublishMsg(&w.m)
	w.release()
	if err != nil {
		return t.notDelivered(msg.To, err)
	}
	return nil
}

// usable returns ErrClosed after Close, or ctx's error.
func (t *Transport) usable(ctx context.Context) error {
	if t.shut.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// encode checks msg.To and returns the wire form of msg.
func (t *Transport) encode(msg bus.Message, deadline time.Time) (*wire, error) {
	if err := checkAgent(msg.To); err != nil {
		return nil, err
	}
	w, err := encodeRequest(t.subject(msg.To), &msg, deadline)
	if err != nil {
		return nil, fmt.Errorf("busnats: encode the message to %q: %w", msg.To, err)
	}
	return w, nil
}

// requestError classifies the error of a request: no responders and a
// connection that could not carry it are not delivered; a timeout or a
// context ended while waiting may have reached a receiver, which meters
// it.
func (t *Transport) requestError(agent string, err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return t.notDelivered(agent, ErrNoResponders)
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrInvalidConnection),
		errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrConnectionDraining):
		return t.notDelivered(agent, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		t.timedOut.Add(1)
		return fmt.Errorf("busnats: no reply from %q in time: %w", agent, context.DeadlineExceeded)
	}
	return fmt.Errorf("busnats: request to %q: %w", agent, err)
}

func (t *Transport) notDelivered(agent string, err error) error {
	t.undelivered.Add(1)
	return &NotDeliveredError{Agent: agent, Err: err}
}

func (t *Transport) notDeliveredReply(agent string, err error) (bus.Reply, error) {
	return bus.Reply{}, t.notDelivered(agent, err)
}

// Probe asks a process serving agent whether it is there, without
// running its pipeline (nothing is metered, no handler runs): nil when one
// answered with the agent registered on its bus, a *RemoteError matching
// bus.ErrUnknownAgent when the agent is served but no longer registered, a
// *NotDeliveredError matching ErrNoResponders when none serves it. It blocks until the answer or ctx's end (bounded by
// Config.RequestTimeout without a deadline). Safe for concurrent use.
func (t *Transport) Probe(ctx context.Context, agent string) error {
	if err := checkAgent(agent); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.cfg.RequestTimeout)
		defer cancel()
	}
	m := &nats.Msg{Subject: t.subject(agent), Header: nats.Header{HeaderProbe: {"1"}, HeaderProcess: {t.cfg.Process}}}
	resp, err := t.nc.RequestMsgWithContext(ctx, m)
	if err != nil {
		return t.requestError(agent, err)
	}
	_, err = decodeReply(agent, resp)
	return err
}

// HealthCheck returns a health check of the remote agent for a recovery
// policy (recovery.Policy.HealthCheck): it probes the agent (Probe), so a
// recovery of the sender's breaker of agent succeeds once a replica
// serves it again.
func (t *Transport) HealthCheck(agent string) func(context.Context) error {
	return func(ctx context.Context) error { return t.Probe(ctx, agent) }
}
