package gobreaker_test

import (
	"errors"
	"fmt"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/gobreaker"
	sonygobreaker "github.com/sony/gobreaker/v2"
)

// ExampleNew watches a sony/gobreaker breaker through the toolkit's
// breaker.MetricsSource interface.
func ExampleNew() {
	tr := new(gobreaker.Transitions)
	cb := sonygobreaker.NewCircuitBreaker[string](sonygobreaker.Settings{
		Name:          "payments",
		ReadyToTrip:   func(c sonygobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 },
		OnStateChange: tr.OnStateChange,
	})
	a, err := gobreaker.New(cb, tr)
	if err != nil {
		fmt.Println(err)
		return
	}
	var src breaker.MetricsSource = a // what the health aggregator watches

	_, _ = cb.Execute(func() (string, error) { return "ok", nil })
	_, _ = cb.Execute(func() (string, error) { return "", errors.New("timeout") })
	m := src.Metrics()
	fmt.Println(src.State(), m.Calls, m.Successes, m.Failures, m.ConsecutiveFailures)

	_, _ = cb.Execute(func() (string, error) { return "", errors.New("timeout") })
	fmt.Println(src.State(), src.Metrics().Trips)
	// Output:
	// closed 2 1 1 1
	// open 1
}
