package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/metering"
)

// nilRecorder is a Recorder whose nil pointer panics on Record.
type nilRecorder struct{ n int }

func (r *nilRecorder) Record(metering.Event) bool { r.n++; return true }

func TestNew_TypedNil(t *testing.T) {
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cfg   bus.Config
		field string
	}{
		{"refuses a nil *chaos.Engine as Chaos", bus.Config{Chaos: (*chaos.Engine)(nil)}, "chaos"},
		{"refuses a nil func as Chaos", bus.Config{Chaos: chaosFunc(nil)}, "chaos"},
		{"refuses a nil *metering.Meter as Meter", bus.Config{Meter: (*metering.Meter)(nil)}, "meter"},
		{"refuses a nil pointer Recorder as Meter", bus.Config{Meter: (*nilRecorder)(nil)}, "meter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Registry = reg
			b, err := bus.New(tc.cfg)
			if b != nil {
				t.Error("New returned a bus")
			}
			var ve *bus.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, antifragile.ErrNil) {
				t.Fatalf("New = %v, want a *ValidationError for %s wrapping ErrNil", err, tc.field)
			}
		})
	}
	t.Run("accepts nil Chaos and Meter", func(t *testing.T) {
		b, err := bus.New(bus.Config{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Register("a", echo); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Send(context.Background(), bus.NewMessage("x", "a", "t", nil)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBus_Register_NilHandler(t *testing.T) {
	f := newFixture(t, bus.Config{})
	err := f.bus.Register("a", nil)
	var ve *bus.ValidationError
	if !errors.As(err, &ve) || ve.Field != "handler" || !errors.Is(err, antifragile.ErrNil) {
		t.Fatalf("Register(a, nil) = %v, want a *ValidationError for handler wrapping ErrNil", err)
	}
	if len(f.bus.Agents()) != 0 {
		t.Errorf("agents %v after a refused Register", f.bus.Agents())
	}
}
