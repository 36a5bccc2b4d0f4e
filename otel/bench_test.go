package afotel_test

import (
	"context"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	afotel "github.com/antifragile-go/antifragile/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkSend is a bus Send with no observer beside one with a
// BusObserver on the SDK (every span sampled, none exported; the histogram
// aggregated by a manual reader), from a context with a span.
func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(ctx)
	obs, err := afotel.NewBusObserver(afotel.BusObserverConfig{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	ctx, span := tp.Tracer("bench").Start(ctx, "sender")
	defer span.End()
	for _, bc := range []struct {
		name string
		obs  bus.Observer
	}{{"observer=none", nil}, {"observer=otel", obs}} {
		reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
		cfg := bus.Config{Registry: reg}
		if bc.obs != nil {
			cfg.Observer = bc.obs
		}
		bb, err := bus.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		_ = bb.Register("validator", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil })
		msg := bus.NewMessage("planner", "validator", "validate", nil)
		b.Run(bc.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bb.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bb.Send(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
