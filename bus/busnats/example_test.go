package busnats_test

import (
	"context"
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
)

// Example serves an agent of this process on NATS and reaches one of
// another process by name. It needs a nats-server, so it is compiled but
// not run.
func Example() {
	ctx := context.Background()
	tr, err := busnats.New(busnats.Config{URL: "nats://127.0.0.1:4222", Process: "api"})
	if err != nil {
		panic(err)
	}
	defer tr.Close(ctx)
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	b, _ := bus.New(bus.Config{Registry: reg, Transport: tr})
	_ = b.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: []byte("valid")}, nil
	})
	if err := tr.Serve(b, "validator"); err != nil {
		panic(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	reply, err := b.Send(sctx, bus.NewMessage("proposer", "auditor", "audit", map[string]string{"id": "42"}))
	fmt.Println(reply.Payload, err)
}

// ExamplePartitionScenario cuts the links from process "api" to the
// agents of process "worker".
func ExamplePartitionScenario() {
	s := busnats.PartitionScenario("api", "worker", []string{"validator", "auditor"}, time.Minute)
	fmt.Println(s.Name, s.Type, s.Targets())
	// Output: partition_api_worker network_partition [link:api->validator link:api->auditor]
}
