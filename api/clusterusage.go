package api

import "github.com/antifragile-go/antifragile/metering"

// ClusterUsage is the body of GET /cluster/usage: every tenant's lifetime
// usage across the instances metering into one JetStream stream (the
// metering sink nats://), read from the per-tenant totals the instances
// fold the stored batches into, each batch once.
type ClusterUsage struct {
	// Stream is the JetStream stream the batches are stored in.
	Stream string `json:"stream"`
	// Usage holds each tenant's totals, by tenant (Operation, Tier, Start
	// and End are empty).
	Usage []metering.Usage `json:"usage"`
	// FoldedThrough is the stream sequence through which every stored
	// batch is in Usage; LastSeq is the stream's last. Batches after
	// FoldedThrough may be in Usage already (another instance folded
	// them) or not yet.
	FoldedThrough uint64 `json:"folded_through"`
	LastSeq       uint64 `json:"last_seq"`
}
