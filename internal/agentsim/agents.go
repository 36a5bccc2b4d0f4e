package agentsim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/recovery"
)

// The simulated governance agents.
const (
	Proposer     = "proposer"
	Validator    = "validator"
	PolicyEngine = "policy_engine"
	Deliberation = "deliberation"
	Auditor      = "auditor"
	Executor     = "executor"
)

// Agents returns the names of the simulated agents, in the order a proposal
// flows through them.
func Agents() []string {
	return []string{Proposer, Validator, PolicyEngine, Deliberation, Executor, Auditor}
}

// Weights are the agents' weights in the health score: validator and
// policy_engine are governance-critical and weigh 4, the others 1, so that
// either of the two open alone makes the system DEGRADED (8/12 < 0.7),
// while any other agent open alone leaves it HEALTHY (11/12).
func Weights() map[string]float64 {
	return map[string]float64{Proposer: 1, Validator: 4, PolicyEngine: 4, Deliberation: 1, Executor: 1, Auditor: 1}
}

// Proposal is the payload of the simulated messages.
type Proposal struct {
	Tenant string  `json:"tenant"`
	Seq    uint64  `json:"seq"`
	Action string  `json:"action"`
	Amount float64 `json:"amount"`
	Risk   float64 `json:"risk"`
}

// ping is the payload of a recovery health check.
const pingType = "ping"

// ErrRejected is returned by the policy engine for a proposal its rules
// deny. The simulation never sends such proposals; a handler returning it
// would count as a failure.
var ErrRejected = errors.New("gameday: proposal rejected by policy")

// agents holds the small real state the handlers work on.
type agents struct {
	audit struct {
		mu   sync.Mutex
		ring [256][sha256.Size]byte // guarded by mu
		n    uint64                 // guarded by mu
	}
	executed sync.Map // tenant → *atomic.Int64: executed amount in cents

	// With the cascade topology, bus carries the calls an agent makes to
	// its downstream (see downstream); with fallback a failed call to the
	// downstream (its breaker open, or its failure) is no failure of the
	// caller, which goes on without it.
	bus      *bus.Bus
	cascade  bool
	fallback bool
}

// downstream is who an agent calls within a message in the cascade
// topology.
var downstream = map[string]string{Proposer: PolicyEngine, PolicyEngine: Validator}

// callDownstream makes name's call to its downstream for m, if it has one
// in the cascade topology. With fallback a failed call is no failure:
// deferred reports it, and the caller answers without the downstream.
func (a *agents) callDownstream(ctx context.Context, name string, m bus.Message) (deferred bool, err error) {
	down, ok := downstream[name]
	if !a.cascade || !ok {
		return false, nil
	}
	next := bus.NewMessage(name, down, m.Type, m.Payload)
	next.Tenant = m.Tenant
	if _, err := a.bus.Send(ctx, next); err != nil {
		if a.fallback {
			return true, nil
		}
		return false, fmt.Errorf("%s: its call to %s failed: %w", name, down, err)
	}
	return false, nil
}

// handler returns the handler of the named agent. Each does a little real
// work on the proposal (hashing, rule checks, a weighted vote, an audit
// chain, a ledger update) and reports the tokens it processed in its Reply.
func (a *agents) handler(name string) bus.Handler {
	return func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		if m.Type == pingType {
			return bus.Reply{Payload: "pong"}, nil
		}
		p, ok := proposalOf(m.Payload)
		if !ok {
			return bus.Reply{}, fmt.Errorf("%s: unexpected payload %T", name, m.Payload)
		}
		if _, err := a.callDownstream(ctx, name, m); err != nil {
			return bus.Reply{}, err
		}
		r, err := a.handle(name, p)
		if err == nil {
			r.Tokens = proposalTokens(p)
		}
		return r, err
	}
}

// proposalOf returns the proposal a payload carries: a Proposal sent in
// this process, or its JSON encoding (json.RawMessage or []byte) when it
// came from another process through the bus's Transport.
func proposalOf(payload any) (Proposal, bool) {
	var raw []byte
	switch v := payload.(type) {
	case Proposal:
		return v, true
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		return Proposal{}, false
	}
	var p Proposal
	if err := json.Unmarshal(raw, &p); err != nil {
		return Proposal{}, false
	}
	return p, true
}

