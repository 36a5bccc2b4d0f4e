package chaos

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
)

// Type is the kind of fault a Scenario injects. Its values are the strings
// used in JSON.
type Type string

// The fault types.
const (
	// TypeLatency delays every call to the target by Scenario.Delay.
	TypeLatency Type = "latency"
	// TypeError fails calls to the target with probability Scenario.ErrorRate.
	TypeError Type = "error"
	// TypeCircuitBreaker forces the breaker named by the target open.
	TypeCircuitBreaker Type = "circuit_breaker"
	// TypeResourceExhaustion consumes Scenario.ResourceType at
	// Scenario.ResourceLevel.
	TypeResourceExhaustion Type = "resource_exhaustion"
	// TypeNetworkPartition makes every call to the target fail with
	// ErrPartitioned.
	TypeNetworkPartition Type = "network_partition"
	// TypeTimeout makes every call to the target hang until its context ends.
	TypeTimeout Type = "timeout"

	// The message faults act on the messages an agent bus delivers to the
	// target (see Engine.Message), each on a share of them: Scenario.ErrorRate,
	// 0 meaning every message.

	// TypeCorruptReply garbles the reply the target's handler gave: a
	// Byzantine receiver that answers wrongly.
	TypeCorruptReply Type = "corrupt_reply"
	// TypeDuplicate delivers a message to the target twice.
	TypeDuplicate Type = "duplicate"
	// TypeReorder makes a message published to the target overtake the one
	// queued before it.
	TypeReorder Type = "reorder"
	// TypeWrongHash stamps a message to the target with a wrong
	// constitutional hash, which the bus's hash check must refuse.
	TypeWrongHash Type = "wrong_hash"
	// TypePoison makes a message a slow poison: its handling takes
	// Scenario.Delay longer (and holds the target's mailbox that long).
	TypePoison Type = "poison"
	// TypeCrash stops the target's handler outright: messages fail with
	// ErrCrashed without reaching it.
	TypeCrash Type = "crash"
)

// Types lists every fault type, in the order of the constants.
func Types() []Type {
	return []Type{TypeLatency, TypeError, TypeCircuitBreaker, TypeResourceExhaustion, TypeNetworkPartition, TypeTimeout,
		TypeCorruptReply, TypeDuplicate, TypeReorder, TypeWrongHash, TypePoison, TypeCrash}
}

// MessageTypes lists the message faults: the types that act on the
// messages a bus delivers rather than on calls.
func MessageTypes() []Type {
	return []Type{TypeCorruptReply, TypeDuplicate, TypeReorder, TypeWrongHash, TypePoison, TypeCrash}
}

// IsMessageFault reports whether t is one of MessageTypes.
func (t Type) IsMessageFault() bool { return slices.Contains(MessageTypes(), t) }

// Share returns the share of messages a message fault hits: ErrorRate, or
// every message (1) when it is 0.
func (s Scenario) Share() float64 {
	if s.ErrorRate == 0 {
		return 1
	}
	return s.ErrorRate
}

// Valid reports whether t is one of the fault types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// ResourceType is the resource a TypeResourceExhaustion scenario consumes.
// Its values are the strings used in JSON.
type ResourceType string

// The resources that can be exhausted.
const (
	// ResourceCPU keeps level × GOMAXPROCS cores busy.
	ResourceCPU ResourceType = "cpu"
	// ResourceMemory allocates and touches level × Config.MemoryCap bytes.
	ResourceMemory ResourceType = "memory"
	// ResourceConnections occupies level × size slots of the engine's Pool
	// named by the target (and by the blast radius).
	ResourceConnections ResourceType = "connections"
	// ResourceDiskIO writes and fsyncs a temporary file at
	// level × Config.DiskIO.BytesPerSecond.
	ResourceDiskIO ResourceType = "disk_io"
	// ResourceNetworkBandwidth leaves (1 − level) × Config.NetworkBandwidth
	// bytes per second to the target's traffic through chaoshttp.
	ResourceNetworkBandwidth ResourceType = "network_bandwidth"
)

// ResourceTypes lists every resource type, in the order of the constants.
func ResourceTypes() []ResourceType {
	return []ResourceType{ResourceCPU, ResourceMemory, ResourceConnections, ResourceDiskIO, ResourceNetworkBandwidth}
}

// Valid reports whether r is one of the resource types.
func (r ResourceType) Valid() bool { return slices.Contains(ResourceTypes(), r) }

