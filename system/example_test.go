package system_test

import (
	"context"
	"fmt"

	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/system"
)

func Example() {
	sys, err := system.New(system.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = sys.Bus().Register("validator", func(_ context.Context, m bus.Message) (bus.Reply, error) {
		return bus.Reply{Payload: "valid"}, nil
	})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- sys.Run(ctx) }()
	<-sys.Started()

	msg := bus.NewMessage("proposer", "validator", "validate", "proposal")
	msg.Tenant = "acme"
	reply, err := sys.Bus().Send(ctx, msg)
	fmt.Println(reply.Payload, err)
	fmt.Println(sys.Health().Report().Status)

	stop() // chaos, bus, recovery, health, meter and sink stop in order
	fmt.Println(<-ran)
	u := sys.Usage().Totals()[0]
	fmt.Println(u.Tenant, u.Count, "message metered")
	// Output:
	// valid <nil>
	// HEALTHY
	// <nil>
	// acme 1 message metered
}
