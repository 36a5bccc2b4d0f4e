package natssink_test

import (
	"context"
	"fmt"

	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
)

// Example wires a meter to JetStream and reads the totals of every
// instance writing to the stream. It needs a nats-server with JetStream,
// so it is compiled but not run.
func Example() {
	sink, err := natssink.New(natssink.Config{URL: "nats://127.0.0.1:4222"})
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
	go sink.Run(ctx) // folds the stored batches into the totals

	m.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 12})

	cancel()
	if err := m.Close(context.Background()); err != nil {
		panic(err) // *metering.UndeliveredError: how many events were not stored
	}
	agg, err := sink.Aggregates(context.Background())
	fmt.Println(len(agg.Usage), err)
}
