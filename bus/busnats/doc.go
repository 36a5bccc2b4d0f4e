// Package busnats carries the agent bus (package bus) between processes on
// NATS core request/reply: an agent registered on the bus of any process is
// reachable by name from the bus of any other, through the same pipeline.
//
//	tr, err := busnats.New(busnats.Config{URL: url, Process: "api"})
//	if err != nil {
//		return err
//	}
//	defer tr.Close(context.Background())
//	b, err := bus.New(bus.Config{Registry: reg, Chaos: engine, Meter: meter, Transport: tr})
//	// serve a local agent to the other processes:
//	_ = b.Register("validator", validate)
//	_ = tr.Serve(b, "validator")
//	// reach an agent of another process by its name:
//	reply, err := b.Send(ctx, bus.NewMessage("proposer", "auditor", "audit", payload))
//
// # The wire
//
// Each agent is served on the subject Config.Prefix + "." + agent
// ("af.bus.validator"), in a queue group named after the agent: the
// replicas of an agent in several processes share its messages, each
// message going to one of them. Bus.Send is a NATS request whose reply is
// the handler's; Bus.Publish a one-way NATS publish (at most once: a
// message to an agent nobody serves is lost by the server). The message's
// id, type, tenant, priority and constitutional hash travel as headers of
// their own (HeaderID …), its send time, the sender's deadline and the
// sender in one, the envelope (HeaderEnvelope); and so does every entry of
// bus.Message.Headers, such as the W3C "traceparent" an Observer adds.
//
// The payload is bytes on the wire while the bus API keeps its types: a
// []byte payload is carried as it is and the receiving handler sees a
// []byte; a json.RawMessage is carried as it is and seen as a
// json.RawMessage; any other value (a string, a struct, a map) is encoded
// with encoding/json and seen as a json.RawMessage of that encoding;
// nil is no bytes and seen as nil. Replies follow the same rules.
//
// # The pipeline on both sides
//
// The sending bus checks the hash, applies its chaos engine to the link's
// target LinkTarget(process, agent) ("link:api->validator": latency,
// errors, timeouts and partitions of that link, at the sender) and asks its
// breaker named after the agent (from its registry, so that a dead or
// partitioned remote agent opens it) before the message leaves. "No
// responders" — no process serves the agent — fails at once with a
// *NotDeliveredError matching ErrNoResponders, which counts as a failure
// for that breaker. PartitionScenario makes a partition between two named
// processes a chaos scenario.
//
// The receiving process runs the message through its own bus with
// Bus.Deliver: hash check (a mismatch is refused and metered there as a
// constitutional_validation event), chaos for the agent, the agent's
// breaker, its handler and metering — the bus's delivery code, not a copy.
// The sender's deadline bounds the handler's context; a message whose
// deadline passed on the way is not run. A failure there comes back as a
// *RemoteError that errors.Is matches against the local sentinel
// (breaker.ErrOpen, context.DeadlineExceeded, antifragile.ErrHashMismatch,
// chaos.ErrInjected …).
//
// # Metering: exactly once
//
// A message that reached a receiving process is metered there, once, by
// its bus, whatever the outcome (ok, error, rejected by its breaker,
// injected by its chaos; a deadline passed on arrival is an error; a hash
// mismatch is a constitutional_validation event). A message that reached no
// receiver is metered once by the sending bus with its outcome: rejected
// (the sender's breaker was open), injected (chaos on the link) or error
// (no responders, a closed connection, a context done before it left),
// with metadata remote: true, delivered: false and the reason. A request
// that timed out waiting for its reply is not metered by the sender: it
// reached a receiver, which meters it (or it was lost with that process,
// as a kill -9 loses what it holds, or dropped there as a slow consumer
// and counted, see below). Probes are metered nowhere.
//
// # Back-pressure
//
// Each served agent has Config.Concurrency workers, each delivering one
// message at a time; the messages after them wait in the agent's
// subscription buffer, up to Config.PendingLimit. Past that NATS drops
// them as a slow consumer: they are counted in Metrics.Dropped (and each
// episode in Metrics.SlowConsumer), never lost without a count.
//
// # Faults
//
// When a receiving process dies (even by kill -9) the server drops its
// subscriptions, so requests to an agent it alone served fail fast with
// ErrNoResponders and open the sender's breaker within its trip rule.
// Transport.HealthCheck(agent) is a recovery.Policy health check that
// probes the agent (answered by the receiving transport without running
// the pipeline), so that the recovery orchestrator closes the breaker once
// a replica serves it again; a restarted receiver serves again without
// restarting its senders.
package busnats
