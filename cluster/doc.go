// Package cluster joins instances of the toolkit into one cluster through a
// shared store (package clusternats implements it on NATS JetStream): one
// view of every instance's health, one safety lever that stops chaos
// everywhere, chaos aimed at part of the fleet, and breakers that trip when
// a quorum of peers has them open.
//
//	store, err := clusternats.Open(ctx, clusternats.Config{URL: "nats://127.0.0.1:4222"})
//	...
//	m, err := cluster.New(cluster.Config{Name: "shop", Labels: map[string]string{"zone": "eu-1"},
//		Quorum: map[string]int{"payments": 2}},
//		cluster.Sources{Breakers: reg, Health: agg, Chaos: engine, Recovery: orch}, store)
//	...
//	go m.Run(ctx)          // heartbeats, the lever, fleet chaos, signals
//	<-m.Started()          // the lever has been read: a latched stop is applied
//	v, err := m.View(ctx)  // "payments open on 3 of 5 instances"
//	m.EmergencyStop(ctx, "alice")
//
// # What one instance does per second
//
// A member writes one heartbeat per interval and receives its
// acknowledgement. It watches three things only: the lever key, its own
// fleet assignments, and the signals of the breakers it opted into a
// quorum for; a breaker signal is written when a breaker opens by its own
// rule or stops being open, and rewritten every SignalTTL/2 while it stays
// open. Nobody watches heartbeats: View lists them on demand. What an
// instance receives and computes per second is therefore independent of
// the number of instances, except for the signals of its opted-in
// breakers, which grow with the peers that have those breakers open (see
// docs/cluster.md for the arithmetic).
//
// # Failure
//
// A member that cannot reach the store keeps its breakers, health and
// recovery working locally; after Config.Lease without contact it stops its
// own chaos (the dead-man switch), and lifts that stop once it reaches the
// store again and no cluster stop is latched. View then returns the last
// view read, marked stale.
package cluster
