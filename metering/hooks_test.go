package metering_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

// caller is metadata passed by the caller: every hook key, plus one of its own.
var caller = map[string]any{"is_valid": "overwritten?", "decision": "x", "approved": "x", "impact_score": "x",
	"from_agent": "x", "to_agent": "x", "message_type": "x", "policy_name": "x", "approver_id": "x", "extra": 42}

// withCaller is own plus the caller's keys that own does not set.
func withCaller(own map[string]any) map[string]any {
	for k, v := range caller {
		if _, ok := own[k]; !ok {
			own[k] = v
		}
	}
	return own
}

func TestHooks(t *testing.T) {
	tests := []struct {
		name   string
		record func(h *metering.Hooks) bool
		want   metering.Event
	}{
		{
			name: "constitutional validation, valid",
			record: func(h *metering.Hooks) bool {
				return h.OnConstitutionalValidation("acme", "a1", true, 3*time.Millisecond, "", caller)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpConstitutionalValidation, Tier: metering.TierStandard,
				Agent: "a1", Latency: 3 * time.Millisecond, Compliance: 1,
				Metadata: withCaller(map[string]any{"is_valid": true})},
		},
		{
			name: "constitutional validation, invalid, enterprise tier",
			record: func(h *metering.Hooks) bool {
				return h.OnConstitutionalValidation("", "", false, time.Millisecond, metering.TierEnterprise, nil)
			},
			want: metering.Event{Tenant: "default", Operation: metering.OpConstitutionalValidation, Tier: metering.TierEnterprise,
				Latency: time.Millisecond, Compliance: 0, Metadata: map[string]any{"is_valid": false}},
		},
		{
			name: "agent message",
			record: func(h *metering.Hooks) bool {
				return h.OnAgentMessage("acme", "proposer", "validator", "GOVERNANCE", 250*time.Microsecond, true, "", caller)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tier: metering.TierStandard,
				Agent: "proposer", Latency: 250 * time.Microsecond, Compliance: 1,
				Metadata: withCaller(map[string]any{"from_agent": "proposer", "to_agent": "validator", "message_type": "GOVERNANCE", "is_valid": true})},
		},
		{
			name: "agent message, invalid, no recipient",
			record: func(h *metering.Hooks) bool {
				return h.OnAgentMessage("acme", "p", "", "QUERY", 0, false, metering.TierEnhanced, nil)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tier: metering.TierEnhanced,
				Agent: "p", Compliance: 0,
				Metadata: map[string]any{"from_agent": "p", "to_agent": nil, "message_type": "QUERY", "is_valid": false}},
		},
		{
			name: "policy evaluation, allow",
			record: func(h *metering.Hooks) bool {
				return h.OnPolicyEvaluation("acme", "a1", "rbac", "allow", time.Millisecond, "", caller)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpPolicyEvaluation, Tier: metering.TierEnhanced,
				Agent: "a1", Latency: time.Millisecond, Compliance: 1,
				Metadata: withCaller(map[string]any{"policy_name": "rbac", "decision": "allow"})},
		},
		{
			name: "policy evaluation, anything but exactly allow",
			record: func(h *metering.Hooks) bool {
				return h.OnPolicyEvaluation("acme", "a1", "rbac", "Allow", 0, metering.TierStandard, nil)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpPolicyEvaluation, Tier: metering.TierStandard,
				Agent: "a1", Compliance: 0, Metadata: map[string]any{"policy_name": "rbac", "decision": "Allow"}},
		},
		{
			name: "deliberation request",
			record: func(h *metering.Hooks) bool {
				return h.OnDeliberationRequest("acme", "a1", 0.85, 2*time.Second, nil)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpDeliberationRequest, Tier: metering.TierDeliberation,
				Agent: "a1", Latency: 2 * time.Second, Compliance: 0.85, Metadata: map[string]any{"impact_score": 0.85}},
		},
		{
			name: "HITL approval, approved",
			record: func(h *metering.Hooks) bool {
				return h.OnHITLApproval("acme", "a1", "alice", true, time.Minute, map[string]any{"approved": false, "ticket": "T-1"})
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpHITLApproval, Tier: metering.TierDeliberation,
				Agent: "a1", Latency: time.Minute, Compliance: 1,
				Metadata: map[string]any{"approver_id": "alice", "approved": true, "ticket": "T-1"}},
		},
		{
			name: "HITL approval, refused",
			record: func(h *metering.Hooks) bool {
				return h.OnHITLApproval("acme", "", "bob", false, 0, nil)
			},
			want: metering.Event{Tenant: "acme", Operation: metering.OpHITLApproval, Tier: metering.TierDeliberation,
				Compliance: 0, Metadata: map[string]any{"approver_id": "bob", "approved": false}},
		},
	}
	for _, tt := range tests {
		t.Run("maps "+tt.name, func(t *testing.T) {
			sink := &recSink{}
			m := newMeter(t, metering.Config{Sink: sink})
			if !tt.record(metering.NewHooks(m)) {
				t.Fatal("hook returned false")
			}
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			ev := sink.events()
			if len(ev) != 1 {
				t.Fatalf("got %d events", len(ev))
			}
			got := ev[0]
			got.ID, got.Time, got.ConstitutionalHash = "", time.Time{}, ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("event =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	t.Run("do nothing without a meter", func(t *testing.T) {
		var h *metering.Hooks
		if h.OnHITLApproval("a", "b", "c", true, 0, nil) || metering.NewHooks(nil).OnAgentMessage("a", "b", "c", "d", 0, true, "", nil) {
			t.Fatal("hook without a meter returned true")
		}
	})
}