// Duration limits of a scenario.
const (
	// DefaultDuration is the duration of a scenario whose JSON form has no
	// "duration".
	DefaultDuration = 10 * time.Second
	// MaxDuration is the hard cap of every scenario's duration: an engine
	// shortens longer scenarios to it (or to its lower Config.MaxDuration).
	MaxDuration = 300 * time.Second
	// MaxDelay is the hard cap of a latency scenario's delay, and of the
	// delays of several scenarios on one target added up; an engine's
	// Config.MaxDelay (DefaultMaxDelay unless set) may lower it.
	MaxDelay = MaxDuration
	// DefaultMaxDelay is an engine's delay bound when Config.MaxDelay is 0.
	DefaultMaxDelay = 30 * time.Second
	// MaxBlastRadius bounds the targets a scenario's blast radius names.
	MaxBlastRadius = 64
)

// Scenario describes one fault: what, where, how much and for how long. It is
// plain data; an Engine activates it with Inject. Its JSON form (see
// MarshalJSON) is the one that files, the HTTP API and the CLI use.
type Scenario struct {
	// Name identifies the scenario in the engine; injecting another scenario
	// with the same name replaces this one. Required.
	Name string `json:"name"`
	// Type is the kind of fault. Required.
	Type Type `json:"type"`
	// Target is the service, component or breaker the fault is aimed at.
	// Required.
	Target string `json:"target"`
	// Delay is the latency a TypeLatency scenario adds. Must not be negative.
	Delay time.Duration `json:"delay"`
	// ErrorRate is the probability within [0, 1] that a call fails under a
	// TypeError scenario.
	ErrorRate float64 `json:"error_rate"`
	// Err is the error a TypeError scenario injects; it is wrapped in an
	// *InjectedError (so errors.Is(err, Err) and errors.Is(err, ErrInjected)
	// both hold). nil means an *InjectedError carrying ErrorMessage. A typed
	// nil (a nil *MyError in the error interface) is invalid ("err"). It has
	// no JSON form; its message is written as "error_message".
	Err error `json:"-"`
	// ErrorMessage is the message of the default injected error; empty means
	// a message naming the scenario.
	ErrorMessage string `json:"error_message,omitempty"`
	// ResourceType is the resource a TypeResourceExhaustion scenario
	// consumes. Required for that type, empty otherwise.
	ResourceType ResourceType `json:"resource_type,omitempty"`
	// ResourceLevel is the share within [0, 1] of the resource consumed.
	ResourceLevel float64 `json:"resource_level"`
	// Duration is how long the scenario stays active before it deactivates
	// itself. Must be positive; an engine caps it at its MaxDuration (300 s
	// at most) and records the requested value in CappedFrom. The JSON form
	// defaults it to DefaultDuration (10 s).
	Duration time.Duration `json:"duration"`
	// BlastRadius is the set of targets the scenario may touch besides
	// Target; empty means only Target. See Allows.
	BlastRadius []string `json:"blast_radius"`
	// CreatedAt is set by the engine to the time the scenario was activated.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Active is set by the engine on the copies it returns of active
	// scenarios.
	Active bool `json:"active"`
	// CappedFrom is the duration that was asked for when the engine capped
	// Duration; zero when it was not capped.
	CappedFrom time.Duration `json:"capped_from,omitzero"`
	// StopConditions are checked (with the engine's) while the scenario is
	// active; when one holds the engine aborts as by EmergencyStop. They
	// have no JSON form.
	StopConditions []StopCondition `json:"-"`
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Allows reports whether the scenario may touch target: target is the
// scenario's Target or is in its BlastRadius. An empty blast radius admits
// only the Target.
func (s Scenario) Allows(target string) bool {
	return target == s.Target || slices.Contains(s.BlastRadius, target)
}

// Targets returns the targets the scenario touches: Target followed by the
// BlastRadius entries that differ from it, without duplicates.
func (s Scenario) Targets() []string {
	out := make([]string, 0, 1+len(s.BlastRadius))
	out = append(out, s.Target)
	for _, t := range s.BlastRadius {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// ExpiresAt returns CreatedAt + Duration, the time an active scenario ends
// by itself.
func (s Scenario) ExpiresAt() time.Time { return s.CreatedAt.Add(s.Duration) }

// Validate reports every invalid field of s as a *ValidationError (or the
// hash mismatch), joined with errors.Join; nil when s is valid. A duration
// above MaxDuration is not an error: engines cap it.
func (s Scenario) Validate() error {
	var problems antifragile.Problems
	bad := problems.Invalid
	if err := antifragile.ValidateHashFor(antifragile.HashOrDefault(s.ConstitutionalHash), "chaos scenario "+strconv.Quote(s.Name)); err != nil {
		problems.Add(err)
	}
	problems.Add(antifragile.CheckName("name", s.Name))
	if !s.Type.Valid() {
		bad("type", s.Type, "must be one of %s", joinTypes(Types()))
	}
	problems.Add(antifragile.CheckName("target", s.Target))
	if s.Delay < 0 || s.Delay > MaxDelay {
		bad("delay", s.Delay, "must be within [0, %s]", MaxDelay)
	}
	if !unit(s.ErrorRate) {
		bad("error_rate", s.ErrorRate, "must be within [0, 1]")
	}
	switch {
	case s.Type == TypeResourceExhaustion && !s.ResourceType.Valid():
		bad("resource_type", s.ResourceType, "must be one of %s", joinTypes(ResourceTypes()))
	case s.Type != TypeResourceExhaustion && s.ResourceType != "":
		bad("resource_type", s.ResourceType, "only a resource_exhaustion scenario has a resource type")
	}
	if !unit(s.ResourceLevel) {
		bad("resource_level", s.ResourceLevel, "must be within [0, 1]")
	}
	if s.Duration <= 0 {
		bad("duration", s.Duration, "must be positive")
	}
	if len(s.BlastRadius) > MaxBlastRadius {
		bad("blast_radius", len(s.BlastRadius), "must name at most %d targets", MaxBlastRadius)
	}
	for i, t := range s.BlastRadius {
		if strings.TrimSpace(t) == "" {
			bad("blast_radius", s.BlastRadius, "must not contain an empty target")
			break
		}
		if err := antifragile.CheckName(fmt.Sprintf("blast_radius[%d]", i), t); err != nil {
			problems.Add(err)
			break
		}
	}
	for i, c := range s.StopConditions {
		if c.Check == nil {
			bad(fmt.Sprintf("stop_conditions[%d]", i), c.Name, "has no Check function")
		}
	}
	problems.Add(nilcheck.Optional("err", s.Err))
	return problems.Err()
}

func unit(v float64) bool { return v >= 0 && v <= 1 }

func joinTypes[T ~string](ts []T) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// clone returns s with its slices copied, so that the engine's copy shares
// nothing with the caller's.
func (s Scenario) clone() Scenario {
	s.BlastRadius = slices.Clone(s.BlastRadius)
	s.StopConditions = slices.Clone(s.StopConditions)
	return s
}

// FormatRate formats a rate or level as the shortest decimal that reads
// back as v, with ".0" added to whole numbers (0.5 →
// "0.5", 1 → "1.0", 0.00001 → "1e-05"). Generated scenario names use it.
func FormatRate(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return s
	}
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// describeMessageFault is Describe's text for a message fault.
func (s Scenario) describeMessageFault() string {
	share := ""
	if s.Share() < 1 {
		share = " (" + FormatRate(s.Share()) + " of them)"
	}
	switch s.Type {
	case TypeCorruptReply:
		return "replies of " + s.Target + " corrupted" + share
	case TypeDuplicate:
		return "messages to " + s.Target + " duplicated" + share
	case TypeReorder:
		return "messages to " + s.Target + " reordered" + share
	case TypeWrongHash:
		return "messages to " + s.Target + " with a wrong hash" + share
	case TypePoison:
		return fmt.Sprintf("poison messages to %s (+%s each)%s", s.Target, s.Delay, share)
	}
	return s.Target + " crashed"
}

// MessageScenario returns a message fault of type t (one of MessageTypes)
// on target, hitting share of its messages (0: every one), named
// "{type}_{target}".
func MessageScenario(t Type, target string, share float64, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{Type: t, Target: target, ErrorRate: share, Duration: duration, BlastRadius: blastRadius})
}

// LatencyScenario returns a TypeLatency scenario named
// "latency_{target}_{ms}ms".
func LatencyScenario(target string, delay, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{
		Type:        TypeLatency,
		Target:      target,
		Delay:       delay,
		Duration:    duration,
		BlastRadius: blastRadius,
	})
}

// ErrorScenario returns a TypeError scenario named "errors_{target}_{rate}"
// that injects err (nil means the default *InjectedError).
func ErrorScenario(target string, rate float64, err error, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{
		Type:        TypeError,
		Target:      target,
		ErrorRate:   rate,
		Err:         err,
		Duration:    duration,
		BlastRadius: blastRadius,
	})
}

