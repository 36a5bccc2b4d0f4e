package dashboard_test

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/browsertest"
)

// TestDashboard_anomalyBadge: a breaker whose error rate departs from its
// baseline gets an "at risk" badge on its card through the event stream,
// before it trips, and loses it when the rate is back to normal.
func TestDashboard_anomalyBadge(t *testing.T) {
	hc := health.Config{CheckInterval: 100 * time.Millisecond, Anomaly: health.AnomalyConfig{
		Enabled: true, Warmup: 3, MinDuration: 200 * time.Millisecond, MinCalls: 10,
	}}
	sys := newSystemWith(t, []string{"ledger", "search"}, hc)
	b := sys.breaker(t, "ledger")
	var failEvery atomic.Int64 // 0: no failures; n: every nth call fails
	errDown := errors.New("ledger write failed")
	ctx := sys.ctx
	sys.wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for j := range 10 {
				n := failEvery.Load()
				_ = b.Execute(func() error {
					if n > 0 && (i*10+j)%int(n) == 0 {
						return errDown
					}
					return nil
				})
			}
		}
	})

	bctx := browsertest.Start(t, browsertest.Config{})
	do(t, bctx, 10*time.Second,
		chromedp.Navigate(sys.url+"/?poll=3600"),
		chromedp.WaitVisible(`#conn[data-conn="live"]`),
		chromedp.WaitVisible(cell("ledger", "closed")),
	)
	risky := `[data-breaker="ledger"][data-risk="1"] [data-f="risk"]`
	// The baseline warms up on healthy traffic: 3 intervals of 100 ms, and
	// a few more.
	for sys.agg.Metrics().SnapshotsCollected < 10 {
		time.Sleep(20 * time.Millisecond)
	}
	if n := eval[int](t, bctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, risky)); n != 0 {
		t.Fatal("a healthy breaker is shown at risk")
	}
	failEvery.Store(3) // a third of the calls fail, never 5 in a row: no trip rule fires
	do(t, bctx, live, chromedp.WaitVisible(risky))
	title := eval[string](t, bctx, fmt.Sprintf(`document.querySelector(%q).title`, risky))
	// The baseline is what the healthy traffic taught, plus what the first
	// failing intervals added before the departure lasted long enough to
	// count: near 0 %, below the threshold, which the error rate is above.
	m := regexp.MustCompile(`error rate ([\d.]+)% — baseline ([\d.]+)%, threshold ([\d.]+)%`).FindStringSubmatch(title)
	if m == nil {
		t.Fatalf("badge title = %q, want the error rate against its baseline and threshold", title)
	}
	rate, _ := strconv.ParseFloat(m[1], 64)
	base, _ := strconv.ParseFloat(m[2], 64)
	threshold, _ := strconv.ParseFloat(m[3], 64)
	if !(base < 1 && base < threshold && threshold < rate) {
		t.Errorf("badge title = %q: want a baseline near 0 %%, below the threshold, below the rate", title)
	}
	if got := eval[string](t, bctx, `document.querySelector('[data-breaker="ledger"]').dataset.state`); got != "closed" {
		t.Errorf("ledger is %s: the badge must come before a trip", got)
	}
	if n := eval[int](t, bctx, `document.querySelectorAll('[data-breaker="search"][data-risk="1"]').length`); n != 0 {
		t.Error("search is shown at risk")
	}
	failEvery.Store(0)
	until(t, bctx, live, fmt.Sprintf(`document.querySelector(%q) === null`, risky))
}
