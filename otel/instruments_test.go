package afotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	afotel "github.com/antifragile-go/antifragile/otel"
	"github.com/antifragile-go/antifragile/recovery"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// components is a real set of components wired as system wires them.
type components struct {
	reg    *breaker.Registry
	health *health.Aggregator
	rec    *recovery.Orchestrator
	chaos  *chaos.Engine
	meter  *metering.Meter
	bus    *bus.Bus
}

func newComponents(t testing.TB, obs bus.Observer) *components {
	t.Helper()
	c := &components{}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c.reg, err = breaker.NewRegistry(breaker.RegistryConfig{})
	must(err)
	c.health, err = health.New(health.Config{}, c.reg)
	must(err)
	c.rec, err = recovery.New(recovery.Config{}, c.reg)
	must(err)
	c.chaos, err = chaos.New(chaos.Config{Seed: 1}, c.reg)
	must(err)
	sink, err := metering.NewMemorySink(metering.MemoryConfig{})
	must(err)
	c.meter, err = metering.New(metering.Config{Sink: sink})
	must(err)
	cfg := bus.Config{Registry: c.reg, Chaos: c.chaos, Meter: c.meter}
	if obs != nil {
		cfg.Observer = obs
	}
	c.bus, err = bus.New(cfg)
	must(err)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = c.bus.Close(ctx)
		_ = c.chaos.Close(ctx)
		_ = c.rec.Close(ctx)
		_ = c.health.Close(ctx)
		_ = c.meter.Close(ctx)
	})
	must(c.bus.Register("validator", func(_ context.Context, m bus.Message) (bus.Reply, error) {
		if m.Payload == "fail" {
			return bus.Reply{}, errors.New("invalid")
		}
		return bus.Reply{Payload: "valid"}, nil
	}))
	return c
}

func (c *components) send(t testing.TB, ctx context.Context, payload any) error {
	t.Helper()
	_, err := c.bus.Send(ctx, bus.NewMessage("planner", "validator", "validate", payload))
	return err
}

func (c *components) config(mp *sdkmetric.MeterProvider) afotel.InstrumentsConfig {
	return afotel.InstrumentsConfig{MeterProvider: mp, Registry: c.reg, Health: c.health, Recovery: c.rec,
		Chaos: c.chaos, Meter: c.meter, Bus: c.bus}
}

