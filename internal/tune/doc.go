// Package tune searches for better breaker and recovery settings by
// running the same seeded game day with candidates and measuring them
// against the scenario's objective — the engine of `antifragile tune`.
//
// Search changes one setting at a time (coordinate descent over Knobs),
// after measuring the noise between two runs of the current settings, and
// proposes a change only when a confirming run beats the current settings
// by more than that noise (and MinGain); otherwise it says that no better
// setting was found. Local runs each game day on a fresh in-process
// system with the simulated agents:
//
//	sc := scenario.Default()
//	out, err := tune.Search(ctx, tune.Config{
//		Current:   tune.Settings{Breaker: agentsim.BreakerConfig(1), Recovery: agentsim.RecoveryPolicy(1, nil)},
//		Objective: sc.Objective,
//		Run:       tune.Local{Scenario: sc, Seed: 42}.Run,
//	})
//	fmt.Println(out.Why, string(out.Patch()))
package tune
