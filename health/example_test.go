package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

func ExampleAggregator_Report() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	for _, name := range []string{"cache", "search", "payments"} {
		_, _ = reg.GetOrCreate(name, breaker.Config{})
	}
	payments, _ := reg.Get("payments")
	payments.ForceOpen()

	agg, err := health.New(health.Config{}, reg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agg.Close(context.Background())

	r := agg.Report()
	fmt.Printf("%s %.4f critical=%v\n", r.Status, r.Score, r.Critical)
	_ = json.NewEncoder(os.Stdout).Encode(struct {
		Score health.Score `json:"health_score"`
	}{r.Score})

	// Payments matter three times as much as the others.
	_ = agg.SetWeight("payments", 3)
	r = agg.Report()
	fmt.Printf("%s %.4f top=%s\n", r.Status, r.Score, r.TopOffenders[0].Name)
	// Output:
	// DEGRADED 0.6667 critical=[payments]
	// {"health_score":0.667}
	// CRITICAL 0.4000 top=payments
}

func ExampleAggregator_Run() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	db, _ := reg.GetOrCreate("db", breaker.Config{})
	agg, _ := health.New(health.Config{}, reg)
	defer agg.Close(context.Background())

	changes := make(chan health.Report, 8)
	agg.OnChange(func(r health.Report) { changes <- r })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- agg.Run(ctx) }()

	r := <-changes // the first collection is a change from UNKNOWN
	fmt.Println(r.Status, r.Score, r.Critical)
	db.ForceOpen() // shows up at once, not at the next tick
	r = <-changes
	fmt.Println(r.Status, r.Score, r.Critical)

	cancel()
	fmt.Println(<-done)
	// Output:
	// HEALTHY 1 []
	// CRITICAL 0 [db]
	// <nil>
}
