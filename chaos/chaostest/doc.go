// Package chaostest scopes chaos scenarios to a Go test: Inject activates
// a scenario for the rest of the test and deactivates it when the test
// ends, and NewEngine gives a test its own engine, closed at the end.
//
// Example:
//
//	func TestCheckoutSurvivesSlowPayments(t *testing.T) {
//		engine := chaostest.NewEngine(t, chaos.Config{Seed: 1}, nil)
//		chaostest.Inject(t, engine, chaos.LatencyScenario("payments", 2*time.Second, time.Minute))
//		// ... exercise code that calls engine.Apply(ctx, "payments") ...
//	}
package chaostest
