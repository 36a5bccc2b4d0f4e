package bus

import (
	"context"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/metering"
)

// Observer watches the messages of a Bus, for tracing and latency
// histograms (the nested module antifragile/otel has one on OpenTelemetry).
// Its methods run in the goroutine that handles the message, so they must
// not block; they are never called under a lock of the bus. A Bus with no
// Observer pays one nil check per message and allocates nothing for it.
type Observer interface {
	// Accepted is called by Send and Publish once msg is accepted (hash
	// valid, recipient known, ID and SentAt filled), with the sender's ctx,
	// before it is delivered or queued. It returns the headers the message
	// carries from then on: msg.Headers itself or a new map, never
	// msg.Headers modified in place (the sender may share it).
	Accepted(ctx context.Context, msg Message) map[string]string
	// Delivering is called as a delivery starts, before chaos, with the
	// context it runs under: the sender's for Send; for a queued message
	// (queued true) Run's or Drain's, bounded by Config.PublishTimeout. The
	// context it returns is the one chaos, the breaker and the handler see.
	Delivering(ctx context.Context, msg Message, queued bool) context.Context
	// Delivered is called once as the delivery ends, after it was metered,
	// with the context Delivering returned and the pipeline's decisions.
	Delivered(ctx context.Context, d Delivery)
}

// Delivery is what happened to one message in the pipeline (chaos →
// breaker → handler → metering), as an Observer is told.
type Delivery struct {
	// Message is the message delivered, with the headers Accepted returned.
	Message Message
	// Queued is true for a message queued by Publish (delivered by Run,
	// Drain or Close), false for one delivered by Send.
	Queued bool
	// Outcome is the delivery's metered outcome: OutcomeOK (the handler
	// succeeded), OutcomeError (the handler or chaos failed it with an error
	// that is not injected), OutcomeRejected (the breaker refused it; the
	// handler did not run) or OutcomeInjected (chaos injected its error).
	Outcome metering.Outcome
	// Err is the delivery's error (the one Send returns); nil when Outcome
	// is OutcomeOK.
	Err error
	// Duration is how long the delivery took, chaos included: the latency
	// metered.
	Duration time.Duration
	// ChaosDuration is how long Config.Chaos took to decide (injected
	// latency, a blocking timeout); 0 without Chaos.
	ChaosDuration time.Duration
	// ChaosErr is the error Config.Chaos returned for the message, or nil.
	ChaosErr error
	// BreakerState is the state of the recipient's breaker right after it
	// admitted or rejected the message.
	BreakerState breaker.State
}

// accepted lets the observer, if any, set msg's headers.
func (b *Bus) accepted(ctx context.Context, msg *Message) {
	if o := b.cfg.Observer; o != nil {
		msg.Headers = o.Accepted(ctx, *msg)
	}
}

// dispatch delivers msg to a, through the observer if there is one.
func (b *Bus) dispatch(ctx context.Context, a *agent, msg *Message, queued bool) (Reply, error) {
	o := b.cfg.Observer
	if o == nil {
		return b.deliver(ctx, a, msg, nil)
	}
	ctx = o.Delivering(ctx, *msg, queued)
	d := Delivery{Queued: queued}
	reply, err := b.deliver(ctx, a, msg, &d)
	d.Message, d.Err = *msg, err
	o.Delivered(ctx, d)
	return reply, err
}
