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
//	defer sink.Close()
//	m, err := metering.New(metering.Config{Sink: sink})
//	...
//	go m.Run(ctx)
//	u, err := sink.Usage(ctx, "acme") // the tenant's aggregates
//
// # Exactly once
//
// Each Write runs one Lua script (EVALSHA, falling back to EVAL after a
// restart flushed the script cache). The script first sets a guard key
// "<prefix>batch:<id>" with SET NX PX; if the key already exists the batch
// was applied before and the script does nothing. Otherwise it XADDs every
// event (field "event", the event's JSON; MAXLEN ~ Config.MaxLen) and
// HINCRBYs the tenant hashes. Redis runs a script atomically, so a batch is
// applied entirely or not at all (barring an error inside the script, which
// these commands do not raise on well-formed keys).
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
