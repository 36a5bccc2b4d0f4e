package redissink_test

import (
	"context"
	"fmt"

	"github.com/antifragile-go/antifragile/metering"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
)

// Example wires a meter to Redis. It needs a Redis server, so it is
// compiled but not run.
func Example() {
	sink, err := redissink.New(redissink.Config{Addr: "127.0.0.1:6379"})
	if err != nil {
		panic(err)
	}
	defer sink.Close(context.Background())
	m, err := metering.New(metering.Config{Sink: sink})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go m.Run(ctx)

	m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 12})

	cancel()
	if err := m.Close(context.Background()); err != nil {
		panic(err) // *metering.UndeliveredError: how many events did not reach Redis
	}
	u, err := sink.Usage(context.Background(), "acme")
	fmt.Println(u.Count, u.Tokens, err)
}
