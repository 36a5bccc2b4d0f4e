// Package gameday runs chaos game days: a scenario of phases, each
// injecting chaos faults for a while, against a system whose health is
// watched, ending with a verdict on a steady-state hypothesis ("after
// every fault, the system is HEALTHY again within 20 s"), a summary table
// and a self-contained HTML report with SVG charts.
//
// It is the engine of `antifragile demo` and `antifragile gameday`:
//
//   - Scenario is the game day file format (Parse; Default is the built-in
//     one-minute game day, embedded);
//   - Simulation installs six simulated governance agents (proposer,
//     validator, policy_engine, deliberation, executor, auditor) on an
//     agent bus, with their breakers, health weights and recovery policies
//     whose health checks fail while a fault lasts, and a Generator sends
//     traffic between them for a few tenants;
//   - Local is a whole system in this process built from the domain
//     packages; RunDemo uses the daemon instead, serving the ops API and
//     the dashboard;
//   - Target is what a game day runs against: LocalTarget (components in
//     this process) or RemoteTarget (any service mounting the ops API,
//     through package client);
//   - Run runs the phases, samples the target, shows live progress and
//     returns a Result, which Judge gives its verdict — PASS, FAIL, or
//     INCONCLUSIVE when a fault hit nothing the system knows or a phase
//     saw no traffic (see Judge for the rules and docs/gameday.md);
//     report.WriteSummary and report.WriteReport present it.
//
// Example:
//
//	sc, err := gameday.Parse(data) // or gameday.Default()
//	if err != nil {
//		return err // every problem, with its JSON path
//	}
//	sc, scale := sc.Scaled(10 * time.Second) // shrink it
//	sys, _ := gameday.NewLocal(gameday.LocalConfig{Scale: scale})
//	go sys.Run(ctx)
//	res, _ := gameday.Run(ctx, gameday.Config{Scenario: sc, Target: sys.Target(), Progress: os.Stdout})
//	_ = gameday.WriteSummary(os.Stdout, res)
//	_ = gameday.WriteReportFile("gameday.html", res)
//	return res.Err() // a *VerdictError when it failed (exit 1) or was inconclusive (exit 5)
package gameday
