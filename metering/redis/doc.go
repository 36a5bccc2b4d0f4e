// Package redissink is a metering.Sink that appends every event to a Redis
// stream and increments per-tenant aggregates, in one atomic and idempotent
// step per batch. It lives in the directory metering/redis; its package name
// is redissink so that it does not clash with go-redis's own package redis:
//
//	import redissink "github.com/antifragile-go/antifragile/metering/redis"
//
//	sink, err := redissink.New(redissink.Config{Addr: "127.0.0.1:6379"})
//	if err != nil {
//		return err
//	}
//	defer sink.Close(ctx)
//	m, err := metering.New(metering.Config{Sink: sink})
//	...
//	go m.Run(ctx)
//	u, err := sink.Usage(ctx, "acme") // the tenant's aggregates
//
// # Exactly once
//
// Each Write first validates the batch in Go (every event's figures within
// metering.Event.Validate's bounds, and each tenant's sums over the batch
// below AggregateLimit), refusing it with typed errors and writing nothing.
// It then runs one Lua script (EVALSHA, falling back to EVAL after a restart
// flushed the script cache). Redis runs a script atomically but does not
// roll it back when a command inside fails, so the script does every check
// that could fail before its first write: if the guard key
// "<prefix>batch:<id>" exists the batch was applied before and the script
// does nothing; a key of the wrong type, an aggregate that is not an
// integer, or one that the batch would take past AggregateLimit refuses the
// batch with an error and nothing written. Only then does it XADD every
// event (field "event", the event's JSON; MAXLEN ~ Config.MaxLen), HINCRBY
// the tenant hashes and, last, set the guard (PX BatchTTL). A script that
// failed midway all the same (an out-of-memory refusal comes at its first
// write) leaves no guard, so the retry applies the batch rather than
// skipping it as a duplicate. Aggregates are int64: a tenant whose sums
// near AggregateLimit (9×10^18; 104 days of latency_ns at 10^12 ns of
// metered latency a second) needs a new KeyPrefix.
//
// Write receives only the events, so the batch id is derived from them:
// the SHA-256 of the events' IDs (length-prefixed, in order, with the
// count), truncated to 128 bits. The metering.Meter re-sends a refused batch
// unchanged — same events, same IDs, same order — so a batch whose reply
// was lost (timeout, connection reset, Redis killed after applying it) is
// recognized and not counted twice. An event without an ID contributes its
// JSON instead. Guard keys expire after Config.BatchTTL.
//
// Connection loss is not retried inside the sink beyond go-redis's own
// command retries: Write returns the error and the Meter retries the same
// batch with backoff, holding it, until Redis is back. For acknowledged
// batches to survive a Redis crash, run Redis with appendonly yes and
// appendfsync always (or accept losing the last second with everysec).
//
// # Keys
//
//	<Stream>                 stream of events (default "antifragile:metering:events")
//	<prefix>batch:<id>       guard of an applied batch, expires after BatchTTL
//	<prefix>usage:<tenant>   hash of the tenant's aggregates (see Usage)
//	<prefix>tenants          set of tenants seen
//
// The script names keys it builds from the prefix, so it needs a single
// Redis node (or Sentinel); it is not Redis Cluster safe.
package redissink