// BreakerScenario returns a TypeCircuitBreaker scenario named
// "circuit_open_{breaker}" that forces the breaker (and every breaker named
// in the blast radius) open.
func BreakerScenario(breakerName string, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{
		Type:        TypeCircuitBreaker,
		Target:      breakerName,
		Duration:    duration,
		BlastRadius: blastRadius,
	})
}

// ResourceScenario returns a TypeResourceExhaustion scenario named
// "resource_{type}_{level}".
func ResourceScenario(resource ResourceType, level float64, target string, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{
		Type:          TypeResourceExhaustion,
		Target:        target,
		ResourceType:  resource,
		ResourceLevel: level,
		Duration:      duration,
		BlastRadius:   blastRadius,
	})
}

// PartitionScenario returns a TypeNetworkPartition scenario named
// "partition_{target}".
func PartitionScenario(target string, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{
		Type:        TypeNetworkPartition,
		Target:      target,
		Duration:    duration,
		BlastRadius: blastRadius,
	})
}

// TimeoutScenario returns a TypeTimeout scenario named "timeout_{target}".
func TimeoutScenario(target string, duration time.Duration, blastRadius ...string) Scenario {
	return named(Scenario{
		Type:        TypeTimeout,
		Target:      target,
		Duration:    duration,
		BlastRadius: blastRadius,
	})
}

