// Package natssink is a metering.Sink on NATS JetStream for many
// instances metering into one place: each batch is stored once in a
// stream, and the stored batches are folded into per-tenant totals in a
// key-value bucket exactly once per batch id, however many instances write
// and fold at the same time.
//
//	sink, err := natssink.New(natssink.Config{URL: "nats://127.0.0.1:4222"})
//	if err != nil {
//		return err
//	}
//	defer sink.Close(ctx)
//	m, err := metering.New(metering.Config{Sink: sink})
//	...
//	go m.Run(ctx)
//	go sink.Run(ctx)                // folds new batches every second
//	agg, err := sink.Aggregates(ctx) // every tenant's totals, all instances
//
// # Storing a batch once
//
// Write validates the batch (every event within metering.Event.Validate's
// bounds; an invalid batch is refused whole with *ValidationErrors naming
// "events[i].<field>") and publishes it as JSON Lines on
// "<Subject>.batch" with the header Nats-Msg-Id set to
// metering.BatchID(events): the SHA-256 of the events' IDs, which the
// Meter keeps when it re-sends a refused batch and a metering.Spool keeps
// across restarts. The stream drops a message whose id it stored within
// its DuplicateWindow (2 minutes by default), so a batch whose
// acknowledgement was lost and that the Meter sent again is stored once
// (Metrics.Duplicates counts the re-sends it recognized). A batch above
// the server's max payload is split, at event boundaries, into parts
// "<id>-<i>-<n>"; the split depends only on the events and the max
// payload, so a re-send splits alike. Write returns only once JetStream
// acknowledged every part: the batch is then in the stream's store (and
// on a quorum of Replicas). nats-server acknowledges a write to its file
// store before it fsyncs it (every two minutes by default; 2.10 and later
// take jetstream { sync_interval: always }, 2.9 has no such option): for
// acknowledged batches to survive the crash of a machine, run three
// Replicas, or a server that syncs always.
//
// # Folding exactly once across instances
//
// The totals are not updated by Write, which would need a transaction
// over several keys that JetStream does not have. Instead any instance's
// Fold (Run calls it every FoldInterval; Aggregates and Usage call it
// first) reads the stream in sequence order from where the folding got to
// and, for each message:
//
//  1. marks its batch id in the bucket "<Bucket>_BATCHES" with
//     create-if-absent, the value being the message's sequence. If the id
//     is marked with another sequence, the message is the other copy of a
//     batch stored twice (re-sent after the DuplicateWindow, as after a
//     NATS outage longer than it) and is folded as nothing
//     (Metrics.FoldDuplicates). Whichever copy is marked first is the one
//     every folder counts, so a Fold reads and marks up to 32 messages at
//     once. Marks expire after BatchTTL (24 h).
//  2. sums the message's events per tenant. Once it has read its messages
//     (at most MaxFoldMessages), it adds each tenant's sums to the
//     tenant's entry "t.<tenant in base64url>" of the bucket Bucket by
//     compare-and-set on the entry's revision, writing with the sums the
//     sequence of the last message folded in. An entry holds sequence S
//     only once every message up to S that names the tenant is in it, so
//     a folder adds only its messages after the entry's sequence, and
//     nothing when another folder got further; a lost compare-and-set is
//     read again and retried (Metrics.Conflicts).
//
// After its messages a Fold moves the bucket's "cursor" (the sequence
// through which every message is folded) forward, and a folder starts
// after the cursor when that is ahead of its own position, so instances
// share the work: with folds a fraction of a FoldInterval apart, each
// batch is read by about one of them (folders that start at the same
// instant read the same batches, and the second adds nothing). A folder that
// dies between steps leaves nothing half-counted: a mark without sums is
// found with the message's own sequence and the sums are added by whoever
// comes next, and each tenant's entry is written at once. The work of a
// fold is two round trips per stored batch (read it with a direct get,
// mark it), 32 in flight, and two per tenant per Fold, whatever the
// number of instances.
//
// What is not covered: a batch whose two copies are more than BatchTTL
// apart is counted twice; a message removed by MaxAge or MaxBytes before
// any instance folded it is not counted (Metrics.Skipped) — fold more
// often than the stream forgets; a stream deleted and made anew while the
// bucket keeps its totals makes Fold return ErrStreamReset.
//
// # Streams and buckets
//
//	<Stream>            "<Subject>.>": batches, JSON Lines (default AF_METERING)
//	<Bucket>            "t.<tenant>" totals and "cursor" (default AF_METERING_USAGE)
//	<Bucket>_BATCHES    "b.<batch id>": the first sequence of each batch, TTL BatchTTL
//
// The Sink creates them on its first call, or updates their limits to its
// Config (duplicate window, max age and bytes, replicas).
package natssink