func TestInstruments(t *testing.T) {
	ctx := context.Background()
	c := newComponents(t, nil)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	ins, err := afotel.NewInstruments(c.config(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close(ctx)

	for _, p := range []string{"ok", "ok", "ok", "fail", "fail"} {
		_ = c.send(t, ctx, p)
	}
	br, _ := c.reg.Get("validator")
	br.ForceOpen()
	if err := c.send(t, ctx, "ok"); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Send through a forced-open breaker = %v", err)
	}
	c.health.Collect()
	br.Release()
	if _, err := c.chaos.InjectErrors("validator", 1, nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.send(t, ctx, "ok"); !errors.Is(err, chaos.ErrInjected) {
		t.Fatalf("Send under injected errors = %v", err)
	}
	down := true
	if err := c.rec.Schedule("db", recovery.Immediate, 0, &recovery.Policy{HealthCheck: func(context.Context) error {
		if down {
			down = false
			return errors.New("still down")
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.rec.Execute(ctx, "db")
	_, _ = c.rec.Execute(ctx, "db")
	if err := c.meter.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.send(t, ctx, bus.Message{}) // one more, to be queued and not yet flushed

	ms := collect(t, reader)
	v := afotel.KeyBreaker.String("validator")
	checkPoints(t, ms, []point{
		at("antifragile.breaker.state", 1, v, afotel.KeyBreakerState.String("closed")),
		at("antifragile.breaker.state", 0, v, afotel.KeyBreakerState.String("forced_open")),
		at("antifragile.breaker.calls", 3, v, afotel.KeyCallOutcome.String("success")),
		at("antifragile.breaker.calls", 4, v, afotel.KeyCallOutcome.String("failure")), // two failures, two injected
		at("antifragile.breaker.rejections", 1, v),
		at("antifragile.breaker.transitions", 1, v, afotel.KeyFromState.String("closed"),
			afotel.KeyToState.String("forced_open"), afotel.KeyReason.String("forced")),
		at("antifragile.breaker.transitions", 1, v, afotel.KeyFromState.String("forced_open"),
			afotel.KeyToState.String("closed"), afotel.KeyReason.String("released")),
		at("antifragile.health.score", 0),
		at("antifragile.health.status", 1, afotel.KeyHealthStatus.String("CRITICAL")),
		at("antifragile.health.status", 0, afotel.KeyHealthStatus.String("HEALTHY")),
		at("antifragile.recovery.attempts", 2, afotel.KeyService.String("db")),
		at("antifragile.recovery.outcomes", 1, afotel.KeyService.String("db"), afotel.KeyRecoveryState.String("scheduled")),
		at("antifragile.recovery.outcomes", 1, afotel.KeyService.String("db"), afotel.KeyRecoveryState.String("succeeded")),
		at("antifragile.recovery.tasks", 0),
		at("antifragile.chaos.scenarios.active", 1),
		at("antifragile.chaos.injections", 2, afotel.KeyFault.String("error")),
		at("antifragile.chaos.injections", 0, afotel.KeyFault.String("latency")),
		at("antifragile.metering.events.accepted", 8),
		at("antifragile.metering.events.flushed", 7),
		at("antifragile.metering.events.dropped", 0),
		at("antifragile.metering.queue.size", 1),
		at("antifragile.bus.agents", 1),
		at("antifragile.bus.messages", 8, afotel.KeyMethod.String("send")),
		at("antifragile.bus.deliveries", 3, afotel.KeyOutcome.String("ok")),
		at("antifragile.bus.deliveries", 2, afotel.KeyOutcome.String("error")),
		at("antifragile.bus.deliveries", 1, afotel.KeyOutcome.String("rejected")),
		at("antifragile.bus.deliveries", 2, afotel.KeyOutcome.String("injected")),
		at("antifragile.otel.events.dropped", 0, afotel.KeySource.String("breaker")),
	})

	if err := ins.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ms := collect(t, reader); len(ms) != 0 {
		t.Errorf("after Close the reader still collects %d metrics", len(ms))
	}
}

// flip makes n transitions of the breaker named name, forcing it open when
// it is not and releasing it when it is, and calls between after each.
func flip(t testing.TB, reg *breaker.Registry, name string, n int, between func()) {
	t.Helper()
	br, err := reg.GetOrCreate(name, breaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	between()
	for range n {
		if br.State() == breaker.ForcedOpen {
			br.Release()
		} else {
			br.ForceOpen()
		}
		between()
	}
}

func TestInstruments_Events(t *testing.T) {
	t.Run("without Run, a buffer full between collections drops and counts", func(t *testing.T) {
		reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		ins, err := afotel.NewInstruments(afotel.InstrumentsConfig{MeterProvider: mp, Registry: reg, EventBuffer: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer ins.Close(context.Background())
		flip(t, reg, "db", 3, func() {}) // an added event and three transitions: two of four fit
		checkPoints(t, collect(t, reader), []point{
			at("antifragile.breaker.transitions", 1, afotel.KeyToState.String("forced_open")),
			at("antifragile.otel.events.dropped", 2, afotel.KeySource.String("breaker")),
		})
		flip(t, reg, "db", 2, func() {}) // drained: room again
		checkPoints(t, collect(t, reader), []point{
			at("antifragile.breaker.transitions", 1, afotel.KeyToState.String("closed")),
			at("antifragile.breaker.transitions", 2, afotel.KeyToState.String("forced_open")),
		})
	})
	t.Run("Run counts as events come and Close stops it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			ins, err := afotel.NewInstruments(afotel.InstrumentsConfig{MeterProvider: mp, Registry: reg, EventBuffer: 1})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error)
			go func() { done <- ins.Run(context.Background()) }()
			synctest.Wait()
			if err := ins.Run(context.Background()); !errors.Is(err, afotel.ErrRunning) {
				t.Errorf("a second Run = %v, want ErrRunning", err)
			}
			flip(t, reg, "db", 10, synctest.Wait)
			checkPoints(t, collect(t, reader), []point{
				at("antifragile.breaker.transitions", 5, afotel.KeyToState.String("forced_open")),
				at("antifragile.breaker.transitions", 5, afotel.KeyToState.String("closed")),
				at("antifragile.otel.events.dropped", 0),
			})
			reg.Remove("db")
			synctest.Wait()
			if _, err := value(collect(t, reader), "antifragile.breaker.transitions"); err == nil {
				t.Error("a removed breaker's transitions are still reported")
			}
			if err := ins.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Errorf("Run = %v after Close, want nil", err)
			}
			if err := ins.Run(context.Background()); !errors.Is(err, afotel.ErrClosed) {
				t.Errorf("Run after Close = %v, want ErrClosed", err)
			}
		})
	})
}

func TestInstrumentsConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   afotel.InstrumentsConfig
		field string
	}{
		{"a negative buffer", afotel.InstrumentsConfig{EventBuffer: -1}, "event_buffer"},
		{"a buffer above the bound", afotel.InstrumentsConfig{EventBuffer: afotel.MaxEventBuffer + 1}, "event_buffer"},
		{"another hash", afotel.InstrumentsConfig{ConstitutionalHash: "0000000000000000"}, ""},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			ins, err := afotel.NewInstruments(tc.cfg)
			if ins != nil || err == nil {
				t.Fatalf("NewInstruments = %v, %v; want an error", ins, err)
			}
			if tc.field == "" {
				if !errors.Is(err, antifragile.ErrHashMismatch) {
					t.Errorf("err = %v, want ErrHashMismatch", err)
				}
				return
			}
			var ve *antifragile.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("err = %v, want a *ValidationError on %s", err, tc.field)
			}
		})
	}
}

func TestInstruments_RunBesideCollections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		ins, err := afotel.NewInstruments(afotel.InstrumentsConfig{MeterProvider: mp, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- ins.Run(ctx) }()
		flipped := make(chan struct{})
		go func() {
			defer close(flipped)
			for i := range 8 {
				flip(t, reg, "svc"+string(rune('a'+i)), 200, func() {})
			}
		}()
		for range 50 {
			collect(t, reader) // collections take events beside Run
		}
		<-flipped
		synctest.Wait()
		ms := collect(t, reader)
		for i := range 8 {
			name := afotel.KeyBreaker.String("svc" + string(rune('a'+i)))
			checkPoints(t, ms, []point{
				at("antifragile.breaker.transitions", 100, name, afotel.KeyToState.String("forced_open")),
				at("antifragile.breaker.transitions", 100, name, afotel.KeyToState.String("closed")),
			})
		}
		checkPoints(t, ms, []point{at("antifragile.otel.events.dropped", 0)})
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		if err := ins.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
}
