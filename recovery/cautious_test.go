package recovery_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestOrchestrator_cautious(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 6, HalfOpenMaxCalls: 3})
		if err != nil {
			t.Fatal(err)
		}
		o := mustNew(t, recovery.Config{PredictionHorizon: time.Minute,
			Cautious: recovery.CautiousConfig{Enabled: true, Duration: 30 * time.Second}}, reg)
		stop := start(t, o)
		defer stop()
		rules := func() (int, int) { c := b.Config(); return c.ConsecutiveFailures, c.HalfOpenMaxCalls }

		// A first prediction: none came true yet, so no caution.
		o.AtRisk("db", time.Time{})
		if f, h := rules(); f != 6 || h != 3 || len(o.Status().Cautious) != 0 {
			t.Fatalf("cautious with no true prediction: %d/%d %+v", f, h, o.Status().Cautious)
		}
		// The outage follows: a true positive.
		_ = o.Schedule("db", recovery.Immediate, 0, nil)
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		// The next prediction makes the breaker cautious for 30 s.
		if !o.AtRisk("db", time.Time{}) {
			t.Fatal("the second prediction was not counted")
		}
		if f, h := rules(); f != 3 || h != 1 {
			t.Fatalf("cautious rules = %d failures, %d trials; want 3, 1", f, h)
		}
		st := o.Status().Cautious
		if len(st) != 1 || st[0].Service != "db" || !strings.Contains(st[0].Why, "1 of its past predictions") ||
			st[0].Until.Sub(st[0].Since) != 30*time.Second {
			t.Fatalf("status = %+v", st)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if f, h := rules(); f != 6 || h != 3 || len(o.Status().Cautious) != 0 {
			t.Fatalf("after 30 s: %d/%d %+v, want the configuration back", f, h, o.Status().Cautious)
		}

		// Cautious again; someone reconfigures the breaker meanwhile: their
		// configuration stays.
		time.Sleep(time.Minute) // the pending prediction expires
		o.AtRisk("db", time.Time{})
		if f, _ := rules(); f != 3 {
			t.Fatalf("not cautious again: %d", f)
		}
		if err := b.Reconfigure(breaker.Config{ConsecutiveFailures: 9}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if f, _ := rules(); f != 9 {
			t.Errorf("an operator's reconfiguration was undone: %d", f)
		}
	})
}

func TestOrchestrator_cautiousClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
		b, _ := reg.GetOrCreate("db", breaker.Config{}) // follows the registry's default
		o := mustNew(t, recovery.Config{Cautious: recovery.CautiousConfig{Enabled: true, MinTruePositives: 1}}, reg)
		stop := start(t, o)
		o.AtRisk("db", time.Time{})
		_ = o.Schedule("db", recovery.Immediate, 0, nil)
		synctest.Wait()
		time.Sleep(10 * time.Minute)
		o.AtRisk("db", time.Time{})
		if len(o.Status().Cautious) != 1 {
			t.Fatalf("not cautious: %+v", o.Status())
		}
		stop()
		if err := o.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !reg.Follows("db") || b.Config().ConsecutiveFailures != breaker.DefaultConsecutiveFailures {
			t.Errorf("after Close: follows %v, %d failures; want the default back", reg.Follows("db"), b.Config().ConsecutiveFailures)
		}
	})
}

func TestCautiousConfig_Validate(t *testing.T) {
	err := recovery.Config{Cautious: recovery.CautiousConfig{Duration: -1, MinTruePositives: -1}}.Validate()
	for _, f := range []string{"cautious.duration", "cautious.min_true_positives"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("no problem for %s: %v", f, err)
		}
	}
	if c := recovery.Tighten(breaker.Config{ConsecutiveFailures: 5, FailureRate: 0.5, SlowCallRate: 0.01, HalfOpenMaxCalls: 4, HalfOpenSuccesses: 2}); c.ConsecutiveFailures != 3 ||
		c.FailureRate != 0.25 || c.SlowCallRate != 0.01 || c.HalfOpenMaxCalls != 1 || c.HalfOpenSuccesses != 1 {
		t.Errorf("Tighten = %+v", c)
	}
}
