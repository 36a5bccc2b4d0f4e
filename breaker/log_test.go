package breaker_test

import (
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/logtest"
)

// TestRegistry_Logger follows one breaker through open, half-open and
// closed: each transition is one line with the stable keys, Warn when it
// opens and Info otherwise.
func TestRegistry_Logger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, rec := logtest.New()
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		b, err := reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 2, OpenTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_ = b.Execute(func() error { return errors.New("boom") })
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if err := b.Execute(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		want := []struct {
			level            slog.Level
			from, to, reason string
		}{
			{slog.LevelWarn, "closed", "open", "consecutive_failures"},
			{slog.LevelInfo, "open", "half_open", "timeout"},
			{slog.LevelInfo, "half_open", "closed", "probe_success"},
		}
		got := rec.Find("breaker: state changed")
		if len(got) != len(want) {
			t.Fatalf("got %d transition lines, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if g.Level != w.level || g.Str("breaker") != "db" || g.Str("from") != w.from || g.Str("to") != w.to || g.Str("reason") != w.reason {
				t.Errorf("line %d = %v %v, want %v db %s→%s (%s)", i, g.Level, g.Attrs, w.level, w.from, w.to, w.reason)
			}
		}
		if added := rec.Find("breaker: registry changed"); len(added) != 1 || added[0].Level != slog.LevelDebug || added[0].Str("reason") != "added" {
			t.Errorf("membership lines = %+v", added)
		}
	})
}

// TestRegistry_LoggerNil: without a Logger nothing is logged and
// transitions work as before.
func TestRegistry_LoggerNil(t *testing.T) {
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := reg.GetOrCreate("x", breaker.Config{})
	b.ForceOpen()
	b.Release()
	if b.State() != breaker.Closed {
		t.Fatal(b.State())
	}
}

// TestRegistry_LoggerOutsideLock: the handler runs after the breaker's lock
// is released, so it may call back into the breaker (under the lock this
// would deadlock).
func TestRegistry_LoggerOutsideLock(t *testing.T) {
	log, rec := logtest.New()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := reg.GetOrCreate("db", breaker.Config{})
	rec.Hook = func(r logtest.Record) {
		if r.Str("to") == "forced_open" {
			b.Release()
		}
	}
	b.ForceOpen()
	if b.State() != breaker.Closed {
		t.Fatalf("state = %v: the handler's Release did not run", b.State())
	}
	if n := len(rec.Find("breaker: state changed")); n != 2 {
		t.Fatalf("%d transition lines, want 2", n)
	}
}
