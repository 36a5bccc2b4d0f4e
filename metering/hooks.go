package metering

import "time"

// Hooks are one fire-and-forget call per kind of governance operation, each
// building the Event of that operation (its operation, tier and metadata).
// Caller metadata is merged into the event's metadata, but it cannot
// overwrite the keys a hook sets. Every hook returns Record's result; none
// blocks, and all are safe for concurrent use. A Hooks built on a nil
// *Meter (or a nil *Hooks) records nothing.
type Hooks struct {
	m *Meter
}

// NewHooks returns the hooks that record into m.
func NewHooks(m *Meter) *Hooks { return &Hooks{m: m} }

func (h *Hooks) meter() *Meter {
	if h == nil {
		return nil
	}
	return h.m
}

// complianceOf is 1.0 for valid, 0.0 otherwise.
func complianceOf(valid bool) float64 {
	if valid {
		return 1
	}
	return 0
}

// merge returns caller's metadata overlaid by the hook's own keys.
func merge(own map[string]any, caller map[string]any) map[string]any {
	for k, v := range caller {
		if _, taken := own[k]; !taken {
			own[k] = v
		}
	}
	return own
}

func orTier(t, def Tier) Tier {
	if t == "" {
		return def
	}
	return t
}

// ConstitutionalValidationEvent builds the event OnConstitutionalValidation
// records: operation constitutional_validation, tier (empty means standard),
// compliance 1.0 if valid else 0.0, metadata {"is_valid": valid}. Callers
// that need another outcome set it before recording.
func ConstitutionalValidationEvent(tenant, agent string, valid bool, latency time.Duration, tier Tier, metadata map[string]any) Event {
	return Event{
		Tenant: tenant, Operation: OpConstitutionalValidation, Tier: orTier(tier, TierStandard),
		Agent: agent, Latency: latency, Compliance: complianceOf(valid),
		Metadata: merge(map[string]any{"is_valid": valid}, metadata),
	}
}

// OnConstitutionalValidation records a constitutional validation (see
// ConstitutionalValidationEvent).
func (h *Hooks) OnConstitutionalValidation(tenant, agent string, valid bool, latency time.Duration, tier Tier, metadata map[string]any) bool {
	return h.meter().Record(ConstitutionalValidationEvent(tenant, agent, valid, latency, tier, metadata))
}

// AgentMessageEvent builds the event OnAgentMessage records: operation
// agent_message, tier (empty means standard), agent = from, compliance 1.0
// if valid else 0.0, metadata {"from_agent", "to_agent" (nil when to is
// empty), "message_type", "is_valid"}. Callers that need another outcome set
// it before recording.
func AgentMessageEvent(tenant, from, to, messageType string, latency time.Duration, valid bool, tier Tier, metadata map[string]any) Event {
	var toAgent any
	if to != "" {
		toAgent = to
	}
	return Event{
		Tenant: tenant, Operation: OpAgentMessage, Tier: orTier(tier, TierStandard),
		Agent: from, Latency: latency, Compliance: complianceOf(valid),
		Metadata: merge(map[string]any{
			"from_agent": from, "to_agent": toAgent, "message_type": messageType, "is_valid": valid,
		}, metadata),
	}
}

// OnAgentMessage records an agent message (see AgentMessageEvent).
func (h *Hooks) OnAgentMessage(tenant, from, to, messageType string, latency time.Duration, valid bool, tier Tier, metadata map[string]any) bool {
	return h.meter().Record(AgentMessageEvent(tenant, from, to, messageType, latency, valid, tier, metadata))
}

// OnPolicyEvaluation records a policy evaluation: operation
// policy_evaluation, tier (empty means enhanced), compliance 1.0 only when
// decision is exactly "allow", metadata {"policy_name", "decision"}.
func (h *Hooks) OnPolicyEvaluation(tenant, agent, policy, decision string, latency time.Duration, tier Tier, metadata map[string]any) bool {
	return h.meter().Record(Event{
		Tenant: tenant, Operation: OpPolicyEvaluation, Tier: orTier(tier, TierEnhanced),
		Agent: agent, Latency: latency, Compliance: complianceOf(decision == "allow"),
		Metadata: merge(map[string]any{"policy_name": policy, "decision": decision}, metadata),
	})
}

// OnDeliberationRequest records a deliberation request: operation
// deliberation_request, tier deliberation, compliance = impact (clamped to
// [0, 1] on delivery), metadata {"impact_score": impact}.
func (h *Hooks) OnDeliberationRequest(tenant, agent string, impact float64, latency time.Duration, metadata map[string]any) bool {
	return h.meter().Record(Event{
		Tenant: tenant, Operation: OpDeliberationRequest, Tier: TierDeliberation,
		Agent: agent, Latency: latency, Compliance: impact,
		Metadata: merge(map[string]any{"impact_score": impact}, metadata),
	})
}

// OnHITLApproval records a human-in-the-loop approval: operation
// hitl_approval, tier deliberation, compliance 1.0 if approved else 0.0,
// metadata {"approver_id", "approved"}.
func (h *Hooks) OnHITLApproval(tenant, agent, approver string, approved bool, latency time.Duration, metadata map[string]any) bool {
	return h.meter().Record(Event{
		Tenant: tenant, Operation: OpHITLApproval, Tier: TierDeliberation,
		Agent: agent, Latency: latency, Compliance: complianceOf(approved),
		Metadata: merge(map[string]any{"approver_id": approver, "approved": approved}, metadata),
	})
}
