package busnats

// Metrics are a transport's counters since New.
type Metrics struct {
	// Sent and Published count Send and Publish calls; Undelivered those
	// of them that reached no receiver (no responders, a closed
	// connection, a context done before they left: metered by the
	// sending bus); TimedOut the requests whose reply did not come in
	// time (metered by the receiver if they reached one).
	Sent        uint64 `json:"sent"`
	Published   uint64 `json:"published"`
	Undelivered uint64 `json:"undelivered"`
	TimedOut    uint64 `json:"timed_out"`
	// Received counts the messages that arrived for served agents (probes
	// aside), Probes the probes answered, Malformed the requests that
	// could not be read (answered with KindMalformed, not metered),
	// PublishFailed the published messages whose delivery failed here
	// (metered by the bus), ReplyFailed the replies that could not be sent.
	Received      uint64 `json:"received"`
	Probes        uint64 `json:"probes"`
	Malformed     uint64 `json:"malformed"`
	PublishFailed uint64 `json:"publish_failed"`
	ReplyFailed   uint64 `json:"reply_failed"`
	// Dropped counts the messages NATS dropped because a served agent's
	// buffer was full (Config.PendingLimit: the receiver is slower than
	// its senders) — they never reached the pipeline, so they are counted
	// here and not metered; a request among them times out at its sender.
	// SlowConsumer counts the slow-consumer episodes of the served agents'
	// subscriptions (NATS reports one per episode, however many it drops).
	Dropped      uint64 `json:"dropped"`
	SlowConsumer uint64 `json:"slow_consumer"`
	// InFlight is the number of deliveries running now, Pending the
	// messages waiting in the served agents' buffers, Served the number of
	// agents served.
	InFlight int `json:"in_flight"`
	Pending  int `json:"pending"`
	Served   int `json:"served"`
}

// Metrics returns the transport's counters. It takes the transport's lock
// briefly to read the subscriptions' dropped counts.
func (t *Transport) Metrics() Metrics {
	m := Metrics{
		Sent: t.sent.Load(), Published: t.published.Load(), Undelivered: t.undelivered.Load(), TimedOut: t.timedOut.Load(),
		Received: t.received.Load(), Probes: t.probes.Load(), Malformed: t.malformed.Load(),
		PublishFailed: t.publishFailed.Load(), ReplyFailed: t.replyFailed.Load(),
		SlowConsumer: t.slowConsumer.Load(), InFlight: int(t.inFlight.Load()),
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	m.Dropped = t.droppedGone.Load()
	for _, sub := range t.subs {
		if n, err := sub.Dropped(); err == nil && n > 0 {
			m.Dropped += uint64(n)
		}
		if n, _, err := sub.Pending(); err == nil {
			m.Pending += n
		}
	}
	m.Served = len(t.subs)
	return m
}