// replyValue is a reply's payload as this process would have produced it:
// a reply that came from another process is JSON (json.RawMessage) and is
// decoded into the plain value it encodes (a string, a number); nil when it
// is not valid JSON.
func replyValue(reply any) any {
	raw, ok := reply.(json.RawMessage)
	if !ok {
		return reply
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

// proposalTokens is the number of tokens an agent processes for p: its
// text at four characters a token, plus eight for its numbers and framing.
func proposalTokens(p Proposal) int64 {
	return 8 + int64(len(p.Tenant)+len(p.Action)+3)/4
}

// handle runs the named agent's work on p.
func (a *agents) handle(name string, p Proposal) (bus.Reply, error) {
	switch name {
	case Proposer:
		return bus.Reply{Payload: digest(p)}, nil
	case Validator:
		if p.Tenant == "" || p.Action == "" || p.Amount < 0 {
			return bus.Reply{}, fmt.Errorf("validator: malformed proposal %d", p.Seq)
		}
		return bus.Reply{Payload: digest(p)[:8]}, nil
	case PolicyEngine:
		allowed := !strings.HasPrefix(p.Action, "delete") && p.Amount <= 10_000 && p.Risk < 0.99
		if !allowed {
			return bus.Reply{}, ErrRejected
		}
		return bus.Reply{Payload: "allow"}, nil
	case Deliberation:
		// A three-member weighted vote on the risk.
		votes := [...]float64{1 - p.Risk, 1 - p.Risk*p.Risk, 0.5 + (0.5-p.Risk)/2}
		weights := [...]float64{0.5, 0.3, 0.2}
		var score float64
		for i := range votes {
			score += votes[i] * weights[i]
		}
		return bus.Reply{Payload: score}, nil
	case Executor:
		v, _ := a.executed.LoadOrStore(p.Tenant, new(atomic.Int64))
		v.(*atomic.Int64).Add(int64(p.Amount * 100))
		return bus.Reply{Payload: "done"}, nil
	case Auditor:
		a.audit.mu.Lock()
		prev := a.audit.ring[a.audit.n%uint64(len(a.audit.ring))]
		a.audit.n++
		h := sha256.New()
		h.Write(prev[:])
		h.Write([]byte(digest(p)))
		var next [sha256.Size]byte
		h.Sum(next[:0])
		a.audit.ring[a.audit.n%uint64(len(a.audit.ring))] = next
		a.audit.mu.Unlock()
		return bus.Reply{Payload: hex.EncodeToString(next[:4])}, nil
	}
	return bus.Reply{}, fmt.Errorf("gameday: no handler for %q", name)
}

// validReply reports whether reply is what agent to's work gives for
// payload: recomputed for the agents whose answer depends on the proposal
// alone, checked for its form for the auditor (a chained hash). A reply
// from another process is decoded first (see replyValue). A reply to
// anything but a Proposal is not checked.
func validReply(to string, payload, reply any) bool {
	p, ok := payload.(Proposal)
	if !ok {
		return true
	}
	reply = replyValue(reply)
	switch to {
	case Executor:
		return reply == "done"
	case Auditor:
		s, ok := reply.(string)
		if !ok || len(s) != 8 {
			return false
		}
		_, err := hex.DecodeString(s)
		return err == nil
	}
	want, err := (&agents{}).handle(to, p)
	return err == nil && reply == want.Payload
}

// digest returns the hex SHA-256 of a proposal's fields.
func digest(p Proposal) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], p.Seq)
	h.Write(b[:])
	h.Write([]byte(p.Tenant))
	h.Write([]byte(p.Action))
	binary.LittleEndian.PutUint64(b[:], uint64(p.Amount*100))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
}

// BreakerConfig is the configuration of the agents' breakers, its timings
// multiplied by scale (≤ 0 means 1): trip after 5 consecutive failures,
// stay open 2 s, doubling after every failed probe up to 8 s.
func BreakerConfig(scale float64) breaker.Config {
	if scale <= 0 {
		scale = 1
	}
	return breaker.Config{
		ConsecutiveFailures:   5,
		OpenTimeout:           max(scenario.ScaleDuration(2*time.Second, scale), 10*time.Millisecond),
		OpenTimeoutMultiplier: 2,
		MaxOpenTimeout:        max(scenario.ScaleDuration(8*time.Second, scale), 40*time.Millisecond),
	}
}

// RecoveryPolicy is the recovery policy of an agent, its timings multiplied
// by scale (≤ 0 means 1), whose health check is check: exponential backoff
// from 500 ms doubling up to 4 s, 10 attempts, health check bounded by 1 s
// (never below 500 ms real time).
func RecoveryPolicy(scale float64, check func(context.Context) error) recovery.Policy {
	if scale <= 0 {
		scale = 1
	}
	return recovery.Policy{
		MaxRetryAttempts:   10,
		BackoffMultiplier:  2,
		InitialDelay:       scenario.ScaleDuration(500*time.Millisecond, scale),
		MaxDelay:           scenario.ScaleDuration(4*time.Second, scale),
		HealthCheck:        check,
		HealthCheckTimeout: max(scenario.ScaleDuration(time.Second, scale), 500*time.Millisecond),
		Strategy:           recovery.ExponentialBackoff,
	}
}
