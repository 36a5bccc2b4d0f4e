package afotel_test

import (
	"context"
	"fmt"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	afotel "github.com/antifragile-go/antifragile/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func ExampleNewInstruments() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader() // in production: a periodic reader and an exporter
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	b, _ := bus.New(bus.Config{Registry: reg})
	_ = b.Register("validator", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil })

	ins, err := afotel.NewInstruments(afotel.InstrumentsConfig{MeterProvider: mp, Registry: reg, Bus: b})
	if err != nil {
		panic(err)
	}
	defer ins.Close(ctx)

	_, _ = b.Send(ctx, bus.NewMessage("planner", "validator", "validate", nil))
	br, _ := reg.Get("validator")
	br.ForceOpen()
	_, _ = b.Send(ctx, bus.NewMessage("planner", "validator", "validate", nil))

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok && (m.Name == "antifragile.bus.deliveries" || m.Name == "antifragile.breaker.transitions") {
			for _, p := range s.DataPoints {
				if p.Value > 0 {
					fmt.Println(m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value)
				}
			}
		}
	}
	// Unordered output:
	// antifragile.breaker.transitions antifragile.breaker.from_state=closed,antifragile.breaker.name=validator,antifragile.breaker.reason=forced,antifragile.breaker.to_state=forced_open 1
	// antifragile.bus.deliveries antifragile.bus.outcome=ok 1
	// antifragile.bus.deliveries antifragile.bus.outcome=rejected 1
}

func ExampleNewBusObserver() {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder() // in production: a batch span processor and an exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)

	obs, err := afotel.NewBusObserver(afotel.BusObserverConfig{TracerProvider: tp})
	if err != nil {
		panic(err)
	}
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	b, _ := bus.New(bus.Config{Registry: reg, Observer: obs})
	_ = b.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		fmt.Println("traceparent:", len(m.Headers["traceparent"]) == 55)
		return bus.Reply{}, nil
	})

	ctx, span := tp.Tracer("app").Start(ctx, "plan")
	_, _ = b.Send(ctx, bus.NewMessage("planner", "validator", "validate", nil))
	span.End()

	d := spans.Ended()[0]
	fmt.Println(d.Name(), d.Parent().SpanID() == span.SpanContext().SpanID())
	for _, kv := range d.Attributes() {
		switch kv.Key {
		case afotel.KeyOutcome, afotel.KeyBreakerState, afotel.KeyChaosInjected:
			fmt.Println(kv.Key, kv.Value.Emit())
		}
	}
	// Output:
	// traceparent: true
	// deliver validator true
	// antifragile.bus.outcome ok
	// antifragile.breaker.state closed
	// antifragile.chaos.injected false
}
