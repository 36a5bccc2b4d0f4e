// Package metering records usage events without ever slowing the caller
// down, and delivers every accepted event to a Sink in batches: a Meter and
// its Config, Hooks for the governance operations, and Metered wrappers that
// meter a function (package meteringhttp meters an HTTP handler).
//
// A Meter is a bounded lock-free queue. Record never blocks, allocates
// nothing for an event without metadata, stamps a zero timestamp from a
// millisecond clock, and returns false (counting a drop) when the queue is
// full. Run drains the queue into the sink in batches of BatchSize, as soon
// as a batch is full and every FlushInterval, retrying a refused batch with
// backoff while holding it; Close delivers what is left and reports what it
// could not deliver as a count.
//
// Sinks: MemorySink (the default) aggregates per tenant × operation × tier
// per window; FileSink appends JSON Lines; the metering/redis package
// appends to a Redis stream and increments per-tenant aggregates
// atomically and idempotently.
//
// Imports: the standard library and the root antifragile package only.
//
// Example:
//
//	m, err := metering.New(metering.Config{}) // memory sink, defaults
//	if err != nil {
//		return err
//	}
//	go m.Run(ctx)
//	defer m.Close(context.Background())
//
//	m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 12})
//	hooks := metering.NewHooks(m)
//	hooks.OnPolicyEvaluation("acme", "agent-1", "rbac", "allow", 300*time.Microsecond, "", nil)
//
//	usage := m.Sink().(*metering.MemorySink).Totals()
package metering
