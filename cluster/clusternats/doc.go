// Package clusternats is the cluster.Store on NATS JetStream key-value
// buckets, for the cluster mode of package cluster:
//
//	store, err := clusternats.Open(ctx, clusternats.Config{URL: "nats://127.0.0.1:4222"})
//	if err != nil {
//		return err
//	}
//	defer store.Close(context.Background())
//	m, err := cluster.New(cluster.Config{Name: "shop"}, sources, store)
//
// # Buckets
//
// Each cluster.Space is one bucket named BucketPrefix + "_" + the space's
// name ("AF_shop-members"), created by the first member that uses it with
// the space's TTL as the stream's MaxAge and its history per key; a bucket
// that exists keeps its settings. The per-key TTL of nats-server 2.11 is
// not used, so that 2.9 servers work: a member rewrites what must stay
// (its heartbeat every interval, its open breaker signals every half
// signal TTL), and readers judge values by their age. A value removed by
// MaxAge is not announced to watchers on these servers; package cluster
// does not rely on it.
//
// # Losing the server
//
// A connection made by Open reconnects for ever and refuses writes while
// it is down instead of buffering them, so that a write either reaches
// the server or returns an error at once (a buffered lever write could
// otherwise land long after its caller saw it fail). Watches are made
// anew after every reconnection (an ordered consumer on a restarted
// server is gone) and deliver the latest values again; the members'
// callbacks are idempotent.
package clusternats
