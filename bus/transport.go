package bus

import (
	"context"
	"errors"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/metering"
)

// Transport carries messages to agents that are not registered on this bus,
// in other processes (package bus/busnats carries them over NATS). A bus
// with a Transport (Config.Transport) sends a message whose recipient it
// does not know through it, after its own hash check, the chaos of the link
// (Link) and the recipient's breaker; the receiving process delivers it with
// Bus.Deliver, through its whole pipeline. Implementations must be safe for
// concurrent use and must not call back into the sending bus.
type Transport interface {
	// Link returns the chaos target of the link from this process to the
	// remote agent, such as "link:api->validator": the sending bus applies
	// Config.Chaos to it before the message leaves. It must not block and
	// should return the same string for the same agent.
	Link(agent string) string
	// Send delivers msg to the remote agent msg.To and returns its reply,
	// blocking until the reply arrives or ctx ends (the deadline of ctx is
	// the receiver's too). An error that never reached a receiver (no
	// responder, a closed connection, ctx done before it left) must wrap
	// ErrNotDelivered: the sender then meters the message itself.
	Send(ctx context.Context, msg Message) (Reply, error)
	// Publish sends msg one way to the remote agent msg.To and returns once
	// it is handed to the wire; errors wrapping ErrNotDelivered are metered
	// by the sender, as for Send.
	Publish(ctx context.Context, msg Message) error
}

// ErrNotDelivered is wrapped by the errors of a Transport for a message that
// reached no receiving process. The sending bus meters such a message (no
// receiver will), and every other message a transport carried is metered by
// the receiver alone.
var ErrNotDelivered = errors.New("bus: message not delivered")

// MaxRemoteAgents bounds the names of remote agents a bus sends to through
// its Transport (each has a breaker and a chaos target); a message to a new
// name past it is refused with ErrUnknownAgent.
const MaxRemoteAgents = 4096

// remote is an agent of another process, known by the messages sent to it.
// Its fields never change once it is in the table.
type remote struct {
	name    string
	link    string
	breaker *breaker.Breaker
}

// remoteFor returns the remote agent to, creating it (with its breaker in
// the registry) on the first message; nil without a Transport.
func (b *Bus) remoteFor(to string) (*remote, error) {
	if b.cfg.Transport == nil {
		return nil, nil
	}
	if m := b.remotes.Load(); m != nil {
		if r := (*m)[to]; r != nil {
			return r, nil
		}
	}
	return b.addRemote(to)
}

// addRemote is remoteFor's slow path, under b.mu.
func (b *Bus) addRemote(to string) (*remote, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var cur map[string]*remote
	if m := b.remotes.Load(); m != nil {
		cur = *m
	}
	if r := cur[to]; r != nil {
		return r, nil
	}
	if len(cur) >= MaxRemoteAgents {
		return nil, &AgentError{Agent: to, Err: ErrUnknownAgent}
	}
	br, err := b.cfg.Registry.GetOrCreate(to, b.cfg.Breaker)
	if err != nil {
		return nil, err
	}
	r := &remote{name: to, link: b.cfg.Transport.Link(to), breaker: br}
	next := make(map[string]*remote, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[to] = r
	b.remotes.Store(&next)
	return r, nil
}

// sendRemote is Send and Publish (publish true) for a remote recipient:
// chaos on the link, the recipient's breaker, then the transport. The
// sender meters the message only when it never left (chaos, the breaker)
// or the transport says it reached no receiver.
func (b *Bus) sendRemote(ctx context.Context, r *remote, msg *Message, publish bool) (reply Reply, err error) {
	b.remote.Add(1)
	start := time.Now()
	var chaosErr error
	if b.cfg.Chaos != nil {
		chaosErr = b.cfg.Chaos.Apply(ctx, r.link)
	}
	t, err := r.breaker.Allow()
	if err != nil {
		b.undelivered(msg, metering.OutcomeRejected, time.Since(start), err)
		return Reply{}, err
	}
	if chaosErr != nil {
		t.Done(chaosErr)
		outcome := metering.OutcomeInjected
		if b.cfg.IsInjected != nil && !b.cfg.IsInjected(chaosErr) {
			outcome = metering.OutcomeError
		}
		b.undelivered(msg, outcome, time.Since(start), chaosErr)
		return Reply{}, chaosErr
	}
	if publish {
		err = b.cfg.Transport.Publish(ctx, *msg)
	} else {
		reply, err = b.cfg.Transport.Send(ctx, *msg)
	}
	t.Done(err)
	if err != nil && errors.Is(err, ErrNotDelivered) {
		b.undelivered(msg, metering.OutcomeError, time.Since(start), err)
	}
	return reply, err
}

// undelivered counts and meters, at the sender, a message for a remote
// agent that reached no receiver, with its outcome and the reason.
func (b *Bus) undelivered(msg *Message, outcome metering.Outcome, took time.Duration, err error) {
	b.remoteUndelivered.Add(1)
	switch outcome {
	case metering.OutcomeRejected:
		b.rejected.Add(1)
	case metering.OutcomeInjected:
		b.injected.Add(1)
	default:
		b.failed.Add(1)
	}
	if b.cfg.Meter != nil {
		ev := metering.AgentMessageEvent(msg.Tenant, msg.From, msg.To, msg.Type, took, true, "",
			map[string]any{"remote": true, "delivered": false, "reason": err.Error()})
		ev.Outcome = outcome
		b.cfg.Meter.Record(ev)
	}
}

// Deliver delivers msg, which arrived from another process through a
// Transport, to the agent msg.To registered on this bus, through the whole
// pipeline in the caller's goroutine: the hash check (a mismatch is
// metered here as a constitutional_validation event and refused), chaos for
// the agent, its breaker, its handler and the agent_message metering event.
// It never forwards to the bus's own Transport: an agent not registered
// here is an *AgentError wrapping ErrUnknownAgent. A message whose ctx is
// already done (its deadline passed on the way) is not run: it is metered
// with outcome error and ctx's error is returned. The Observer's Delivering
// and Delivered see it (not Accepted: the sender's bus called that). It
// blocks as Send does and is safe for concurrent use.
func (b *Bus) Deliver(ctx context.Context, msg Message) (Reply, error) {
	if b.closed.Load() {
		return Reply{}, ErrClosed
	}
	b.received.Add(1)
	a, err := b.acceptLocal(&msg)
	if err != nil {
		return Reply{}, err
	}
	if err := ctx.Err(); err != nil {
		b.expired.Add(1)
		b.account(a, &msg, metering.OutcomeError, 0, 0, nil)
		return Reply{}, err
	}
	return b.dispatch(ctx, a, &msg, false)
}

// Remote reports whether a message to name would leave this process: no
// agent of that name is registered here and the bus has a Transport.
func (b *Bus) Remote(name string) bool {
	return b.cfg.Transport != nil && (*b.agents.Load())[name] == nil
}

// remoteCounts fills the counters of messages across processes into m.
func (b *Bus) remoteCounts(m *Metrics) {
	m.Remote, m.RemoteUndelivered = b.remote.Load(), b.remoteUndelivered.Load()
	m.Received, m.ExpiredOnArrival = b.received.Load(), b.expired.Load()
}
