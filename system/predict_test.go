package system_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// TestSystem_predictions: an at-risk signal of anomaly detection reaches
// the recovery orchestrator as a prediction, which the outage that follows
// makes true (the cautious mode it then allows is tested in recovery).
func TestSystem_predictions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cfg system.Config
		cfg.Metering.Sink = "memory"
		cfg.Getenv = func(string) string { return "" }
		cfg.Health.CheckInterval = 100 * time.Millisecond
		cfg.Health.Anomaly = health.AnomalyConfig{Enabled: true, Warmup: 3, MinDuration: time.Nanosecond, MinCalls: 5}
		cfg.Recovery.Cautious = recovery.CautiousConfig{Enabled: true, Duration: time.Minute}
		cfg.Breakers.Named = map[string]breaker.Config{"db": {ConsecutiveFailures: 1000}}
		sys, err := system.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sys.Run(ctx) }()
		<-sys.Started()
		b, _ := sys.Registry().Get("db")
		boom := errors.New("boom")
		calls := func(n, failing int) {
			for i := range n {
				_ = b.Execute(func() error {
					if i < failing {
						return boom
					}
					return nil
				})
			}
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		for range 5 {
			calls(20, 0) // the baseline: no failures
		}
		calls(20, 10) // half fail: at risk, long before 1000 in a row
		if p := sys.Recovery().Status().Predictions.Total; p.Pending != 1 {
			t.Fatalf("predictions = %+v, want one pending", p)
		}
		_ = sys.Recovery().Schedule("db", recovery.Immediate, 0, nil) // the outage
		synctest.Wait()
		if p := sys.Recovery().Status().Predictions.Total; p.TruePositives != 1 {
			t.Fatalf("predictions = %+v, want one true", p)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
