// Package health turns the states of many circuit breakers into one live
// health score between 0 and 1 and a status: HEALTHY, DEGRADED, CRITICAL
// or UNKNOWN.
//
// An Aggregator watches every breaker of a breaker.Registry, present and
// future, plus custom sources registered by name (a custom source wins over
// a registry breaker of the same name, which counts once). The score is
// Σ wᵢ·vᵢ / Σ wᵢ with v = 1 for a closed breaker, 0.5 half-open and 0 open
// or forced open; disabled breakers are left out, weights default to 1, and
// with no breakers the score is 1. The status is HEALTHY at a score ≥ the
// degraded threshold (0.7), DEGRADED at ≥ the critical threshold (0.5) and
// CRITICAL below, with optional hysteresis.
//
// Run collects a Report every second and right after any breaker changes
// state, keeps point-in-time Snapshots in a bounded history, and calls the
// OnChange callbacks when the status changes. Current returns the last
// report without doing any work.
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	agg, err := health.New(health.Config{}, reg)
//	if err != nil {
//		return err
//	}
//	defer agg.Close(context.Background())
//	_ = agg.SetWeight("payments", 3) // matters three times as much
//	agg.OnChange(func(r health.Report) { log.Printf("health %s %.3f", r.Status, r.Score) })
//	go agg.Run(ctx)
//	...
//	json.NewEncoder(w).Encode(agg.Current()) // "health_score": 0.667
//
// The package imports only the standard library, the root package and
// breaker.
package health
