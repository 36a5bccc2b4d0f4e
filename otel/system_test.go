package afotel_test

import (
	"context"
	"testing"

	"github.com/antifragile-go/antifragile/bus"
	afotel "github.com/antifragile-go/antifragile/otel"
	"github.com/antifragile-go/antifragile/system"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestInstrumentsFor(t *testing.T) {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	obs, err := afotel.NewBusObserver(afotel.BusObserverConfig{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	var cfg system.Config
	cfg.Bus.Observer = obs
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(ctx)
	ic := afotel.InstrumentsFor(sys)
	ic.MeterProvider = mp
	ins, err := afotel.NewInstruments(ic)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close(ctx)
	if err := sys.Bus().Register("validator", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Bus().Send(ctx, bus.NewMessage("planner", "validator", "validate", nil)); err != nil {
		t.Fatal(err)
	}
	if n := len(spans.Ended()); n != 1 {
		t.Errorf("%d spans from the system's bus, want 1", n)
	}
	ms := collect(t, reader)
	checkPoints(t, ms, []point{
		at("antifragile.bus.deliveries", 1, afotel.KeyOutcome.String("ok")),
		at("antifragile.breaker.state", 1, afotel.KeyBreaker.String("validator"), afotel.KeyBreakerState.String("closed")),
		at("antifragile.metering.events.accepted", 1),
		at("antifragile.chaos.scenarios.active", 0),
		at("antifragile.recovery.tasks", 0),
		at("antifragile.health.status", 1, afotel.KeyHealthStatus.String("UNKNOWN")),
	})
	if _, ok := ms["antifragile.bus.delivery.duration"]; !ok {
		t.Error("no delivery histogram")
	}
}
