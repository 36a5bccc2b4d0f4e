package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/browsertest"
	"github.com/antifragile-go/antifragile/internal/dashboard"
	afsystem "github.com/antifragile-go/antifragile/system"
)

// TestDashboard_ledger: an applied tuning change shows in the ledger card,
// with why and the measurements.
func TestDashboard_ledger(t *testing.T) {
	var cfg afsystem.Config
	cfg.Metering.Sink = "memory"
	cfg.Getenv = func(string) string { return "" }
	cfg.Ops.Token = token
	cfg.Breakers.Named = map[string]breaker.Config{"ledger-db": {}}
	cfg.Dashboard = dashboard.Handler()
	sys, err := afsystem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	srv := httptest.NewServer(sys.Handler())
	t.Cleanup(srv.Close)

	ctx := browsertest.Start(t, browsertest.Config{})
	do(t, ctx, 10*time.Second, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(`#ledger-empty`))
	why := "recovery.initial_delay 500ms → 250ms: 22.8s → 18s in the confirming run"
	_, err = sys.ApplyTuning(context.Background(), api.TuningChange{Services: []string{"ledger-db"},
		Breaker: json.RawMessage(`{"open_timeout":"1s"}`), Why: why,
		Before: json.RawMessage(`{"time_below_min":22800000000,"failed":217}`), After: json.RawMessage(`{"time_below_min":18000000000,"failed":191}`)})
	if err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `(document.dispatchEvent(new Event('visibilitychange')), true)`) // refresh now
	until(t, ctx, 5*time.Second, `document.querySelector('[data-ledger="1"]') !== null`)
	text := eval[string](t, ctx, `document.querySelector('[data-ledger="1"]').innerText`)
	for _, want := range []string{"#1", why, "1 settings on ledger-db", "below minimum 22.8 s, 217 failed", "below minimum 18.0 s, 191 failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("ledger card lacks %q:\n%s", want, text)
		}
	}
	if got := eval[string](t, ctx, `document.getElementById('ledger-count').textContent`); got != "1" {
		t.Errorf("count %q", got)
	}

	// A tuning trial in progress shows above the ledger, and goes when it ends.
	if eval[bool](t, ctx, `!document.getElementById('trial-banner').hidden`) {
		t.Error("a trial banner without a trial")
	}
	_, err = sys.StartTrial(context.Background(), api.TrialRequest{Services: []string{"ledger-db"},
		Breaker: json.RawMessage(`{"open_timeout":"2s"}`), By: "antifragile tune"})
	if err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `(document.dispatchEvent(new Event('visibilitychange')), true)`)
	until(t, ctx, 5*time.Second, `!document.getElementById('trial-banner').hidden`)
	banner := eval[string](t, ctx, `document.getElementById('trial-banner').innerText`)
	for _, want := range []string{"Tuning trial in progress on ledger-db by antifragile tune", "run 1", `"open_timeout":"2s"`} {
		if !strings.Contains(banner, want) {
			t.Errorf("trial banner lacks %q: %s", want, banner)
		}
	}
	if _, err := sys.EndTrial(context.Background()); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `(document.dispatchEvent(new Event('visibilitychange')), true)`)
	until(t, ctx, 5*time.Second, `document.getElementById('trial-banner').hidden`)
}
