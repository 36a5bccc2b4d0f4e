package afotel

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/metering"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// DurationBuckets are the bucket boundaries, in seconds, that a
// BusObserver's delivery histogram advises: from 10 µs, for an in-process
// handler, to 30 s, the default publish timeout.
var DurationBuckets = []float64{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// BusObserverConfig configures a BusObserver. Its zero value uses the
// global providers and W3C trace context.
type BusObserverConfig struct {
	// TracerProvider provides the tracer of the delivery spans; nil means
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider provides the meter of the delivery histogram; nil means
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Propagator writes the sender's span context into a message's headers
	// and reads it back on delivery; nil means propagation.TraceContext{}
	// (the W3C "traceparent" and "tracestate" headers).
	Propagator propagation.TextMapPropagator
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash. It is an attribute of the instrumentation scope.
	ConstitutionalHash string
}

// BusObserver is a bus.Observer that traces and times every delivery: the
// sender's span context travels in the message's headers, each delivery is
// a span (a child of the sender's span) carrying the pipeline's decisions —
// the breaker's state, chaos's error and delay, the outcome — and its
// duration goes to the histogram antifragile.bus.delivery.duration by agent
// and outcome. Set it as bus.Config.Observer (or system.Config.Bus.Observer).
// It is safe for concurrent use and never blocks.
type BusObserver struct {
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	duration metric.Float64Histogram
	agents   sync.Map     // agent name → *agentAttrs
	cached   atomic.Int64 // entries in agents, at most maxCachedAgents
}

// maxCachedAgents bounds the agents whose span name and histogram
// attributes a BusObserver keeps; others get theirs built per delivery.
const maxCachedAgents = 4096

// agentAttrs is what every delivery to one agent shares.
type agentAttrs struct {
	span     string                                     // the span name
	outcomes [len(allOutcomes)]metric.MeasurementOption // histogram attributes by outcome
}

var allOutcomes = [...]metering.Outcome{metering.OutcomeOK, metering.OutcomeError, metering.OutcomeRejected, metering.OutcomeInjected}

func newAgentAttrs(agent string) *agentAttrs {
	a := &agentAttrs{span: "deliver " + agent}
	for i, o := range allOutcomes {
		a.outcomes[i] = metric.WithAttributeSet(attribute.NewSet(KeyAgent.String(agent), KeyOutcome.String(o.String())))
	}
	return a
}

// attrsOf returns the agent's shared attributes, cached while there is room.
func (o *BusObserver) attrsOf(agent string) *agentAttrs {
	if a, ok := o.agents.Load(agent); ok {
		return a.(*agentAttrs)
	}
	a := newAgentAttrs(agent)
	if o.cached.Add(1) > maxCachedAgents {
		o.cached.Add(-1)
		return a
	}
	if prev, loaded := o.agents.LoadOrStore(agent, a); loaded {
		o.cached.Add(-1)
		return prev.(*agentAttrs)
	}
	return a
}

var _ bus.Observer = (*BusObserver)(nil)

// NewBusObserver returns a BusObserver for cfg, or a *ValidationError for
// its hash, or the meter's error for the histogram.
func NewBusObserver(cfg BusObserverConfig) (*BusObserver, error) {
	hash := antifragile.HashOrDefault(cfg.ConstitutionalHash)
	if err := antifragile.ValidateHashFor(hash, "afotel"); err != nil {
		return nil, err
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.Propagator == nil {
		cfg.Propagator = propagation.TraceContext{}
	}
	scope := KeyHash.String(hash)
	o := &BusObserver{
		prop: cfg.Propagator,
		tracer: cfg.TracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(antifragile.Version),
			trace.WithInstrumentationAttributes(scope)),
	}
	m := cfg.MeterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(antifragile.Version),
		metric.WithInstrumentationAttributes(scope))
	var err error
	o.duration, err = m.Float64Histogram("antifragile.bus.delivery.duration", metric.WithUnit("s"),
		metric.WithDescription("How long bus deliveries took (chaos, breaker and handler), by agent and outcome."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	if err != nil {
		return nil, errors.Join(errors.New("afotel: delivery histogram"), err)
	}
	return o, nil
}

// Accepted returns msg's headers with the span context of ctx written in
// by the propagator: a new map when it writes anything, msg.Headers itself
// otherwise (ctx has no span).
func (o *BusObserver) Accepted(ctx context.Context, msg bus.Message) map[string]string {
	c := headerCarrier{src: msg.Headers}
	o.prop.Inject(ctx, &c)
	if c.dst == nil {
		return msg.Headers
	}
	return c.dst
}

// Delivering starts the delivery's span. Its parent is the span context in
// msg's headers for a queued message, and ctx's span for a sent one (the
// headers' when ctx has none).
func (o *BusObserver) Delivering(ctx context.Context, msg bus.Message, queued bool) context.Context {
	if queued || !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = o.prop.Extract(ctx, propagation.MapCarrier(msg.Headers))
	}
	attrs := []attribute.KeyValue{
		attribute.String("messaging.system", "antifragile"),
		attribute.String("messaging.operation.name", "deliver"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", msg.To),
		attribute.String("messaging.message.id", msg.ID),
		KeyFrom.String(msg.From), KeyType.String(msg.Type), KeyQueued.Bool(queued),
	}
	if msg.Tenant != "" {
		attrs = append(attrs, KeyTenant.String(msg.Tenant))
	}
	ctx, _ = o.tracer.Start(ctx, o.attrsOf(msg.To).span, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return ctx
}

// Delivered sets the pipeline's decisions on the span, ends it, and
// records the delivery's duration.
func (o *BusObserver) Delivered(ctx context.Context, d bus.Delivery) {
	span := trace.SpanFromContext(ctx)
	outcome := KeyOutcome.String(d.Outcome.String())
	span.SetAttributes(outcome, KeyBreakerState.String(d.BreakerState.String()),
		KeyChaosInjected.Bool(d.Outcome == metering.OutcomeInjected))
	if d.ChaosDuration > 0 {
		span.SetAttributes(KeyChaosDuration.Float64(d.ChaosDuration.Seconds()))
	}
	if d.ChaosErr != nil {
		span.SetAttributes(KeyChaosError.String(d.ChaosErr.Error()))
	}
	if d.Err != nil {
		span.RecordError(d.Err)
		span.SetStatus(codes.Error, d.Err.Error())
	}
	span.End()
	if int(d.Outcome) < len(allOutcomes) {
		o.duration.Record(ctx, d.Duration.Seconds(), o.attrsOf(d.Message.To).outcomes[d.Outcome])
	} else {
		o.duration.Record(ctx, d.Duration.Seconds(), metric.WithAttributes(KeyAgent.String(d.Message.To), outcome))
	}
}

// headerCarrier is a propagation.TextMapCarrier over a message's headers
// that copies them before its first write, leaving the sender's map alone.
type headerCarrier struct {
	src, dst map[string]string
}

func (c *headerCarrier) Get(key string) string {
	if c.dst != nil {
		return c.dst[key]
	}
	return c.src[key]
}

func (c *headerCarrier) Set(key, value string) {
	if c.dst == nil {
		c.dst = make(map[string]string, len(c.src)+2)
		maps.Copy(c.dst, c.src)
	}
	c.dst[key] = value
}

func (c *headerCarrier) Keys() []string {
	m := c.src
	if c.dst != nil {
		m = c.dst
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
