// Package gobreaker lets the antifragile toolkit watch a sony/gobreaker v2
// circuit breaker: an Adapter reports the breaker's state as a
// breaker.State and its counts as breaker.Metrics, so that it satisfies
// breaker.StateSource and breaker.MetricsSource and the health aggregator
// can watch it beside the toolkit's own breakers.
//
// It is its own module (github.com/antifragile-go/antifragile/breaker/gobreaker)
// so that the core module never depends on sony/gobreaker.
//
// gobreaker reports neither trips nor transition times; wire a Transitions
// into its Settings.OnStateChange to get Metrics.Trips and
// Metrics.LastTransition:
//
//	tr := new(gobreaker.Transitions)
//	cb := sonygobreaker.NewCircuitBreaker[[]byte](sonygobreaker.Settings{
//		Name:          "payments",
//		OnStateChange: tr.OnStateChange,
//	})
//	src, err := gobreaker.New(cb, tr)
//	if err != nil {
//		return err
//	}
//	var _ breaker.MetricsSource = src
//	fmt.Println(src.State()) // closed
package gobreaker
