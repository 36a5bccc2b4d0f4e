package gameday_test

import (
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

func ExampleParse() {
	sc, err := scenario.Parse([]byte(`{
		"name": "payments",
		"steady_state": {"min_status": "HEALTHY", "recovery_budget": "15s"},
		"phases": [
			{"name": "baseline", "duration": "10s"},
			{"name": "outage", "duration": "20s",
			 "faults": [{"type": "network_partition", "target": "payments"}]},
			{"name": "after", "duration": "30s"}
		]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range sc.Phases {
		fmt.Printf("%s %s expect %s, %d fault(s)\n", p.Name, p.Duration, p.Expect, len(p.Faults))
	}
	fault := sc.Phases[1].Faults[0].Scenario
	fmt.Println(fault.Name, fault.Duration)

	_, err = scenario.Parse([]byte(`{"name": "x", "phases": [{"name": "a", "duration": "soon", "color": "red"}]}`))
	fmt.Println(err)
	// Output:
	// baseline 10s expect steady, 0 fault(s)
	// outage 20s expect degrade, 1 fault(s)
	// after 30s expect steady, 0 fault(s)
	// outage-network_partition-payments 20s
	// invalid phases[0].color: is not a known field (known: name, duration, expect, faults)
	// invalid phases[0].duration soon: must be a duration such as "250ms" or "10s"
}

func ExampleScenario_Scaled() {
	sc := scenario.Default()
	short, factor := sc.Scaled(6 * time.Second)
	fmt.Println(sc.Total(), "→", short.Total(), "factor", factor)
	fmt.Println("recovery budget", sc.SteadyState.RecoveryBudget, "→", short.SteadyState.RecoveryBudget)
	// Output:
	// 1m0s → 6s factor 0.1
	// recovery budget 20s → 2s
}
