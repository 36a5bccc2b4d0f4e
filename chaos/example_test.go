package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

func ExampleEngine_InjectLatency() {
	engine, err := chaos.New(chaos.Config{}, nil)
	if err != nil {
		panic(err)
	}
	defer engine.Close(context.Background())

	s, err := engine.InjectLatency("db", 250*time.Millisecond, 30*time.Second, "db-replica")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name)
	fmt.Println(engine.Latency("db"), engine.Latency("db-replica"), engine.Latency("cache"))
	// Output:
	// latency_db_250ms
	// 250ms 250ms 0s
}

func ExampleEngine_Apply() {
	engine, _ := chaos.New(chaos.Config{Seed: 1}, nil)
	defer engine.Close(context.Background())
	_, _ = engine.InjectErrors("payments", 1.0, nil, time.Minute)

	err := engine.Apply(context.Background(), "payments")
	fmt.Println(errors.Is(err, chaos.ErrInjected))
	fmt.Println(err)
	// Output:
	// true
	// chaos: scenario "errors_payments_1.0" injected an error into "payments"
}

func ExampleEngine_With() {
	engine, _ := chaos.New(chaos.Config{}, nil)
	defer engine.Close(context.Background())

	_ = engine.With(context.Background(), chaos.PartitionScenario("cache", time.Minute), func(ctx context.Context) error {
		fmt.Println("inside:", engine.Apply(ctx, "cache"))
		return nil
	})
	fmt.Println("after:", engine.Apply(context.Background(), "cache"))
	// Output:
	// inside: chaos: network partition injected
	// after: <nil>
}

func ExampleEngine_EmergencyStop() {
	engine, _ := chaos.New(chaos.Config{}, nil)
	defer engine.Close(context.Background())
	_, _ = engine.InjectTimeouts("db", time.Minute)

	engine.EmergencyStop()
	_, err := engine.InjectTimeouts("db", time.Minute)
	fmt.Println(len(engine.Active()), err)

	engine.Reset()
	_, err = engine.InjectTimeouts("db", time.Minute)
	fmt.Println(len(engine.Active()), err)
	// Output:
	// 0 chaos: emergency stop active
	// 1 <nil>
}

func ExampleParseScenario() {
	s, err := chaos.ParseScenario([]byte(`{
		"name": "slow_db",
		"type": "latency",
		"target": "db",
		"delay": "250ms",
		"duration": "1m",
		"blast_radius": ["db", "db-replica"]
	}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name, s.Delay, s.Duration, s.Allows("db-replica"), s.Allows("cache"))

	_, err = chaos.ParseScenario([]byte(`{"name":"x","type":"error","target":"db","error_rate":1.5}`))
	fmt.Println(err)
	// Output:
	// slow_db 250ms 1m0s true false
	// invalid error_rate 1.5: must be within [0, 1]
}

func ExampleEngine_Reconfigure() {
	e, _ := chaos.New(chaos.Config{}, nil)
	defer e.Close(context.Background())
	s, _ := e.InjectLatency("db", 2*time.Second, time.Minute)

	// A configuration reload lowers the delay cap: the running scenario's
	// delay saturates at once, and a longer delay is refused from now on.
	_ = e.Reconfigure(chaos.Config{MaxDelay: time.Second})
	fmt.Println(e.Latency("db"))
	_, err := e.InjectLatency("cache", 2*time.Second, time.Minute)
	fmt.Println(err)
	fmt.Println(e.Deactivate(s.Name))
	// Output:
	// 1s
	// invalid delay 2s: exceeds the engine's max_delay 1s
	// true
}
