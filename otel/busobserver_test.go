package afotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/bus"
	afotel "github.com/antifragile-go/antifragile/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type traced struct {
	*components
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer
	reader *sdkmetric.ManualReader
}

func newTraced(t *testing.T) *traced {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	obs, err := afotel.NewBusObserver(afotel.BusObserverConfig{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	return &traced{components: newComponents(t, obs), spans: spans, tracer: tp.Tracer("test"), reader: reader}
}

// delivery returns the one ended delivery span, and fails unless there is
// exactly one.
func (tr *traced) delivery(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range tr.spans.Ended() {
		if s.Name() == "deliver validator" {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d delivery spans ended, want 1", len(found))
	}
	return found[0]
}

func attrsOf(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestBusObserver_Send(t *testing.T) {
	tr := newTraced(t)
	var seen bus.Message
	var inHandler trace.SpanContext
	if err := tr.bus.Register("recorder", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		seen, inHandler = m, trace.SpanContextFromContext(ctx)
		return bus.Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, parent := tr.tracer.Start(context.Background(), "sender")
	msg := bus.NewMessage("planner", "recorder", "audit", nil)
	if _, err := tr.bus.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if msg.Headers != nil {
		t.Errorf("the sender's message was modified: %v", msg.Headers)
	}
	want := parent.SpanContext()
	if tp := seen.Headers["traceparent"]; tp != "00-"+want.TraceID().String()+"-"+want.SpanID().String()+"-01" {
		t.Errorf("traceparent = %q, want the sender's span", tp)
	}
	var span sdktrace.ReadOnlySpan
	for _, s := range tr.spans.Ended() {
		if s.Name() == "deliver recorder" {
			span = s
		}
	}
	if span == nil {
		t.Fatal("no delivery span")
	}
	if span.Parent().SpanID() != want.SpanID() || span.SpanContext().TraceID() != want.TraceID() {
		t.Errorf("delivery span's parent = %v, want the sender's span %v", span.Parent(), want)
	}
	if inHandler.SpanID() != span.SpanContext().SpanID() {
		t.Error("the handler's context does not carry the delivery span")
	}
	a := attrsOf(span)
	if a[afotel.KeyOutcome].AsString() != "ok" || a[afotel.KeyBreakerState].AsString() != "closed" ||
		a[afotel.KeyChaosInjected].AsBool() || a[afotel.KeyQueued].AsBool() ||
		a["messaging.message.id"].AsString() != seen.ID || span.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("delivery span %v, attributes %v", span.SpanKind(), span.Attributes())
	}
	if span.Status().Code != codes.Unset {
		t.Errorf("status = %v, want unset", span.Status())
	}
}

func TestBusObserver_Decisions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		arrange func(tr *traced)
		check   func(t *testing.T, a map[attribute.Key]attribute.Value)
	}{
		{"a handler error is outcome error", func(*traced) {}, func(t *testing.T, a map[attribute.Key]attribute.Value) {
			if a[afotel.KeyOutcome].AsString() != "error" || a[afotel.KeyChaosInjected].AsBool() {
				t.Errorf("attributes %v", a)
			}
		}},
		{"an injected error is outcome injected with chaos's error", func(tr *traced) {
			if _, err := tr.chaos.InjectErrors("validator", 1, nil, time.Minute); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, a map[attribute.Key]attribute.Value) {
			if a[afotel.KeyOutcome].AsString() != "injected" || !a[afotel.KeyChaosInjected].AsBool() ||
				a[afotel.KeyChaosError].AsString() == "" || a[afotel.KeyChaosDuration].AsFloat64() <= 0 {
				t.Errorf("attributes %v", a)
			}
		}},
		{"a forced-open breaker is outcome rejected", func(tr *traced) {
			br, _ := tr.reg.Get("validator")
			br.ForceOpen()
		}, func(t *testing.T, a map[attribute.Key]attribute.Value) {
			if a[afotel.KeyOutcome].AsString() != "rejected" || a[afotel.KeyBreakerState].AsString() != "forced_open" {
				t.Errorf("attributes %v", a)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTraced(t)
			tc.arrange(tr)
			if err := tr.send(t, context.Background(), "fail"); err == nil {
				t.Fatal("Send succeeded")
			}
			span := tr.delivery(t)
			tc.check(t, attrsOf(span))
			if span.Status().Code != codes.Error || len(span.Events()) != 1 || span.Events()[0].Name != "exception" {
				t.Errorf("status %v, events %v: want an error status and the error recorded", span.Status(), span.Events())
			}
			if span.Parent().IsValid() {
				t.Errorf("a message sent with no span has a parent %v", span.Parent())
			}
		})
	}
}

func TestBusObserver_Publish(t *testing.T) {
	tr := newTraced(t)
	ctx, parent := tr.tracer.Start(context.Background(), "publisher")
	for range 2 {
		if err := tr.bus.Publish(ctx, bus.NewMessage("planner", "validator", "validate", "ok")); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()
	if len(tr.spans.Ended()) != 1 {
		t.Fatalf("%d spans ended before delivery, want the publisher's only", len(tr.spans.Ended()))
	}
	if err := tr.bus.Drain(context.Background()); err != nil { // a context with no span
		t.Fatal(err)
	}
	var n int
	for _, s := range tr.spans.Ended() {
		if s.Name() != "deliver validator" {
			continue
		}
		n++
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || !s.Parent().IsRemote() {
			t.Errorf("queued delivery's parent = %v, want the publisher's span read from the headers", s.Parent())
		}
		if !attrsOf(s)[afotel.KeyQueued].AsBool() {
			t.Error("queued delivery without antifragile.bus.queued")
		}
	}
	if n != 2 {
		t.Errorf("%d delivery spans, want 2", n)
	}
}

func TestBusObserver_Histogram(t *testing.T) {
	tr := newTraced(t)
	for _, p := range []string{"ok", "ok", "fail"} {
		_ = tr.send(t, context.Background(), p)
	}
	br, _ := tr.reg.Get("validator")
	br.ForceOpen()
	_ = tr.send(t, context.Background(), "ok")
	m, ok := collect(t, tr.reader)["antifragile.bus.delivery.duration"]
	if !ok {
		t.Fatal("no delivery histogram")
	}
	if m.Unit != "s" {
		t.Errorf("unit %q, want s", m.Unit)
	}
	counts := map[string]uint64{}
	for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		if agent, _ := p.Attributes.Value(afotel.KeyAgent); agent.AsString() != "validator" {
			t.Errorf("a point for agent %q", agent.AsString())
		}
		outcome, _ := p.Attributes.Value(afotel.KeyOutcome)
		counts[outcome.AsString()] += p.Count
		if len(p.Bounds) != len(afotel.DurationBuckets) {
			t.Errorf("%d bounds, want DurationBuckets", len(p.Bounds))
		}
	}
	if counts["ok"] != 2 || counts["error"] != 1 || counts["rejected"] != 1 {
		t.Errorf("counts by outcome %v, want 2 ok, 1 error, 1 rejected", counts)
	}
}

func TestBusObserver_NoSpanNoHeaders(t *testing.T) {
	obs, err := afotel.NewBusObserver(afotel.BusObserverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"k": "v"}
	msg := bus.NewMessage("a", "b", "c", nil)
	msg.Headers = h
	if got := obs.Accepted(context.Background(), msg); len(got) != 1 || got["k"] != "v" {
		t.Errorf("Accepted with no span = %v, want the headers unchanged", got)
	}
	if _, err := afotel.NewBusObserver(afotel.BusObserverConfig{ConstitutionalHash: "0000000000000000"}); err == nil {
		t.Error("NewBusObserver accepted another hash")
	}
}
