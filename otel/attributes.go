package afotel

import "go.opentelemetry.io/otel/attribute"

// The attribute keys of the instruments and spans. Values are the String
// forms of the components' types (breaker.State, health.Status,
// recovery.State, metering.Outcome).
const (
	// KeyBreaker names a breaker (its name in the registry).
	KeyBreaker = attribute.Key("antifragile.breaker.name")
	// KeyBreakerState is a breaker state: closed, open, half_open,
	// forced_open, disabled.
	KeyBreakerState = attribute.Key("antifragile.breaker.state")
	// KeyFromState and KeyToState are a transition's ends, KeyReason its
	// breaker.Reason.
	KeyFromState = attribute.Key("antifragile.breaker.from_state")
	KeyToState   = attribute.Key("antifragile.breaker.to_state")
	KeyReason    = attribute.Key("antifragile.breaker.reason")
	// KeyCallOutcome is how a breaker call ended: success, failure,
	// ignored or late.
	KeyCallOutcome = attribute.Key("antifragile.breaker.outcome")
	// KeyHealthStatus is a health status: UNKNOWN, HEALTHY, DEGRADED,
	// CRITICAL.
	KeyHealthStatus = attribute.Key("antifragile.health.status")
	// KeyService names the service a recovery task is for.
	KeyService = attribute.Key("antifragile.recovery.service")
	// KeyRecoveryState is the state a recovery task moved to after an
	// attempt: succeeded, scheduled, failed, awaiting_manual, cancelled.
	KeyRecoveryState = attribute.Key("antifragile.recovery.state")
	// KeyFault is a chaos fault kind: latency, error, partition, timeout.
	KeyFault = attribute.Key("antifragile.chaos.fault")
	// KeyChaosInjected is true on a bus delivery whose error chaos
	// injected.
	KeyChaosInjected = attribute.Key("antifragile.chaos.injected")
	// KeyChaosError is the error chaos returned for a bus delivery.
	KeyChaosError = attribute.Key("antifragile.chaos.error")
	// KeyChaosDuration is how long chaos held a bus delivery, in seconds.
	KeyChaosDuration = attribute.Key("antifragile.chaos.duration")
	// KeyAgent names a bus agent (a message's recipient).
	KeyAgent = attribute.Key("antifragile.bus.agent")
	// KeyFrom, KeyType and KeyTenant are a bus message's sender, type and
	// tenant.
	KeyFrom   = attribute.Key("antifragile.bus.from")
	KeyType   = attribute.Key("antifragile.bus.type")
	KeyTenant = attribute.Key("antifragile.bus.tenant")
	// KeyQueued is true on a delivery of a message queued by Publish.
	KeyQueued = attribute.Key("antifragile.bus.queued")
	// KeyOutcome is a bus delivery's outcome: ok, error, rejected,
	// injected.
	KeyOutcome = attribute.Key("antifragile.bus.outcome")
	// KeyMethod is how a message entered the bus: send or publish.
	KeyMethod = attribute.Key("antifragile.bus.method")
	// KeyRefusal says why the bus refused a message: hash_mismatch,
	// unknown_agent, mailbox_full.
	KeyRefusal = attribute.Key("antifragile.bus.refusal")
	// KeySource names the event stream whose events were lost: breaker or
	// recovery.
	KeySource = attribute.Key("antifragile.otel.source")
	// KeyHash is the constitutional hash, an attribute of the
	// instrumentation scope.
	KeyHash = attribute.Key("antifragile.constitutional_hash")
)
