package bus_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/metering"
)

// collector is a metering sink that keeps every event it is given.
type collector struct {
	mu     sync.Mutex
	events []metering.Event
}

func (c *collector) Write(_ context.Context, evs []metering.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, evs...)
	return nil
}

func (c *collector) all() []metering.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// chaosFunc is an Injector built from a function, standing in for the chaos
// engine where a test needs an exact fault.
type chaosFunc func(ctx context.Context, target string) error

func (f chaosFunc) Apply(ctx context.Context, target string) error { return f(ctx, target) }

type fixture struct {
	reg   *breaker.Registry
	meter *metering.Meter
	sink  *collector
	bus   *bus.Bus
}

func newFixture(t *testing.T, cfg bus.Config) *fixture {
	t.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collector{}
	m, err := metering.New(metering.Config{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Registry = reg
	cfg.Meter = m
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, meter: m, sink: sink, bus: b}
}

// metered flushes the meter and returns the events the sink holds.
func (f *fixture) metered(t *testing.T) []metering.Event {
	t.Helper()
	if err := f.meter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f.sink.all()
}

var errBoom = errors.New("boom")

func echo(ctx context.Context, m bus.Message) (bus.Reply, error) {
	return bus.Reply{Payload: m.Payload}, nil
}

func TestBus_Send(t *testing.T) {
	f := newFixture(t, bus.Config{})
	if err := f.bus.Register("validator", echo); err != nil {
		t.Fatal(err)
	}
	msg := bus.NewMessage("proposer", "validator", "validate", "proposal-1")
	msg.Tenant = "acme"
	reply, err := f.bus.Send(context.Background(), msg)
	if err != nil || reply.Payload != "proposal-1" {
		t.Fatalf("Send = %+v, %v", reply, err)
	}
	if _, ok := f.reg.Get("validator"); !ok {
		t.Fatal("Register did not create the agent's breaker in the registry")
	}
	evs := f.metered(t)
	if len(evs) != 1 {
		t.Fatalf("metered %d events", len(evs))
	}
	e := evs[0]
	if e.Operation != metering.OpAgentMessage || e.Tenant != "acme" || e.Agent != "proposer" || e.Outcome != metering.OutcomeOK ||
		e.Compliance != 1 || e.Metadata["to_agent"] != "validator" || e.Metadata["message_type"] != "validate" || e.Metadata["is_valid"] != true {
		t.Fatalf("event = %+v", e)
	}
}

func TestBus_Pipeline(t *testing.T) {
	t.Run("a hash mismatch never reaches the handler", func(t *testing.T) {
		f := newFixture(t, bus.Config{})
		called := false
		f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { called = true; return bus.Reply{}, nil })
		msg := bus.NewMessage("x", "a", "t", nil)
		msg.ConstitutionalHash = "deadbeefdeadbeef"
		_, err := f.bus.Send(context.Background(), msg)
		var hm *antifragile.HashMismatchError
		if !errors.As(err, &hm) || !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v", err)
		}
		if called {
			t.Fatal("handler ran")
		}
		if err := f.bus.Publish(context.Background(), msg); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("Publish err = %v", err)
		}
		evs := f.metered(t)
		if len(evs) != 2 || evs[0].Operation != metering.OpConstitutionalValidation || evs[0].Compliance != 0 || evs[0].Metadata["is_valid"] != false {
			t.Fatalf("metered %+v", evs)
		}
		if f.bus.Metrics().HashMismatches != 2 {
			t.Fatalf("stats %+v", f.bus.Metrics())
		}
	})
	t.Run("an open breaker never reaches the handler", func(t *testing.T) {
		f := newFixture(t, bus.Config{})
		called := false
		f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { called = true; return bus.Reply{}, nil })
		br, _ := f.reg.Get("a")
		br.ForceOpen()
		_, err := f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil))
		if !errors.Is(err, breaker.ErrOpen) || called {
			t.Fatalf("err = %v, called = %v", err, called)
		}
		if evs := f.metered(t); len(evs) != 1 || evs[0].Outcome != metering.OutcomeRejected {
			t.Fatalf("metered %+v", evs)
		}
	})
	t.Run("chaos errors count against the breaker", func(t *testing.T) {
		f := newFixture(t, bus.Config{
			Breaker: breaker.Config{ConsecutiveFailures: 3},
			Chaos: chaosFunc(func(_ context.Context, target string) error {
				if target == "a" {
					return errBoom
				}
				return nil
			}),
		})
		called := 0
		f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { called++; return bus.Reply{}, nil })
		f.bus.Register("b", echo)
		for range 3 {
			if _, err := f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil)); !errors.Is(err, errBoom) {
				t.Fatalf("err = %v", err)
			}
		}
		br, _ := f.reg.Get("a")
		if br.State() != breaker.Open || called != 0 {
			t.Fatalf("state %v, handler ran %d times", br.State(), called)
		}
		if _, err := f.bus.Send(context.Background(), bus.NewMessage("x", "b", "t", nil)); err != nil {
			t.Fatalf("chaos on a must not touch b: %v", err)
		}
		var outcomes []metering.Outcome
		for _, e := range f.metered(t) {
			outcomes = append(outcomes, e.Outcome)
		}
		want := []metering.Outcome{metering.OutcomeInjected, metering.OutcomeInjected, metering.OutcomeInjected, metering.OutcomeOK}
		if !slices.Equal(outcomes, want) {
			t.Fatalf("outcomes %v, want %v", outcomes, want)
		}
	})
	t.Run("the order is hash, chaos, breaker, handler, metering", func(t *testing.T) {
		var steps []string
		f := newFixture(t, bus.Config{Chaos: chaosFunc(func(context.Context, string) error { steps = append(steps, "chaos"); return nil })})
		f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) {
			br, _ := f.reg.Get("a")
			if br.Metrics().Calls != 0 {
				t.Error("breaker recorded before the handler returned")
			}
			steps = append(steps, "handler")
			return bus.Reply{}, nil
		})
		f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil))
		br, _ := f.reg.Get("a")
		if !slices.Equal(steps, []string{"chaos", "handler"}) || br.Metrics().Successes != 1 || len(f.metered(t)) != 1 {
			t.Fatalf("steps %v, breaker %+v", steps, br.Metrics())
		}
	})
	t.Run("handler errors fail the breaker and are metered as errors", func(t *testing.T) {
		f := newFixture(t, bus.Config{Breaker: breaker.Config{ConsecutiveFailures: 2}})
		f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, errBoom })
		for range 2 {
			f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil))
		}
		br, _ := f.reg.Get("a")
		if br.State() != breaker.Open {
			t.Fatal("handler errors did not trip the breaker")
		}
		evs := f.metered(t)
		if len(evs) != 2 || evs[0].Outcome != metering.OutcomeError {
			t.Fatalf("metered %+v", evs)
		}
	})
	t.Run("a panicking handler is a failure, never a crash", func(t *testing.T) {
		f := newFixture(t, bus.Config{Breaker: breaker.Config{ConsecutiveFailures: 1}})
		f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { panic("kaboom") })
		_, err := f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil))
		var pe *bus.PanicError
		if !errors.As(err, &pe) || pe.Value != "kaboom" || !errors.Is(err, bus.ErrHandlerPanic) {
			t.Fatalf("err = %v", err)
		}
		br, _ := f.reg.Get("a")
		if br.State() != breaker.Open {
			t.Fatal("panic did not count against the breaker")
		}
	})
	t.Run("the handler gets the caller's deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, bus.Config{})
			f.bus.Register("slow", func(ctx context.Context, _ bus.Message) (bus.Reply, error) {
				<-ctx.Done()
				return bus.Reply{}, ctx.Err()
			})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := f.bus.Send(ctx, bus.NewMessage("x", "slow", "t", nil))
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 50*time.Millisecond {
				t.Fatalf("err = %v after %v", err, time.Since(start))
			}
		})
	})
	t.Run("unknown agent", func(t *testing.T) {
		f := newFixture(t, bus.Config{})
		_, err := f.bus.Send(context.Background(), bus.NewMessage("x", "ghost", "t", nil))
		var ae *bus.AgentError
		if !errors.As(err, &ae) || ae.Agent != "ghost" || !errors.Is(err, bus.ErrUnknownAgent) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestBus_Register(t *testing.T) {
	f := newFixture(t, bus.Config{})
	if err := f.bus.Register("a", echo); err != nil {
		t.Fatal(err)
	}
	if err := f.bus.Register("a", echo); !errors.Is(err, bus.ErrDuplicateAgent) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := f.bus.Register("", echo); !errors.Is(err, antifragile.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	if !f.bus.Unregister("a") || f.bus.Unregister("a") {
		t.Fatal("Unregister reports true once")
	}
	if _, err := f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil)); !errors.Is(err, bus.ErrUnknownAgent) {
		t.Fatalf("after Unregister: %v", err)
	}
}

func TestNew_Validation(t *testing.T) {
	_, err := bus.New(bus.Config{MailboxSize: -1})
	var ve *bus.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	if _, err := bus.New(bus.Config{Registry: reg, ConstitutionalHash: "nope"}); !errors.Is(err, antifragile.ErrHashMismatch) {
		t.Fatalf("hash: %v", err)
	}
}

func TestBus_Publish(t *testing.T) {
	t.Run("delivered by Run through the pipeline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, bus.Config{})
			got := make(chan string, 10)
			f.bus.Register("a", func(_ context.Context, m bus.Message) (bus.Reply, error) {
				got <- m.Payload.(string)
				return bus.Reply{}, nil
			})
			for _, p := range []string{"1", "2", "3"} {
				if err := f.bus.Publish(context.Background(), bus.NewMessage("x", "a", "t", p)); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- f.bus.Run(ctx) }()
			for _, want := range []string{"1", "2", "3"} {
				if p := <-got; p != want {
					t.Fatalf("got %s, want %s", p, want)
				}
			}
			// an agent registered while running gets a worker too
			f.bus.Register("late", func(_ context.Context, m bus.Message) (bus.Reply, error) {
				got <- "late"
				return bus.Reply{}, nil
			})
			f.bus.Publish(context.Background(), bus.NewMessage("x", "late", "t", nil))
			if p := <-got; p != "late" {
				t.Fatal(p)
			}
			if err := f.bus.Run(ctx); !errors.Is(err, bus.ErrRunning) {
				t.Fatalf("second Run: %v", err)
			}
			cancel()
			<-done
			if s := f.bus.Metrics(); s.Delivered != 4 || s.Published != 4 {
				t.Fatalf("stats %+v", s)
			}
		})
	})
	t.Run("a full mailbox is a typed error, counted", func(t *testing.T) {
		f := newFixture(t, bus.Config{MailboxSize: 2})
		f.bus.Register("a", echo)
		for i := range 3 {
			err := f.bus.Publish(context.Background(), bus.NewMessage("x", "a", "t", nil))
			if i < 2 && err != nil {
				t.Fatal(err)
			}
			if i == 2 && !errors.Is(err, bus.ErrMailboxFull) {
				t.Fatalf("3rd publish: %v", err)
			}
		}
		if f.bus.Metrics().MailboxFull != 1 {
			t.Fatal("not counted")
		}
		f.bus.Unregister("a")
		if f.bus.Metrics().Dropped != 2 {
			t.Fatalf("pending messages of an unregistered agent: %+v", f.bus.Metrics())
		}
	})
}

