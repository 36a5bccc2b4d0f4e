package metering_test

import (
	"context"
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

func ExampleMeter() {
	m, err := metering.New(metering.Config{}) // memory sink, seed defaults
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()

	m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 120})
	m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 80})
	m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Outcome: metering.OutcomeRejected})

	cancel()
	<-done
	if err := m.Close(context.Background()); err != nil { // delivers what is left
		panic(err)
	}
	total, _ := m.Sink().(*metering.MemorySink).Total("acme")
	fmt.Printf("billable %d, tokens %d, rejected %d\n", total.Count, total.Tokens, total.Rejected)
	fmt.Printf("%+v\n", m.Metrics())
	// Output:
	// billable 2, tokens 200, rejected 1
	// {Queued:3 Flushed:3 Dropped:0 Failed:0 Errors:0 Retries:0 Clamped:0 QueueSize:0 MaxQueueSize:10000 Running:false Enabled:true ConstitutionalHash:cdd01ef066bc6cf2}
}

func ExampleHooks() {
	m, _ := metering.New(metering.Config{})
	hooks := metering.NewHooks(m)
	hooks.OnPolicyEvaluation("acme", "agent-1", "rbac", "allow", 300*time.Microsecond, "", nil)
	hooks.OnHITLApproval("acme", "agent-1", "alice", false, 2*time.Minute, nil)
	_ = m.Close(context.Background())

	for _, u := range m.Sink().(*metering.MemorySink).Usage("acme", time.Time{}, time.Time{}) {
		fmt.Println(u.Operation, u.Tier, u.Count, u.ComplianceMean)
	}
	// Output:
	// hitl_approval deliberation 1 0
	// policy_evaluation enhanced 1 1
}

func ExampleMetered() {
	m, _ := metering.New(metering.Config{})
	validate := metering.Metered(m, metering.MeteredOptions{
		Operation: metering.OpConstitutionalValidation,
		Tenant:    func(ctx context.Context) string { return "acme" },
	}, func(ctx context.Context) (string, error) {
		return "valid", nil
	})
	res, err := validate(context.Background())
	fmt.Println(res, err)
	_ = m.Close(context.Background())
	total, _ := m.Sink().(*metering.MemorySink).Total("acme")
	fmt.Println(total.Count)
	// Output:
	// valid <nil>
	// 1
}

func ExampleAppendCloudEvent() {
	e := metering.Event{
		ID: "evt-1", Tenant: "acme", Operation: metering.OpAgentMessage, Tier: metering.TierStandard,
		Tokens: 12, Latency: 250 * time.Microsecond, Compliance: 1,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ConstitutionalHash: "cdd01ef066bc6cf2",
	}
	fmt.Println(string(metering.AppendCloudEvent(nil, &e, "")))
	// Output:
	// {"specversion":"1.0","id":"evt-1","source":"antifragile","type":"agent_message","subject":"acme","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","data":{"tier":"standard","tokens_processed":12,"latency_ms":0.25,"compliance_score":1,"outcome":"ok","constitutional_hash":"cdd01ef066bc6cf2"}}
}
