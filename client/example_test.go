package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/ops"
)

func ExampleClient() {
	// A server: the ops API over a registry with one breaker.
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	_, _ = reg.GetOrCreate("payments", breaker.Config{})
	srv := httptest.NewServer(ops.Handler(ops.Options{Registry: reg, Token: "s3cret"}))
	defer srv.Close()

	ctx := context.Background()
	c, _ := client.New(client.Config{BaseURL: srv.URL, Token: "s3cret"})
	defer c.CloseIdleConnections()

	action, err := c.ForceOpenBreaker(ctx, "payments")
	fmt.Println(action.Breaker, action.State, err)

	bs, _ := c.Breakers(ctx)
	for _, b := range bs.Breakers {
		fmt.Println(b.Name, b.State)
	}

	_, err = c.ResetBreaker(ctx, "refunds")
	fmt.Println(errors.Is(err, client.ErrNotFound), err)

	_, err = c.Health(ctx) // this server has no health aggregator
	fmt.Println(errors.Is(err, client.ErrUnavailable))
	// Output:
	// payments forced_open <nil>
	// payments forced_open
	// true POST /breakers/refunds/reset: 404 Not Found: breaker: not found: "refunds"
	// true
}

func ExampleClient_Events() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	b, _ := reg.GetOrCreate("payments", breaker.Config{})
	srv := httptest.NewServer(ops.Handler(ops.Options{Registry: reg}))
	defer srv.Close()
	c, _ := client.New(client.Config{BaseURL: srv.URL})
	defer c.CloseIdleConnections()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for ev, err := range c.Events(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.ID, ev.Kind)
		if ev.Kind == "hello" {
			b.ForceOpen() // the stream is open: make something happen
			continue
		}
		e, _ := ev.Breaker()
		fmt.Println(e.Breaker, e.From, "->", e.To)
		break
	}
	// Output:
	// 1 hello
	// 2 breaker
	// payments closed -> forced_open
}
