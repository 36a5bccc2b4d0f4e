// Package agentsim simulates the six governance agents of the demo
// (proposer, validator, policy_engine, deliberation, executor, auditor) on a
// system's bus: their handlers, breaker configuration, health weights and
// recovery policies (Simulation), and the traffic between them for a set of
// tenants (Generator). It is what a game day disturbs when it runs in this
// process, and what the demo shows on the dashboard.
//
//	sim, err := agentsim.NewSimulation(sys, agentsim.SimConfig{Traffic: agentsim.GeneratorConfig{Rate: 100}})
//	if err != nil {
//		return err
//	}
//	go sim.Run(ctx) // the traffic, until ctx ends
//
// The agents can be split over processes: SimConfig.Local names those of
// this process, and the bus reaches the others through its Transport
// (package bus/busnats); proposals and replies then cross as JSON, which the
// handlers and the reply checks decode.
package agentsim
