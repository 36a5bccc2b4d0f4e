package breaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/antifragile-go/antifragile/breaker"
)

func ExampleBreaker_Allow() {
	b, _ := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 2})
	for i := range 3 {
		t, err := b.Allow()
		if err != nil {
			fmt.Println("call", i+1, "rejected:", err)
			continue
		}
		t.Done(errors.New("timeout")) // report the call's outcome
		fmt.Println("call", i+1, "failed; state", b.State())
	}
	// Output:
	// call 1 failed; state closed
	// call 2 failed; state open
	// call 3 rejected: breaker: circuit open
}

func ExampleDo() {
	b, _ := breaker.New(breaker.Config{})
	v, err := breaker.Do(b, func() (string, error) { return "pong", nil })
	fmt.Println(v, err, b.Metrics().Successes)
	// Output: pong <nil> 1
}

func ExampleRegistry() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	sub := reg.Subscribe(16)
	defer sub.Close()

	db, _ := reg.GetOrCreate("db", breaker.Config{})
	db.ForceOpen()
	for _, s := range reg.Snapshot() {
		fmt.Println(s.Name, s.State)
	}
	<-sub.C // db added
	ev := <-sub.C
	fmt.Println(ev.Breaker, ev.From, "->", ev.To, ev.Reason)
	// Output:
	// db forced_open
	// db closed -> forced_open forced
}

func ExampleBreaker_ExecuteContext() {
	b, _ := breaker.New(breaker.Config{ConsecutiveFailures: 1})
	ctx, cancel := context.WithCancel(context.Background())
	// The caller gives up mid-call: that says nothing about the dependency.
	_ = b.ExecuteContext(ctx, func(ctx context.Context) error {
		cancel()
		return ctx.Err()
	})
	m := b.Metrics()
	fmt.Println(b.State(), "ignored:", m.Ignored, "failures:", m.Failures)
	// A ctx already done is not even tried.
	fmt.Println(b.ExecuteContext(ctx, func(context.Context) error { return nil }))
	// Output:
	// closed ignored: 1 failures: 0
	// context canceled
}

func ExampleConfig_Rules() {
	fmt.Println(breaker.Config{}.Rules())
	fmt.Println(breaker.Config{FailureRate: 0.5, WindowSize: 20}.Rules())
	// Output:
	// [5 consecutive failures]
	// [failure rate ≥ 50% of the last 20 calls (at least 10 calls)]
}

func ExampleRegistry_SetDefault() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	agent, _ := reg.GetOrCreate("agent", breaker.Config{})                 // follows the default
	db, _ := reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 3}) // its own config

	// A configuration reload: a new default, and new rules for db.
	_ = reg.SetDefault(breaker.Config{FailureRate: 0.5})
	_ = reg.Reconfigure("db", breaker.Config{ConsecutiveFailures: 10})
	fmt.Println(agent.Rules())
	fmt.Println(db.Rules())

	err := reg.Reconfigure("db", breaker.Config{FailureRate: 2})
	fmt.Println(err)
	fmt.Println(db.Rules()) // an invalid config changed nothing
	// Output:
	// [failure rate ≥ 50% of the last 100 calls (at least 10 calls)]
	// [10 consecutive failures]
	// breaker "db": invalid failure_rate 2: must be within [0, 1] (0 turns the rule off)
	// [10 consecutive failures]
}
