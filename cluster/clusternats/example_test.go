package clusternats_test

import (
	"context"
	"fmt"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
)

// Example joins a cluster over NATS and reads its view. It needs a
// nats-server with JetStream, so it is compiled but not run.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	store, err := clusternats.Open(ctx, clusternats.Config{URL: "nats://127.0.0.1:4222"})
	if err != nil {
		panic(err)
	}
	defer store.Close(context.Background())
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	engine, _ := chaos.New(chaos.Config{}, reg)
	m, err := cluster.New(cluster.Config{Name: "shop", Quorum: map[string]int{"payments": 2}},
		cluster.Sources{Breakers: reg, Chaos: engine}, store)
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-m.Started()
	v, err := m.View(ctx)
	if err != nil {
		panic(err) // v is still the last view, marked stale
	}
	for _, r := range v.Breakers {
		fmt.Println(r.Summary)
	}
	cancel()
	<-done
	_ = engine.Close(context.Background())
}
