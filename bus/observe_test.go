package bus_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/metering"
)

type ctxKey struct{}

// recorder is an Observer that stamps a header on every message, puts a
// value in every delivery's context and keeps what it is told.
type recorder struct {
	mu         sync.Mutex
	senders    []any // ctx values seen by Accepted
	delivering []bool
	delivered  []bus.Delivery
	ctxValues  []any // ctx values seen by Delivered
}

func (r *recorder) Accepted(ctx context.Context, msg bus.Message) map[string]string {
	r.mu.Lock()
	r.senders = append(r.senders, ctx.Value(ctxKey{}))
	r.mu.Unlock()
	h := maps.Clone(msg.Headers)
	if h == nil {
		h = map[string]string{}
	}
	h["seen"] = msg.ID
	return h
}

func (r *recorder) Delivering(ctx context.Context, msg bus.Message, queued bool) context.Context {
	r.mu.Lock()
	r.delivering = append(r.delivering, queued)
	r.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, "delivery of "+msg.ID)
}

func (r *recorder) Delivered(ctx context.Context, d bus.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered = append(r.delivered, d)
	r.ctxValues = append(r.ctxValues, ctx.Value(ctxKey{}))
}

func (r *recorder) last(t *testing.T) bus.Delivery {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.delivered) == 0 {
		t.Fatal("no delivery observed")
	}
	return r.delivered[len(r.delivered)-1]
}

func TestBus_Observer(t *testing.T) {
	t.Run("sees a sent message with its headers, context and decisions", func(t *testing.T) {
		obs := &recorder{}
		f := newFixture(t, bus.Config{Observer: obs})
		var got bus.Message
		var handlerCtx any
		if err := f.bus.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
			got, handlerCtx = m, ctx.Value(ctxKey{})
			return bus.Reply{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		shared := map[string]string{"tenant-tag": "a"}
		msg := bus.NewMessage("planner", "validator", "validate", nil)
		msg.Headers = shared
		ctx := context.WithValue(context.Background(), ctxKey{}, "sender")
		if _, err := f.bus.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got.Headers["seen"] != got.ID || got.Headers["tenant-tag"] != "a" {
			t.Errorf("handler saw headers %v, want the observer's beside the sender's", got.Headers)
		}
		if len(shared) != 1 {
			t.Errorf("the sender's map was modified: %v", shared)
		}
		if handlerCtx != "delivery of "+got.ID {
			t.Errorf("handler's ctx value = %v, want the one Delivering set", handlerCtx)
		}
		d := obs.last(t)
		if d.Queued || d.Outcome != metering.OutcomeOK || d.Err != nil || d.BreakerState != breaker.Closed {
			t.Errorf("delivery = %+v, want a sent OK delivery through a closed breaker", d)
		}
		if d.Message.ID != got.ID || d.Message.Headers["seen"] != got.ID {
			t.Errorf("delivery's message = %+v, want the one delivered", d.Message)
		}
		if obs.senders[0] != "sender" || obs.ctxValues[0] != "delivery of "+got.ID {
			t.Errorf("Accepted saw %v, Delivered saw %v", obs.senders[0], obs.ctxValues[0])
		}
	})
	t.Run("is told each decision of the pipeline", testObserverDecisions)
	t.Run("sees a published message delivered by Run", testObserverPublished)
	t.Run("is not called for a refused message", func(t *testing.T) {
		obs := &recorder{}
		f := newFixture(t, bus.Config{Observer: obs})
		msg := bus.NewMessage("planner", "nobody", "validate", nil)
		if _, err := f.bus.Send(context.Background(), msg); !errors.Is(err, bus.ErrUnknownAgent) {
			t.Fatalf("Send = %v, want ErrUnknownAgent", err)
		}
		if len(obs.senders)+len(obs.delivered) != 0 {
			t.Errorf("observer called for a refused message: %d accepted, %d delivered", len(obs.senders), len(obs.delivered))
		}
	})
	t.Run("a typed nil is refused", func(t *testing.T) {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bus.New(bus.Config{Registry: reg, Observer: (*recorder)(nil)})
		var ve *antifragile.ValidationError
		if !errors.As(err, &ve) || ve.Field != "observer" || !errors.Is(err, antifragile.ErrNil) {
			t.Errorf("New = %v, want a *ValidationError on observer wrapping ErrNil", err)
		}
	})
}

func testObserverDecisions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recorder{}
		var inject error
		f := newFixture(t, bus.Config{Observer: obs, Chaos: chaosFunc(func(ctx context.Context, _ string) error {
			time.Sleep(5 * time.Millisecond)
			return inject
		})})
		var handlerErr error
		if err := f.bus.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
			time.Sleep(time.Millisecond)
			return bus.Reply{}, handlerErr
		}); err != nil {
			t.Fatal(err)
		}
		send := func() bus.Delivery {
			_, _ = f.bus.Send(context.Background(), bus.NewMessage("planner", "validator", "validate", nil))
			return obs.last(t)
		}
		if d := send(); d.ChaosDuration != 5*time.Millisecond || d.Duration != 6*time.Millisecond || d.ChaosErr != nil {
			t.Errorf("delayed delivery = %+v, want 5ms of chaos in 6ms", d)
		}
		handlerErr = errBoom
		if d := send(); d.Outcome != metering.OutcomeError || !errors.Is(d.Err, errBoom) {
			t.Errorf("failed delivery = %+v, want outcome error with the handler's error", d)
		}
		handlerErr, inject = nil, errors.New("injected")
		if d := send(); d.Outcome != metering.OutcomeInjected || d.ChaosErr != inject || d.Err != inject {
			t.Errorf("injected delivery = %+v, want outcome injected with chaos's error", d)
		}
		inject = nil
		br, _ := f.reg.Get("validator")
		br.ForceOpen()
		if d := send(); d.Outcome != metering.OutcomeRejected || d.BreakerState != breaker.ForcedOpen || !errors.Is(d.Err, breaker.ErrOpen) {
			t.Errorf("rejected delivery = %+v, want outcome rejected by a forced-open breaker", d)
		}
	})
}

func testObserverPublished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recorder{}
		f := newFixture(t, bus.Config{Observer: obs})
		done := make(chan bus.Message, 1)
		if err := f.bus.Register("validator", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
			done <- m
			return bus.Reply{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go f.bus.Run(ctx)
		sender := context.WithValue(ctx, ctxKey{}, "publisher")
		if err := f.bus.Publish(sender, bus.NewMessage("planner", "validator", "validate", nil)); err != nil {
			t.Fatal(err)
		}
		m := <-done
		synctest.Wait()
		cancel()
		synctest.Wait()
		d := obs.last(t)
		if !d.Queued || !obs.delivering[0] || d.Message.Headers["seen"] != m.ID || m.Headers["seen"] != m.ID {
			t.Errorf("published delivery = %+v (handler saw %v), want a queued one with its headers", d, m.Headers)
		}
		if obs.senders[0] != "publisher" {
			t.Errorf("Accepted saw ctx value %v, want the publisher's", obs.senders[0])
		}
	})
}
