// Package chaos injects controlled faults into a running program: latency,
// errors, forced-open circuit breakers, real resource exhaustion (cpu,
// memory, disk I/O, connection pools, network bandwidth), network
// partitions and timeouts — with the safety features of chaos platforms in
// the library itself: a blast radius per scenario, a hard cap on every
// duration (300 s), caps on every resource, stop conditions checked at
// least every 100 ms, and an emergency stop that ends everything within
// milliseconds and refuses new faults until Reset.
//
// A Scenario is plain data with a JSON form (ParseScenario). An Engine
// activates scenarios; code under test asks it on its hot path whether to
// delay or fail a call — Latency, Error, Partitioned, TimesOut, or all at
// once with Apply. Those checks allocate nothing and cost one atomic load
// when nothing is active. Package chaoshttp applies an engine to HTTP
// traffic; package chaostest scopes scenarios to a test.
//
// Example:
//
//	engine, err := chaos.New(chaos.Config{Seed: 42}, registry)
//	if err != nil {
//		return err
//	}
//	defer engine.Close(context.Background())
//	go engine.Run(ctx) // checks stop conditions
//
//	// Half the calls to "payments" fail for the next 30 s.
//	if _, err := engine.InjectErrors("payments", 0.5, nil, 30*time.Second); err != nil {
//		return err
//	}
//
//	// In the code that calls "payments":
//	if err := engine.Apply(ctx, "payments"); err != nil {
//		return err // errors.Is(err, chaos.ErrInjected)
//	}
//
//	// Something looks wrong: end every fault now.
//	engine.EmergencyStop()
package chaos
