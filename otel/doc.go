// Package afotel exports antifragile's components through OpenTelemetry.
// It is a nested module (github.com/antifragile-go/antifragile/otel), so
// that OpenTelemetry never enters the core go.mod.
//
// Two parts, each optional:
//
//   - Instruments registers observable instruments for the breakers, the
//     health aggregator, the recovery orchestrator, the chaos engine, the
//     meter and the bus. One callback reads each component's counters when
//     the SDK collects: nothing is added to any hot path. Breaker
//     transitions and recovery attempts are counted from the components'
//     events. Close unregisters them.
//   - BusObserver is a bus.Observer: the sender's span context travels in
//     the message's headers as W3C trace context, every delivery is a span
//     carrying the pipeline's decisions (chaos injected, breaker state,
//     outcome), and every delivery's duration goes to a histogram.
//
// Wiring, with the providers of the application:
//
//	obs, _ := afotel.NewBusObserver(afotel.BusObserverConfig{TracerProvider: tp, MeterProvider: mp})
//	cfg.Bus.Observer = obs // cfg is a system.Config
//	sys, _ := system.New(cfg)
//	ic := afotel.InstrumentsFor(sys)
//	ic.MeterProvider = mp
//	ins, _ := afotel.NewInstruments(ic)
//	defer ins.Close(ctx)
//	go ins.Run(ctx) // optional: counts events as they come
//
// The instrument names, units and attributes are listed in
// docs/opentelemetry.md.
package afotel
