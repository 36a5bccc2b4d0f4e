package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/browsertest"
	"github.com/antifragile-go/antifragile/internal/dashboard"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

const token = "s3cret-operator-token"

// system is a real set of components behind a real ops server.
type system struct {
	reg   *breaker.Registry
	agg   *health.Aggregator
	eng   *chaos.Engine
	orch  *recovery.Orchestrator
	meter *metering.Meter
	usage *metering.MemorySink
	bus   *bus.Bus
	srv   *httptest.Server
	url   string
	ctx   context.Context // ends at the end of the test: the components' Run and the load
	wg    *sync.WaitGroup
}

// newSystem builds the components over breakers with the given names, runs
// them, and serves ops.Handler with the dashboard. Everything stops at the
// end of the test (after the browser, whose Start comes later).
func newSystem(t *testing.T, names []string) *system {
	t.Helper()
	return newSystemWith(t, names, health.Config{})
}

// newSystemWith is newSystem with the health aggregator configured by hc.
func newSystemWith(t *testing.T, names []string, hc health.Config) *system {
	t.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := reg.GetOrCreate(n, breaker.Config{}); err != nil {
			t.Fatal(err)
		}
	}
	agg, err := health.New(hc, reg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := chaos.New(chaos.Config{Seed: 1}, reg)
	if err != nil {
		t.Fatal(err)
	}
	orch, err := recovery.New(recovery.Config{Seed: 1}, reg)
	if err != nil {
		t.Fatal(err)
	}
	usage, err := metering.NewMemorySink(metering.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	meter, err := metering.New(metering.Config{Sink: usage, FlushInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.New(bus.Config{Registry: reg, Chaos: eng, Meter: meter})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg := new(sync.WaitGroup)
	for _, run := range []func(context.Context) error{agg.Run, eng.Run, orch.Run, meter.Run, b.Run} {
		wg.Go(func() {
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		for _, c := range []func(context.Context) error{agg.Close, eng.Close, meter.Close} {
			if err := c(cctx); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
	srv := httptest.NewServer(ops.Handler(ops.Options{
		Registry:  reg,
		Health:    agg,
		Chaos:     eng,
		Recovery:  orch,
		Meter:     meter,
		Usage:     usage,
		Bus:       b,
		Token:     token,
		Dashboard: dashboard.Handler(),
	}))
	t.Cleanup(srv.Close)
	return &system{reg: reg, agg: agg, eng: eng, orch: orch, meter: meter, usage: usage, bus: b, srv: srv, url: srv.URL, ctx: ctx, wg: wg}
}

// agents registers the named agents on the bus; each handles a message in
// about a tenth of a millisecond and reports 25 tokens.
func (s *system) agents(t *testing.T, names []string) {
	t.Helper()
	for _, n := range names {
		err := s.bus.Register(n, func(ctx context.Context, m bus.Message) (bus.Reply, error) {
			time.Sleep(100 * time.Microsecond)
			return bus.Reply{Payload: "ok", Tokens: 25}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// load sends messages through the bus to every one of names in turn, for
// two tenants, about 400 a second, until the test ends.
func (s *system) load(names []string) {
	ctx := s.ctx
	s.wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for j := range 2 {
				m := bus.NewMessage("client", names[(2*i+j)%len(names)], "proposal", nil)
				m.Tenant = []string{"acme", "globex"}[j]
				sctx, scancel := context.WithTimeout(ctx, time.Second)
				_, _ = s.bus.Send(sctx, m)
				scancel()
			}
		}
	})
}

func (s *system) breaker(t *testing.T, name string) *breaker.Breaker {
	t.Helper()
	b, ok := s.reg.Get(name)
	if !ok {
		t.Fatalf("no breaker %q", name)
	}
	return b
}

// traffic runs calls through the breakers (failures never trip them: a
// success follows every one) and records metering events for three
// tenants, delivered to the memory sink before it returns.
func (s *system) traffic(t *testing.T, names []string, calls int) {
	t.Helper()
	errDown := errors.New("downstream failed")
	for i, n := range names {
		b := s.breaker(t, n)
		for c := range calls + i*7 {
			_ = b.Execute(func() error {
				if c%9 == 4 {
					return errDown
				}
				return nil
			})
		}
	}
	tenants := []string{"acme", "globex", "initech"}
	for i := range 240 {
		s.meter.Record(metering.Event{
			Tenant:    tenants[i%len(tenants)],
			Operation: metering.OpAgentMessage,
			Agent:     names[i%len(names)],
			Tokens:    int64(40 + i%60),
			Latency:   time.Duration(2+i%15) * time.Millisecond,
			Outcome:   []metering.Outcome{metering.OutcomeOK, metering.OutcomeOK, metering.OutcomeOK, metering.OutcomeError}[i%4],
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.meter.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// trip fails calls through the breaker until it opens by itself.
func trip(t *testing.T, b *breaker.Breaker) {
	t.Helper()
	errDown := errors.New("downstream failed")
	for range 20 {
		if b.State() == breaker.Open {
			return
		}
		_ = b.Execute(func() error { return errDown })
	}
	t.Fatalf("breaker %s did not open: %v", b.Name(), b.State())
}

// do runs the actions with a deadline of d.
func do(t *testing.T, ctx context.Context, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(wctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(wctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// evalAsync evaluates a JavaScript expression whose value is a promise,
// and returns what the promise resolves to.
func evalAsync[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(wctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// until waits, inside the page, until the JavaScript expression is true.
func until(t *testing.T, ctx context.Context, d time.Duration, expr string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](expr)); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// cell is the selector of a breaker's cell in a state.
func cell(name, state string) string {
	return fmt.Sprintf(`[data-breaker=%q][data-state=%q]`, name, state)
}

// setField sets a form field's value as a person would, firing input and
// change.
func setField(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(f => { f.value = %q; f.dispatchEvent(new Event('input', {bubbles: true})); f.dispatchEvent(new Event('change', {bubbles: true})); })(document.getElementById(%q))`,
		value, id))
}

// press clicks the element of the CSS selector sel from inside the page: a
// button of a cell or a list item, which a layout change (a banner shown, a
// cell re-sorted) could move away from under a synthetic mouse click.
func press(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).click()`, sel))
}

const visibleCells = `[...document.querySelectorAll('[data-breaker]')].filter(e => !e.hidden).length`

// live is how long the page may take to show a change that arrives as a
// server-sent event. The fallback poll is turned off (?poll=3600), so a
// change seen within it came through the event stream.
const live = 3 * time.Second

// withinSecond is the bound for a breaker opened in Go to turn red
// on the page.
const withinSecond = time.Second

func TestDashboard_browser(t *testing.T) {
	agents := []string{"proposer", "validator", "policy-engine", "deliberation", "auditor", "executor"}

	t.Run("shows the breakers, follows events and ends chaos with the emergency stop", func(t *testing.T) {
		sys := newSystem(t, agents)
		sys.traffic(t, agents, 120)
		// Something in every panel: a recovery waiting for an operator, a
		// scheduled retry, and a running scenario.
		failing := recovery.Policy{
			MaxRetryAttempts: 5, InitialDelay: 40 * time.Second, MaxDelay: 2 * time.Minute,
			Action: func(context.Context) error { return errors.New("database connection refused") },
		}
		if err := sys.orch.Schedule("auditor", recovery.Manual, 5, &failing); err != nil {
			t.Fatal(err)
		}
		if err := sys.orch.Schedule("deliberation", recovery.ExponentialBackoff, 1, &failing); err != nil {
			t.Fatal(err)
		}
		if _, err := sys.eng.InjectLatency("policy-engine", 250*time.Millisecond, 2*time.Minute); err != nil {
			t.Fatal(err)
		}

		ctx := browsertest.Start(t, browsertest.Config{
			// The wrong-token step provokes exactly this line.
			ExpectConsole: regexp.MustCompile(`Failed to load resource: the server responded with a status of 403`),
		})
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(sys.url+"/?poll=3600"),
			chromedp.WaitVisible(`#conn[data-conn="live"]`),
		)
		// The page shows every breaker, closed, and the health they add to.
		for _, n := range agents {
			do(t, ctx, 5*time.Second, chromedp.WaitVisible(cell(n, "closed")))
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('[data-breaker]').length`); n != len(agents) {
			t.Errorf("page shows %d breakers, want %d", n, len(agents))
		}
		do(t, ctx, 5*time.Second,
			chromedp.WaitVisible(`#status[data-status="HEALTHY"]`),
			chromedp.WaitVisible(`[data-recovery="auditor"][data-state="awaiting_manual"]`),
			chromedp.WaitVisible(`[data-scenario="latency_policy-engine_250ms"]`),
			chromedp.WaitVisible(`#usage-body [data-tenant="acme"]`),
		)
		calls := eval[string](t, ctx, `document.querySelector('[data-breaker="validator"] [data-f="calls"]').textContent`)
		if calls != "127" {
			t.Errorf("validator shows %s calls, want 127", calls)
		}

		// A breaker forced open and one tripped in Go turn on the page
		// through the event stream, and the status follows.
		start := time.Now()
		sys.breaker(t, "validator").ForceOpen()
		do(t, ctx, live, chromedp.WaitVisible(cell("validator", "forced_open")))
		t.Logf("forced-open breaker shown after %v", time.Since(start))
		start = time.Now()
		trip(t, sys.breaker(t, "executor"))
		do(t, ctx, withinSecond, chromedp.WaitVisible(cell("executor", "open")))
		t.Logf("tripped breaker shown red after %v", time.Since(start))
		do(t, ctx, live, chromedp.WaitVisible(`#status[data-status="DEGRADED"]`))
		if s := eval[string](t, ctx, `document.getElementById('score').textContent`); s != "0.667" {
			t.Errorf("score shows %s, want 0.667", s)
		}
		// The cards say what the rules see now: the tripped breaker when it
		// moves to half-open (from the snapshot an event asks for), a closed
		// one its run of failures; the title names the trip rules.
		until(t, ctx, live, `document.querySelector('[data-breaker="executor"] [data-f="now"]').textContent.startsWith('half-open at ')`)
		if now := eval[string](t, ctx, `document.querySelector('[data-breaker="proposer"] [data-f="now"]').textContent`); now != "0 failing in a row" {
			t.Errorf("closed card says %q, want its run of failures", now)
		}
		if title := eval[string](t, ctx, `document.querySelector('[data-breaker="proposer"]').title`); !strings.Contains(title, "trips on 5 consecutive failures") {
			t.Errorf("card title %q does not name the trip rule", title)
		}
		browsertest.ScreenshotViewport(t, ctx, "dashboard-6-breakers.png")

		// An injected scenario shows up; the emergency stop asks for the
		// token, then ends it.
		sc, err := sys.eng.InjectErrors("executor", 0.5, nil, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		do(t, ctx, live, chromedp.WaitVisible(fmt.Sprintf(`[data-scenario=%q]`, sc.Name)))
		do(t, ctx, 5*time.Second,
			chromedp.Click(chromedp.ID("emergency-stop")),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			chromedp.SendKeys(chromedp.ID("token-input"), token),
			chromedp.Click(chromedp.ID("token-submit")),
			chromedp.WaitVisible(chromedp.ID("chaos-stopped")),
			chromedp.WaitNotPresent(`[data-scenario]`),
		)
		if !sys.eng.Stopped() {
			t.Error("engine not stopped after the emergency stop")
		}
		if a := sys.eng.Active(); len(a) != 0 {
			t.Errorf("active scenarios after the emergency stop: %v", a)
		}
		if got := eval[string](t, ctx, `sessionStorage.getItem('antifragile.ops.token')`); got != token {
			t.Errorf("session token %q, want the one entered", got)
		}
		browsertest.Screenshot(t, ctx, "dashboard-emergency-stop.png")

		// The stored token serves the next action without asking: release
		// the forced breaker from its cell.
		do(t, ctx, live,
			chromedp.Click(`[data-breaker="validator"] button[data-action="release"]`),
			chromedp.WaitVisible(cell("validator", "closed")),
		)
		if st := sys.breaker(t, "validator").State(); st != breaker.Closed {
			t.Errorf("validator is %v after release, want closed", st)
		}

		// A refused token is forgotten and asked for again; the action
		// then goes through.
		do(t, ctx, 5*time.Second,
			chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('antifragile.ops.token', 'wrong')`),
			chromedp.Click(`[data-breaker="executor"] button[data-action="reset"]`),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
		)
		browsertest.ScreenshotViewport(t, ctx, "dashboard-token-dialog.png")
		msg := eval[string](t, ctx, `document.getElementById('token-message').textContent`)
		if !regexp.MustCompile(`^Token refused`).MatchString(msg) {
			t.Errorf("dialog says %q, want it to say the token was refused", msg)
		}
		do(t, ctx, live,
			chromedp.SendKeys(chromedp.ID("token-input"), token),
			chromedp.Click(chromedp.ID("token-submit")),
			chromedp.WaitVisible(cell("executor", "closed")),
		)
		if st := sys.breaker(t, "executor").State(); st != breaker.Closed {
			t.Errorf("executor is %v after reset, want closed", st)
		}
		do(t, ctx, live, chromedp.WaitVisible(`#status[data-status="HEALTHY"]`))
	})

	t.Run("shows traffic, fault windows, lifetime counters and why scenarios ended", func(t *testing.T) {
		sys := newSystem(t, nil)
		sys.agents(t, agents)
		sys.load(agents)
		// Tall enough for the full-page screenshots to show the breakers.
		ctx := browsertest.Start(t, browsertest.Config{Height: 1200})
		start := time.Now()
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(sys.url+"/?poll=3600"),
			chromedp.WaitVisible(`#conn[data-conn="live"]`),
		)
		// Throughput from the first second: rates come from two consecutive
		// samples a second apart, not after a minute of collecting.
		until(t, ctx, 3*time.Second, `Number(document.getElementById('traffic-rate').dataset.value) > 50`)
		t.Logf("traffic rate shown %v after navigation: %s msg/s", time.Since(start), eval[string](t, ctx, `document.getElementById('traffic-rate').textContent`))
		until(t, ctx, 3*time.Second, `Number(document.getElementById('meter-rate').textContent) > 0`)
		if n := eval[int](t, ctx, `document.querySelectorAll('#agents-body [data-agent]').length`); n != len(agents) {
			t.Errorf("traffic lists %d agents, want %d", n, len(agents))
		}

		// A latency fault shows in the validator's P99 and the overall one,
		// and its window is shaded on the timeline.
		sc, err := sys.eng.InjectLatency("validator", 120*time.Millisecond, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		until(t, ctx, live+2*time.Second, `Number(document.querySelector('[data-agent="validator"]').dataset.p99) >= 120e6`)
		until(t, ctx, live, `Number(document.getElementById('traffic-p99').dataset.value) >= 100e6`)
		if p50 := eval[float64](t, ctx, `Number(document.querySelector('[data-agent="proposer"]').dataset.p50)`); p50 >= 50e6 {
			t.Errorf("proposer P50 %vns: the fault on validator leaked", p50)
		}
		until(t, ctx, live, fmt.Sprintf(`!!document.querySelector('#timeline rect[data-fault=%q]')`, sc.Name))
		if title := eval[string](t, ctx, `document.getElementById('timeline-title').textContent`); title != "Health score · last minute (auto)" {
			t.Errorf("timeline title %q, want the one-minute window a short run fits in", title)
		}
		// Hovering the chart shows each agent's traffic at that second.
		do(t, ctx, 5*time.Second, chromedp.Evaluate[chromedp.Void](`(() => {
			const b = document.getElementById('traffic-chart'), r = b.getBoundingClientRect();
			b.dispatchEvent(new MouseEvent('mousemove', {clientX: r.right - 12, clientY: r.top + r.height / 2, bubbles: true}));
		})()`))
		until(t, ctx, 5*time.Second, `!document.getElementById('traffic-tip').hidden && document.querySelectorAll('#traffic-tip [data-tip-agent]').length === 6`)
		browsertest.Screenshot(t, ctx, "dashboard-traffic-latency-fault.png")

		// Ending it asks for a confirmation and the token; it then shows
		// among the recently ended, stopped by the operator.
		do(t, ctx, 10*time.Second,
			press(fmt.Sprintf(`[data-scenario=%q] button[data-action="end"]`, sc.Name)),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			chromedp.SendKeys(chromedp.ID("token-input"), token),
			chromedp.Click(chromedp.ID("token-submit")),
			chromedp.WaitVisible(fmt.Sprintf(`#ended-list [data-ended=%q][data-reason="deactivated"]`, sc.Name)),
		)
		if why := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('#ended-list [data-ended=%q] .why').textContent`, sc.Name)); why != "stopped" {
			t.Errorf("ended scenario says %q, want stopped", why)
		}
		until(t, ctx, live, fmt.Sprintf(`!!document.querySelector('#timeline rect.ended[data-fault=%q]')`, sc.Name))

		// An error storm: failures per second, and the metering columns
		// say how the calls ended (injected by chaos, then rejected by the
		// tripped breaker), with the tokens the agents reported.
		storm, err := sys.eng.InjectErrors("auditor", 1, nil, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		until(t, ctx, live, `Number(document.getElementById('traffic-fail').dataset.value) > 0`)
		do(t, ctx, live, chromedp.WaitVisible(cell("auditor", "open")))
		cellOf := func(tenant string, col int) string {
			return fmt.Sprintf(`document.querySelector('#usage-body [data-tenant=%q] td:nth-child(%d)').textContent`, tenant, col)
		}
		until(t, ctx, live, cellOf("acme", 6)+` !== '0' && `+cellOf("acme", 5)+` !== '0'`)
		if tokens := eval[string](t, ctx, cellOf("acme", 3)); tokens == "0" {
			t.Error("acme's tokens are 0 though every agent reports 25 a message")
		}
		browsertest.Screenshot(t, ctx, "dashboard-error-storm.png")

		// The emergency stop asks first; the storm then ended by it.
		do(t, ctx, 10*time.Second,
			chromedp.Click(chromedp.ID("emergency-stop")),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(chromedp.ID("chaos-stopped")),
		)
		until(t, ctx, live, fmt.Sprintf(`!!document.querySelector('#ended-list [data-ended=%q][data-reason="emergency_stop"]')`, storm.Name))

		// Resetting the tripped breaker clears its counters but not its
		// lifetime ones, which a reload still shows (they are the server's).
		do(t, ctx, 10*time.Second,
			press(`[data-breaker="auditor"] button[data-action="reset"]`),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(cell("auditor", "closed")),
		)
		lifeOf := `document.querySelector('[data-breaker="auditor"] [data-f="life"]').textContent`
		until(t, ctx, live, lifeOf+`.includes('1 reset')`)
		do(t, ctx, 10*time.Second,
			chromedp.Reload(),
			chromedp.WaitVisible(`#conn[data-conn="live"]`),
			chromedp.WaitVisible(cell("auditor", "closed")),
		)
		until(t, ctx, live, lifeOf+`.includes('1 reset')`)
		life := eval[string](t, ctx, lifeOf)
		if !regexp.MustCompile(`^lifetime \S+ calls · [1-9]\S* fail · 1 trip · 1 reset$`).MatchString(life) {
			t.Errorf("auditor's lifetime line %q, want its failures and its trip kept across the reset", life)
		}
		m, _ := sys.reg.Get("auditor")
		if lm := m.Metrics(); lm.Lifetime.Resets != 1 || lm.Lifetime.Trips != 1 || lm.Trips != 0 {
			t.Errorf("auditor metrics %+v", lm)
		}

		// Force open asks first: cancelled, nothing happens; confirmed, the
		// health panel and the chips count it alike, as forced open.
		do(t, ctx, 10*time.Second,
			press(`[data-breaker="validator"] button[data-action="force-open"]`),
			chromedp.WaitVisible(chromedp.ID("confirm-cancel")),
			chromedp.Click(chromedp.ID("confirm-cancel")),
			chromedp.WaitNotVisible(chromedp.ID("confirm-dialog")),
		)
		if st := sys.breaker(t, "validator").State(); st != breaker.Closed {
			t.Fatalf("validator is %v after a cancelled force open", st)
		}
		do(t, ctx, 10*time.Second,
			press(`[data-breaker="validator"] button[data-action="force-open"]`),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(cell("validator", "forced_open")),
		)
		until(t, ctx, live, `document.getElementById('count-forced-open').textContent === '1'`)
		counts := eval[[]string](t, ctx, `['count-open', 'chip-open', 'count-forced-open', 'chip-forced_open'].map(id => document.getElementById(id).textContent)`)
		if counts[0] != counts[1] || counts[2] != counts[3] || counts[2] != "1" {
			t.Errorf("health panel open %s forced %s, chips open %s forced %s: want them alike", counts[0], counts[2], counts[1], counts[3])
		}

		// The window selector widens the timeline.
		do(t, ctx, 5*time.Second, chromedp.Click(`#window-select [data-window="900000"]`))
		until(t, ctx, 5*time.Second, `document.getElementById('timeline-title').textContent === 'Health score · last 15 minutes'`)
		browsertest.Screenshot(t, ctx, "dashboard-15-minutes.png")
	})

	t.Run("reconnects by itself and catches up with what it missed", func(t *testing.T) {
		sys := newSystem(t, agents)
		ctx := browsertest.Start(t, browsertest.Config{
			// Cutting the connections fails the requests in flight.
			ExpectConsole: regexp.MustCompile(`net::ERR_`),
		})
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(sys.url+"/?poll=3600"),
			chromedp.WaitVisible(`#conn[data-conn="live"]`),
			chromedp.WaitVisible(cell("auditor", "closed")),
		)
		// Drop the event stream, change a breaker while it is down (the
		// event is lost), and wait for the page to reconnect and refetch.
		sys.srv.CloseClientConnections()
		do(t, ctx, 5*time.Second, chromedp.WaitVisible(`#conn:not([data-conn="live"])`))
		sys.breaker(t, "auditor").ForceOpen()
		do(t, ctx, 10*time.Second,
			chromedp.WaitVisible(`#conn[data-conn="live"]`),
			chromedp.WaitVisible(cell("auditor", "forced_open")),
		)
	})

	t.Run("works against a server with only a registry", func(t *testing.T) {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.GetOrCreate("solo", breaker.Config{}); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(ops.Handler(ops.Options{Registry: reg, Dashboard: dashboard.Handler()}))
		t.Cleanup(srv.Close)
		ctx := browsertest.Start(t, browsertest.Config{
			ExpectConsole: regexp.MustCompile(`status of (503|403)`),
		})
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(srv.URL),
			chromedp.WaitVisible(cell("solo", "closed")),
			chromedp.WaitVisible(`#chaos-panel.unavailable .unavailable-note`),
			chromedp.WaitVisible(`#recovery-panel.unavailable .unavailable-note`),
			chromedp.WaitVisible(`#metering-panel.unavailable .unavailable-note`),
			chromedp.WaitVisible(`#health-panel.unavailable .unavailable-note`),
			chromedp.WaitVisible(`#traffic-panel.unavailable .unavailable-note`),
		)
		// Writes are refused without a configured token; the page says so.
		do(t, ctx, 5*time.Second,
			chromedp.Click(`[data-breaker="solo"] button[data-action="force-open"]`),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			chromedp.SendKeys(chromedp.ID("token-input"), "anything"),
			chromedp.Click(chromedp.ID("token-submit")),
			chromedp.WaitVisible(`//p[@id="token-message"][contains(., "writes disabled")]`),
			chromedp.Click(chromedp.ID("token-cancel")),
			chromedp.WaitNotVisible(chromedp.ID("token-input")),
		)
		if b, _ := reg.Get("solo"); b.State() != breaker.Closed {
			t.Errorf("solo is %v, want closed", b.State())
		}
	})

	t.Run("stays usable with a thousand breakers", func(t *testing.T) {
		groups := []string{"auth", "billing", "catalog", "checkout", "inventory", "ledger", "notify", "payments", "search", "shipping"}
		names := make([]string, 0, 1000)
		for i := range 1000 {
			names = append(names, fmt.Sprintf("%s-%03d", groups[i%len(groups)], i/len(groups)))
		}
		sys := newSystem(t, names)
		sys.traffic(t, names[:40], 20)
		for _, n := range []string{"billing-007", "ledger-042", "search-090"} {
			trip(t, sys.breaker(t, n))
		}
		for _, n := range []string{"payments-013", "payments-014"} {
			sys.breaker(t, n).ForceOpen()
		}
		sys.breaker(t, "notify-099").Disable()

		ctx := browsertest.Start(t, browsertest.Config{})
		start := time.Now()
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(sys.url+"/?poll=3600"),
			chromedp.WaitVisible(`#conn[data-conn="live"]`),
		)
		until(t, ctx, 10*time.Second, `document.querySelectorAll('[data-breaker]').length === 1000`)
		t.Logf("1,000 breakers rendered %v after navigation", time.Since(start))
		do(t, ctx, 5*time.Second, chromedp.WaitVisible(chromedp.ID("traffic-empty")))
		// Responsiveness, measured in the page and logged (not asserted: a
		// timing depends on the machine): a full refetch of the breakers
		// applied to the grid, and a keystroke of the filter applied.
		firstFlush := eval[string](t, ctx, `document.getElementById('breaker-grid').dataset.flushMaxMs`)
		resort := evalAsync[float64](t, ctx, `(async () => {
			const s = document.getElementById('breaker-sort'), t0 = performance.now();
			s.value = 'name'; s.dispatchEvent(new Event('change', {bubbles: true}));
			await new Promise(requestAnimationFrame); await new Promise(requestAnimationFrame);
			const ms = performance.now() - t0;
			s.value = 'problems'; s.dispatchEvent(new Event('change', {bubbles: true}));
			await new Promise(requestAnimationFrame); await new Promise(requestAnimationFrame);
			return ms;
		})()`)
		filter := evalAsync[float64](t, ctx, `(async () => {
			const f = document.getElementById('breaker-filter'), t0 = performance.now();
			f.value = 'ledger'; f.dispatchEvent(new Event('input', {bubbles: true}));
			await new Promise(requestAnimationFrame); await new Promise(requestAnimationFrame);
			const ms = performance.now() - t0;
			f.value = ''; f.dispatchEvent(new Event('input', {bubbles: true}));
			await new Promise(requestAnimationFrame); await new Promise(requestAnimationFrame);
			return ms;
		})()`)
		t.Logf("1,000 breakers: the longest batch applied to the grid took %s ms; a re-sort of every cell shown in %.0f ms; a filter keystroke in %.0f ms", firstFlush, resort, filter)
		until(t, ctx, 5*time.Second, visibleCells+` === 1000`)
		// The health panel splits the open breakers as the chips do.
		until(t, ctx, live, `document.getElementById('count-forced-open').textContent === '2'`)
		counts := eval[[]string](t, ctx, `['count-open', 'chip-open', 'count-forced-open', 'chip-forced_open', 'count-disabled', 'chip-disabled'].map(id => document.getElementById(id).textContent)`)
		if want := []string{"3", "3", "2", "2", "1", "1"}; !slices.Equal(counts, want) {
			t.Errorf("health panel and chips count open, forced open, disabled as %v, want %v", counts, want)
		}
		browsertest.ScreenshotViewport(t, ctx, "dashboard-1000-breakers.png")
		for state, want := range map[string]int{"open": 3, "forced_open": 2, "disabled": 1, "closed": 994} {
			got := eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll('[data-breaker][data-state=%q]').length`, state))
			if got != want {
				t.Errorf("%d cells %s, want %d", got, state, want)
			}
		}

		// Problems come first; the order can switch to names.
		if first := eval[string](t, ctx, `[...document.querySelectorAll('[data-breaker]')].slice(0, 6).map(e => e.dataset.breaker).join(' ')`); first != "payments-013 payments-014 billing-007 ledger-042 search-090 notify-099" {
			t.Errorf("first cells %q, want the forced, open and disabled breakers", first)
		}
		do(t, ctx, 5*time.Second, setField("breaker-sort", "name"))
		until(t, ctx, 5*time.Second, `document.querySelector('[data-breaker]').dataset.breaker === 'auth-000'`)

		// The filter narrows the grid; an event still reaches a cell.
		do(t, ctx, 5*time.Second, chromedp.SendKeys(chromedp.ID("breaker-filter"), "checkout-07"))
		until(t, ctx, 5*time.Second, visibleCells+` === 10`)
		sys.breaker(t, "checkout-077").ForceOpen()
		do(t, ctx, live, chromedp.WaitVisible(cell("checkout-077", "forced_open")))

		// The state chips show the counts and filter by state.
		do(t, ctx, 5*time.Second,
			setField("breaker-filter", ""),
			chromedp.Click(`[data-filter-state="forced_open"]`),
		)
		until(t, ctx, 5*time.Second, visibleCells+` === 3`)
		if got := eval[string](t, ctx, `document.getElementById('chip-forced_open').textContent`); got != "3" {
			t.Errorf("forced chip says %s, want 3", got)
		}
		browsertest.ScreenshotViewport(t, ctx, "dashboard-1000-forced-filter.png")
		do(t, ctx, 5*time.Second, chromedp.Click(`[data-filter-state=""]`))
		until(t, ctx, 5*time.Second, visibleCells+` === 1000`)

		// The inject form asks for the token, then injects a scenario that
		// forces a breaker open.
		do(t, ctx, 5*time.Second,
			chromedp.Click(`#chaos-inject summary`),
			setField("chaos-type", "circuit_breaker"),
			setField("chaos-target", "search-001"),
			setField("chaos-duration", "1m"),
			chromedp.Click(chromedp.ID("chaos-submit")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			chromedp.SendKeys(chromedp.ID("token-input"), token),
			chromedp.Click(chromedp.ID("token-submit")),
		)
		do(t, ctx, live,
			chromedp.WaitVisible(`[data-scenario="circuit_breaker_search-001"]`),
			chromedp.WaitReady(cell("search-001", "forced_open")),
		)
		sc, ok := sys.eng.Lookup("circuit_breaker_search-001")
		if !ok || sc.Type != chaos.TypeCircuitBreaker || sc.Target != "search-001" || sc.Duration != time.Minute {
			t.Errorf("engine has %+v (found %v), want the scenario the form sent", sc, ok)
		}
		if st := sys.breaker(t, "search-001").State(); st != breaker.ForcedOpen {
			t.Errorf("search-001 is %v, want forced open", st)
		}
	})
}
