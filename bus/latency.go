package bus

import (
	"slices"
	"strings"

	"github.com/antifragile-go/antifragile/latency"
)

// AgentLatency is the delivery-time histogram of the messages to one agent.
type AgentLatency struct {
	Agent   string
	Latency latency.Snapshot
}

// Latencies returns, for every registered agent sorted by name, the
// histogram of how long its messages took through the pipeline — from the
// start of delivery (after the hash check and the recipient's lookup)
// through chaos, the breaker and the handler to the handler's return —
// whatever the outcome: a message the breaker rejected or chaos failed
// counts too, with the time that took. A published message's wait in the
// mailbox is not part of it. The counts start when the agent registers and
// end with Unregister. Latencies takes no lock; it allocates the slice.
func (b *Bus) Latencies() []AgentLatency {
	cur := *b.agents.Load()
	out := make([]AgentLatency, 0, len(cur))
	for name, a := range cur {
		out = append(out, AgentLatency{Agent: name, Latency: a.latency.Snapshot()})
	}
	slices.SortFunc(out, func(x, y AgentLatency) int { return strings.Compare(x.Agent, y.Agent) })
	return out
}

// Latency returns the histogram of the durations of the deliveries to the
// agent name since it was registered, and true — or false when no such
// agent is registered. It takes no lock and allocates nothing; the health
// aggregator's anomaly detection reads an agent's latency baseline from it.
func (b *Bus) Latency(name string) (latency.Snapshot, bool) {
	a, ok := (*b.agents.Load())[name]
	if !ok {
		return latency.Snapshot{}, false
	}
	return a.latency.Snapshot(), true
}
