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
package agentsim
