// Package bus is a small in-process message bus for agents, the home the
// toolkit's components were built for. Every message goes through one
// pipeline, in order:
//
//  1. its constitutional hash is validated (a mismatch is a
//     *antifragile.HashMismatchError and is metered as an invalid
//     constitutional validation; the handler never sees the message);
//  2. the chaos engine is applied for the recipient (injected latency,
//     errors, partitions, timeouts);
//  3. the recipient's circuit breaker admits the call or fails fast with
//     breaker.ErrOpen; injected chaos errors count against the breaker;
//  4. the recipient's handler runs with the caller's context (a panic is a
//     failure for the breaker and an error for the caller, never a crash);
//  5. an agent_message metering event records latency, validity and outcome.
//
// Send is request/reply in the caller's goroutine; Publish is
// fire-and-forget through a bounded mailbox per agent that Run drains.
//
// An optional Transport (Config.Transport; package bus/busnats carries the
// bus over NATS) reaches agents of other processes: Send and Publish to a
// name not registered here pass this bus's hash check, chaos on the link
// (Transport.Link) and a breaker named after the remote agent, then go
// through the transport; the receiving process runs them through its own
// pipeline with Deliver. A message is metered once: by the receiver, or —
// when it never reached one (the breaker, chaos on the link, a transport
// error wrapping ErrNotDelivered) — by the sender. The Observer's Accepted
// runs at the sender (its headers travel), Delivering and Delivered at the
// receiver.
//
// An optional Observer (Config.Observer) may add headers to each message as
// it is accepted and is told each delivery's decisions — the seam that the
// nested module antifragile/otel uses for W3C trace context and a span per
// delivery. With none, the bus pays one nil check per message.
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	b, _ := bus.New(bus.Config{Registry: reg})
//	b.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
//		return bus.Reply{Payload: "ok"}, nil
//	})
//	reply, err := b.Send(ctx, bus.NewMessage("proposer", "validator", "validate", payload))
package bus
