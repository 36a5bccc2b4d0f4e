package recovery_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/antifragile-go/antifragile/recovery"
)

func ExampleOrchestrator_Execute() {
	o, err := recovery.New(recovery.Config{}, nil)
	if err != nil {
		panic(err)
	}
	up := false
	policy := &recovery.Policy{
		Action: func(context.Context) error { up = true; return nil }, // reconnect
		HealthCheck: func(context.Context) error {
			if !up {
				return errors.New("still down")
			}
			return nil
		},
	}
	_ = o.Schedule("db", recovery.ExponentialBackoff, 0, policy)
	res, _ := o.Execute(context.Background(), "db")
	fmt.Println(res.Service, res.State, res.Success, res.HealthCheckPassed)
	// Output: db succeeded true true
}

func ExampleOrchestrator_Run() {
	o, err := recovery.New(recovery.Config{}, nil)
	if err != nil {
		panic(err)
	}
	sub := o.Subscribe(0)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()

	fails := 1
	_ = o.Schedule("cache", recovery.Immediate, 0, &recovery.Policy{
		HealthCheck: func(context.Context) error {
			if fails > 0 {
				fails--
				return errors.New("connection refused")
			}
			return nil
		},
	})
	for ev := range sub.C {
		line := fmt.Sprintf("%s %s attempt=%d", ev.Service, ev.State, ev.Attempt)
		if ev.Detail != "" {
			line += " (" + ev.Detail + ")"
		}
		fmt.Println(line)
		if ev.State.Terminal() {
			break
		}
	}
	cancel()
	<-done
	// Output:
	// cache scheduled attempt=0
	// cache in_progress attempt=1
	// cache scheduled attempt=1 (health check: connection refused)
	// cache in_progress attempt=2
	// cache succeeded attempt=2
}
