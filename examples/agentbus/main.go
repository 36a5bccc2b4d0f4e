// Command agentbus wires the agent bus to a breaker registry, the chaos
// engine and a meter, sends messages between two agents for three tenants,
// and prints what was metered per tenant.
package main

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/metering"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		return err
	}
	eng, err := chaos.New(chaos.Config{}, reg)
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())
	meter, err := metering.New(metering.Config{}) // in-memory sink
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = meter.Run(ctx) })

	b, err := bus.New(bus.Config{Registry: reg, Chaos: eng, Meter: meter})
	if err != nil {
		return err
	}
	err = b.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: fmt.Sprintf("validated %v", m.Payload)}, nil
	})
	if err != nil {
		return err
	}
	for i, tenant := range []string{"acme", "globex", "initech", "acme"} {
		msg := bus.NewMessage("proposer", "validator", "validate", i)
		msg.Tenant = tenant
		reply, err := b.Send(ctx, msg)
		if err != nil {
			return err
		}
		fmt.Println(tenant, "→", reply.Payload)
	}

	cancel()
	wg.Wait()
	if err := meter.Close(context.Background()); err != nil { // delivers what is queued
		return err
	}
	for _, u := range meter.Sink().(*metering.MemorySink).Totals() {
		fmt.Printf("%-8s %d messages metered\n", u.Tenant, u.Count)
	}
	return nil
}
