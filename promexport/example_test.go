package promexport_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/promexport"
	"github.com/antifragile-go/antifragile/system"
)

// A collector over a breaker registry, registered into the application's
// own registry beside the Go runtime's collector. Serve that registry with
// promhttp.HandlerFor as usual.
func Example() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	db, _ := reg.GetOrCreate("db", breaker.Config{SlowCallThreshold: time.Second}) // timed: it has a histogram
	_ = db.Execute(func() error { return nil })

	c, err := promexport.New(promexport.Config{Registry: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	mine := prometheus.NewRegistry()
	mine.MustRegister(c, collectors.NewGoCollector())

	mfs, _ := mine.Gather()
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "antifragile_breaker_ca") {
			fmt.Println(mf.GetName(), mf.GetType(), len(mf.GetMetric()))
		}
	}
	// Output:
	// antifragile_breaker_call_duration_seconds HISTOGRAM 1
	// antifragile_breaker_calls_total COUNTER 1
}

// A collector over every component of a system.System, which is what the
// ops API's GET /metrics serves.
func Example_system() {
	sys, err := system.New(system.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(context.Background())
	_ = sys.Bus().Register("validator", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil })
	_, _ = sys.Bus().Send(context.Background(), bus.NewMessage("proposer", "validator", "validate", nil))

	o := sys.OpsOptions()
	c, _ := promexport.New(promexport.Config{
		Registry: o.Registry, Health: o.Health, Recovery: o.Recovery, Chaos: o.Chaos,
		Meter: o.Meter, Spool: o.Spool, Bus: o.Bus,
	})
	prometheus.MustRegister(c) // or into a registry of the application's own
	defer prometheus.Unregister(c)

	mfs, _ := prometheus.DefaultGatherer.Gather()
	for _, mf := range mfs {
		if name := mf.GetName(); strings.HasPrefix(name, "antifragile_health") || strings.HasPrefix(name, "antifragile_bus") {
			fmt.Println(name, mf.GetType())
		}
	}
	// Output:
	// antifragile_bus_agents GAUGE
	// antifragile_bus_message_duration_seconds HISTOGRAM
	// antifragile_bus_messages_total COUNTER
	// antifragile_bus_running GAUGE
	// antifragile_health_breakers GAUGE
	// antifragile_health_score GAUGE
	// antifragile_health_status GAUGE
}
