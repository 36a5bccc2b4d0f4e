package cluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
)

// ExampleMember_View joins two instances and reads the cluster view. The
// store is any cluster.Store: clusternats.Open's in production, the tests'
// in-memory one here.
func ExampleMember_View() {
	ctx := context.Background()
	backend := newBackend()
	var members []*cluster.Member
	for _, name := range []string{"web-1", "web-2"} {
		reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
		agg, _ := health.New(health.Config{}, reg)
		b, _ := reg.GetOrCreate("payments", breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Minute})
		if name == "web-2" {
			tk, _ := b.Allow()
			tk.Done(fmt.Errorf("timeout")) // payments trips on web-2
		}
		m, err := cluster.New(cluster.Config{Name: "shop", Instance: name}, cluster.Sources{Breakers: reg, Health: agg}, backend.client())
		if err != nil {
			panic(err)
		}
		if err := m.Beat(ctx); err != nil { // what Run does every second
			panic(err)
		}
		members = append(members, m)
	}
	v, err := members[0].View(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Status, v.Live, "live")
	fmt.Println(v.Breakers[0].Summary)
	fmt.Println(v.PulledDownBy.Instances[0].Instance, v.PulledDownBy.Instances[0].Reason)
	// Output:
	// CRITICAL 2 live
	// payments open on 1 of 2 instances
	// web-2 critical
}