func TestBus_Drain(t *testing.T) {
	f := newFixture(t, bus.Config{})
	got := 0
	f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { got++; return bus.Reply{}, nil })
	for range 5 {
		if err := f.bus.Publish(context.Background(), bus.NewMessage("x", "a", "t", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.bus.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != 5 || len(f.metered(t)) != 5 {
		t.Fatalf("delivered %d, metered %d", got, len(f.metered(t)))
	}
	t.Run("an ended context drops and counts", func(t *testing.T) {
		f.bus.Publish(context.Background(), bus.NewMessage("x", "a", "t", nil))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := f.bus.Drain(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if got != 5 || f.bus.Metrics().Dropped != 1 {
			t.Fatalf("delivered %d, stats %+v", got, f.bus.Metrics())
		}
	})
}

func TestBus_Close(t *testing.T) {
	f := newFixture(t, bus.Config{})
	if err := f.bus.Register("a", func(context.Context, bus.Message) (bus.Reply, error) { return bus.Reply{}, nil }); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := f.bus.Publish(context.Background(), bus.NewMessage("x", "a", "t", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.bus.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := f.bus.Metrics(); m.Delivered != 5 || m.Dropped != 0 {
		t.Fatalf("Close did not deliver what was queued: %+v", m)
	}
	if _, err := f.bus.Send(context.Background(), bus.NewMessage("x", "a", "t", nil)); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if err := f.bus.Publish(context.Background(), bus.NewMessage("x", "a", "t", nil)); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close = %v", err)
	}
	if err := f.bus.Run(context.Background()); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Run after Close = %v", err)
	}
	if err := f.bus.Close(context.Background()); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
}