// named returns s with its DefaultName.
func named(s Scenario) Scenario {
	s.Name = s.DefaultName()
	return s
}

// DefaultName returns the name the constructors give a scenario like s:
// "latency_{target}_{ms}ms", "errors_{target}_{rate}",
// "circuit_open_{target}", "resource_{type}_{level}", "partition_{target}",
// "timeout_{target}", and "{type}_{target}" for any other type.
func (s Scenario) DefaultName() string {
	switch s.Type {
	case TypeLatency:
		return fmt.Sprintf("latency_%s_%dms", s.Target, s.Delay.Milliseconds())
	case TypeError:
		return "errors_" + s.Target + "_" + FormatRate(s.ErrorRate)
	case TypeCircuitBreaker:
		return "circuit_open_" + s.Target
	case TypeResourceExhaustion:
		return "resource_" + string(s.ResourceType) + "_" + FormatRate(s.ResourceLevel)
	case TypeNetworkPartition:
		return "partition_" + s.Target
	case TypeTimeout:
		return "timeout_" + s.Target
	}
	return string(s.Type) + "_" + s.Target
}

// Required returns the fields of Fields that a scenario of type t must set
// to do anything: "delay" for latency and poison (a zero delay is valid but
// adds nothing), "resource_type" and "resource_level" for
// resource_exhaustion.
// Tools that build scenarios from flags ask for them.
func (t Type) Required() []string {
	switch t {
	case TypeLatency, TypePoison:
		return []string{"delay"}
	case TypeResourceExhaustion:
		return []string{"resource_type", "resource_level"}
	}
	return nil
}

// Fields returns the JSON fields a scenario of type t uses beyond those
// every scenario has (name, type, target, duration, blast_radius,
// constitutional_hash): "delay" for latency; "error_rate" and
// "error_message" for error; "resource_type" and "resource_level" for
// resource_exhaustion; "error_rate" (the share of messages hit) for the
// message faults, and "delay" too for poison; none for the others. Tools that build scenarios from
// flags or files use it to refuse settings that do not apply.
func (t Type) Fields() []string {
	switch t {
	case TypeLatency:
		return []string{"delay"}
	case TypeError:
		return []string{"error_rate", "error_message"}
	case TypeResourceExhaustion:
		return []string{"resource_type", "resource_level"}
	case TypePoison:
		return []string{"error_rate", "delay"}
	}
	if t.IsMessageFault() {
		return []string{"error_rate"}
	}
	return nil
}

// Describe says in a few words what the scenario does, such as "latency
// 250ms on db" or "errors at 0.5 on payments (+ledger)": the one
// description the CLI, the game days and their reports show.
func (s Scenario) Describe() string {
	var what string
	switch s.Type {
	case TypeLatency:
		what = fmt.Sprintf("latency %s on %s", s.Delay, s.Target)
	case TypeError:
		what = fmt.Sprintf("errors at %s on %s", FormatRate(s.ErrorRate), s.Target)
	case TypeCircuitBreaker:
		what = fmt.Sprintf("breaker %s forced open", s.Target)
	case TypeNetworkPartition:
		what = fmt.Sprintf("%s partitioned", s.Target)
	case TypeTimeout:
		what = fmt.Sprintf("calls to %s time out", s.Target)
	case TypeResourceExhaustion:
		what = fmt.Sprintf("%s at %s for %s", s.ResourceType, FormatRate(s.ResourceLevel), s.Target)
	case TypeCorruptReply, TypeDuplicate, TypeReorder, TypeWrongHash, TypePoison, TypeCrash:
		what = s.describeMessageFault()
	default:
		what = fmt.Sprintf("%s on %s", s.Type, s.Target)
	}
	if len(s.BlastRadius) > 0 {
		what += " (+" + strings.Join(s.BlastRadius, ", ") + ")"
	}
	return what
}
