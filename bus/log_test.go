package bus_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/logtest"
)

// TestBus_Logger: registering, a handler panic and unregistering are a line
// each with the agent's name; an ordinary delivery logs nothing.
func TestBus_Logger(t *testing.T) {
	log, rec := logtest.New()
	f := newFixture(t, bus.Config{Logger: log})
	if err := f.bus.Register("a", func(_ context.Context, m bus.Message) (bus.Reply, error) {
		if m.Type == "boom" {
			panic("kaboom")
		}
		return bus.Reply{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bus.Send(context.Background(), bus.NewMessage("x", "a", "ok", nil)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Records()); n != 1 {
		t.Fatalf("%d lines after a delivery, want only the registration: %+v", n, rec.Records())
	}
	msg := bus.NewMessage("x", "a", "boom", nil)
	if _, err := f.bus.Send(context.Background(), msg); err == nil {
		t.Fatal("the panic was not an error")
	}
	if !f.bus.Unregister("a") {
		t.Fatal("not registered")
	}
	got := rec.Records()
	want := []struct {
		level slog.Level
		msg   string
	}{
		{slog.LevelInfo, "bus: agent registered"},
		{slog.LevelError, "bus: handler panicked"},
		{slog.LevelInfo, "bus: agent unregistered"},
	}
	if len(got) != len(want) {
		t.Fatalf("lines = %+v", got)
	}
	for i, w := range want {
		if got[i].Level != w.level || got[i].Message != w.msg || got[i].Str("agent") != "a" {
			t.Errorf("line %d = %v %q %v, want %v %q agent a", i, got[i].Level, got[i].Message, got[i].Attrs, w.level, w.msg)
		}
	}
	if p := got[1]; p.Str("type") != "boom" || p.Str("panic") != "kaboom" || p.Str("message_id") == "" {
		t.Errorf("panic line = %v", p.Attrs)
	}
}
