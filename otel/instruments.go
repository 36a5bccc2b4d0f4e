package afotel

import (
	"context"
	"errors"
	"sync"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the meters and the tracer.
const ScopeName = "github.com/antifragile-go/antifragile/otel"

// Errors of Instruments. Match them with errors.Is.
var (
	// ErrRunning: Run was called while another Run of the same Instruments
	// is going.
	ErrRunning = errors.New("afotel: already running")
	// ErrClosed: Run was called after Close.
	ErrClosed = errors.New("afotel: closed")
)

// Bounds of InstrumentsConfig.EventBuffer.
const (
	DefaultEventBuffer = 4096
	MaxEventBuffer     = 1 << 20
)

// InstrumentsConfig says which components Instruments reads and where it
// registers its instruments. Every component is optional: a nil one gets
// no instruments.
type InstrumentsConfig struct {
	// MeterProvider provides the meter; nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Registry is read for the breakers' states and counters; its events
	// are counted as transitions.
	Registry *breaker.Registry
	// Health is read for the score and the status.
	Health *health.Aggregator
	// Recovery is read for its tasks; its events are counted as attempts
	// and their outcomes.
	Recovery *recovery.Orchestrator
	// Chaos is read for its scenarios and injections.
	Chaos *chaos.Engine
	// Meter is read for its accepted, dropped and flushed events.
	Meter *metering.Meter
	// Bus is read for its messages by what happened to them. Its delivery
	// latency histogram and spans come from a BusObserver in bus.Config.
	Bus *bus.Bus
	// EventBuffer is the buffer of the subscriptions to the registry's and
	// the orchestrator's events. 0 means DefaultEventBuffer (4,096);
	// negative or above MaxEventBuffer (1,048,576) is invalid.
	EventBuffer int
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash. It is an attribute of the instrumentation scope.
	ConstitutionalHash string
}

// InstrumentsFor returns the InstrumentsConfig that reads every component
// of s, with the global MeterProvider.
func InstrumentsFor(s *system.System) InstrumentsConfig {
	return InstrumentsConfig{
		Registry: s.Registry(), Health: s.Health(), Recovery: s.Recovery(), Chaos: s.Chaos(),
		Meter: s.Meter(), Bus: s.Bus(), ConstitutionalHash: s.Config().ConstitutionalHash,
	}
}

// Validate reports the invalid fields of c as *antifragile.ValidationError
// values joined with errors.Join; nil when they are valid.
func (c InstrumentsConfig) Validate() error {
	var errs []error
	if err := antifragile.ValidateHashFor(antifragile.HashOrDefault(c.ConstitutionalHash), "afotel"); err != nil {
		errs = append(errs, err)
	}
	if c.EventBuffer < 0 {
		errs = append(errs, antifragile.Invalid("event_buffer", c.EventBuffer, "must not be negative"))
	}
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "event_buffer", c.EventBuffer, MaxEventBuffer)
	return errors.Join(append(errs, bounds.Err())...)
}

// Instruments are the OpenTelemetry instruments of a set of components:
// observable instruments whose one callback reads each component's
// counters when the SDK collects, so that nothing is added to any hot path,
// and counters of the breaker transitions and recovery attempts built from
// the components' events.
//
// Without Run, each collection counts the events buffered since the last
// one (a buffer that fills in between drops events, counted in
// antifragile.otel.events.dropped); Run counts them as they come. It is
// safe for concurrent use. Close unregisters everything.
type Instruments struct {
	cfg  InstrumentsConfig
	reg  metric.Registration
	inst instruments
	ev   eventCounts

	mu      sync.Mutex
	closed  bool          // guarded by mu
	running chan struct{} // guarded by mu: closed as the Run going returns
	done    chan struct{} // closed by Close
}

// NewInstruments creates the instruments of cfg's components on a meter of
// cfg.MeterProvider, subscribes to the registry's and the orchestrator's
// events and registers the callback. It starts no goroutine. It returns
// cfg's validation errors, or the meter's error for an instrument.
func NewInstruments(cfg InstrumentsConfig) (*Instruments, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.EventBuffer == 0 {
		cfg.EventBuffer = DefaultEventBuffer
	}
	m := cfg.MeterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(antifragile.Version),
		metric.WithInstrumentationAttributes(KeyHash.String(antifragile.HashOrDefault(cfg.ConstitutionalHash))))
	i := &Instruments{cfg: cfg, done: make(chan struct{})}
	if err := i.inst.create(m, &cfg); err != nil {
		return nil, err
	}
	i.ev.init()
	if cfg.Registry != nil {
		i.ev.breakers = cfg.Registry.Subscribe(cfg.EventBuffer)
	}
	if cfg.Recovery != nil {
		i.ev.recovery = cfg.Recovery.Subscribe(cfg.EventBuffer)
	}
	reg, err := m.RegisterCallback(i.observe, i.inst.observables...)
	if err != nil {
		i.ev.close()
		return nil, err
	}
	i.reg = reg
	return i, nil
}

// Run counts the registry's and the orchestrator's events as they come,
// until ctx ends or Close is called; it blocks, and returns nil then. It
// returns ErrRunning while another Run is going and ErrClosed after Close.
func (i *Instruments) Run(ctx context.Context) error {
	i.mu.Lock()
	switch {
	case i.closed:
		i.mu.Unlock()
		return ErrClosed
	case i.running != nil:
		i.mu.Unlock()
		return ErrRunning
	}
	stopped := make(chan struct{})
	i.running = stopped
	i.mu.Unlock()
	defer func() {
		i.mu.Lock()
		i.running = nil
		i.mu.Unlock()
		close(stopped)
	}()
	i.ev.run(ctx, i.done)
	return nil
}

// Close unregisters the callback, so that the instruments report nothing
// more, closes the event subscriptions and stops a running Run, waiting
// for it to return or for ctx to end (then it returns ctx's error). It is
// idempotent and safe for concurrent use.
func (i *Instruments) Close(ctx context.Context) error {
	i.mu.Lock()
	first := !i.closed
	i.closed = true
	stopped := i.running
	i.mu.Unlock()
	var err error
	if first {
		close(i.done)
		err = i.reg.Unregister()
		i.ev.close()
	}
	if stopped == nil {
		return err
	}
	select {
	case <-stopped:
		return err
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
}

// observe is the callback: it counts the buffered events, then reads every
// component.
func (i *Instruments) observe(_ context.Context, o metric.Observer) error {
	i.ev.drain()
	c := &i.cfg
	if c.Registry != nil {
		i.inst.observeBreakers(o, c.Registry)
	}
	i.inst.observeEvents(o, &i.ev)
	if c.Health != nil {
		i.inst.observeHealth(o, c.Health.Metrics())
	}
	if c.Recovery != nil {
		i.inst.observeRecovery(o, c.Recovery.Status())
	}
	if c.Chaos != nil {
		i.inst.observeChaos(o, c.Chaos.Metrics())
	}
	if c.Meter != nil {
		i.inst.observeMeter(o, c.Meter.Metrics())
	}
	if c.Bus != nil {
		i.inst.observeBus(o, c.Bus.Metrics())
	}
	return nil
}
