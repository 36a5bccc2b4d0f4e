package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/internal/browsertest"
	"github.com/antifragile-go/antifragile/internal/dashboard"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/metering"
	afsystem "github.com/antifragile-go/antifragile/system"
)

// clusterToken is the operator token of the cluster test's systems (the
// system asks for at least 24 characters).
const clusterToken = "a-cluster-token-of-24-chars"

// cutProxy forwards TCP connections from a loopback port to target until
// cut, which closes the listener and every connection: to the cluster the
// instance behind it has died (no leave, no last heartbeat).
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cutted bool
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *cutProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
		p.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
	}
}

// track remembers the pair for cut; after a cut it closes them instead.
func (p *cutProxy) track(c ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutted {
		for _, x := range c {
			x.Close()
		}
		return false
	}
	p.conns = append(p.conns, c...)
	return true
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutted = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// runClusterSystem builds a system in cluster mode (instance name, labels,
// a heartbeat every 50 ms and a TTL of 1.5 s) and runs it until the test
// ends.
func runClusterSystem(t *testing.T, url, instance, zone, usageURL string) *afsystem.System {
	t.Helper()
	cfg := *afsystem.Default()
	cfg.Ops.Token = clusterToken
	cfg.Dashboard = dashboard.Handler()
	cfg.Cluster.URL = url
	cfg.Cluster.Member.Name = "shop"
	cfg.Cluster.Member.Instance = instance
	cfg.Cluster.Member.Labels = map[string]string{"zone": zone, "role": "api"}
	cfg.Cluster.Member.HeartbeatInterval = 50 * time.Millisecond
	cfg.Cluster.Member.TTL = 1500 * time.Millisecond
	if usageURL != "" {
		cfg.Metering.Sink = usageURL
		cfg.Metering.NATS.FoldInterval = 20 * time.Millisecond
	}
	sys, err := afsystem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Run: %v", instance, err)
		}
		_ = sys.Close(context.Background())
	})
	select {
	case <-sys.Started():
	case err := <-done:
		t.Fatalf("%s: Run: %v", instance, err)
	}
	return sys
}

func TestDashboard_cluster(t *testing.T) {
	t.Run("shows the instances, marks a dead one lost and pulls the cluster stop", func(t *testing.T) {
		nats := natstest.Start(t)
		proxy := startCutProxy(t, nats.Addr())
		web1 := runClusterSystem(t, nats.URL(), "web-1", "a", nats.URL())
		web2 := runClusterSystem(t, nats.URL(), "web-2", "b", "")
		runClusterSystem(t, proxy.url(), "web-3", "c", "")
		srv := httptest.NewServer(web1.Handler())
		t.Cleanup(srv.Close)

		for range 10 {
			if !web1.Meter().Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 3}) {
				t.Fatal("the meter refused an event")
			}
		}
		if err := web1.Meter().Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		b, err := web2.Registry().GetOrCreate("payments", breaker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		b.ForceOpen()

		ctx := browsertest.Start(t, browsertest.Config{Height: 1100})
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(srv.URL+"/?poll=3600"),
			chromedp.WaitVisible(`#cluster-panel[data-cluster="on"]`),
		)
		until(t, ctx, 5*time.Second, `document.querySelectorAll('#cluster-instances tr[data-fresh="live"]').length === 3`)
		if n := eval[int](t, ctx, `document.querySelectorAll('#cluster-instances tr').length`); n != 3 {
			t.Errorf("the panel lists %d instances, want 3", n)
		}
		if l := eval[string](t, ctx, `document.querySelector('[data-instance="web-2"] td.labels').textContent`); l != "role=api zone=b" {
			t.Errorf("web-2's labels read %q", l)
		}
		// The forced breaker of web-2 is rolled up, naming who pulled it down.
		until(t, ctx, 5*time.Second, `(document.querySelector('[data-rollup="payments"]') || {}).textContent === 'paymentsopen on 1 of 3pulled down by web-2'`)
		do(t, ctx, 5*time.Second, chromedp.WaitVisible(`#cluster-usage-body [data-tenant="acme"]`))

		// web-3 dies (its connection to NATS cut): stale first, lost after
		// its TTL.
		proxy.cut()
		until(t, ctx, 5*time.Second, `['stale', 'lost'].includes(document.querySelector('[data-instance="web-3"]').dataset.fresh)`)
		until(t, ctx, 5*time.Second, `document.querySelector('[data-instance="web-3"]').dataset.fresh === 'lost'`)
		if f := eval[string](t, ctx, `document.querySelector('[data-instance="web-3"] td.fresh').textContent`); f != "lost" {
			t.Errorf("web-3 is marked %q, want lost", f)
		}

		// The cluster emergency stop, confirmed, with the token. The lost
		// instance is not waited for: the two live ones acknowledge.
		do(t, ctx, 5*time.Second,
			chromedp.Click(chromedp.ID("cluster-stop")),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			chromedp.SendKeys(chromedp.ID("token-input"), clusterToken),
			chromedp.Click(chromedp.ID("token-submit")),
			chromedp.WaitVisible(`#cluster-lever[data-stopped="true"]`),
		)
		lever, err := web2.Cluster().Lever(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !lever.Stopped || lever.By != "ops dashboard" {
			t.Fatalf("lever after the page's stop: %+v", lever)
		}
		until(t, ctx, 5*time.Second, `document.getElementById('cluster-lever-acks').textContent === 'acknowledged by 2 of 2: web-1, web-2'`)
		if !web1.Chaos().Stopped() || !web2.Chaos().Stopped() {
			t.Error("the live instances' chaos engines are not stopped")
		}
		if txt := eval[string](t, ctx, `document.getElementById('cluster-lever-text').textContent`); !strings.HasPrefix(txt, "Cluster emergency stop latched by ops dashboard") {
			t.Errorf("lever reads %q", txt)
		}
		browsertest.Screenshot(t, ctx, "dashboard-cluster.png")

		// The reset, confirmed (the token is kept), clears the lever.
		do(t, ctx, 5*time.Second,
			chromedp.Click(chromedp.ID("cluster-reset")),
			chromedp.WaitVisible(chromedp.ID("confirm-ok")),
			chromedp.Click(chromedp.ID("confirm-ok")),
			chromedp.WaitVisible(`#cluster-lever[data-stopped="false"]`),
		)
		if lever, err = web1.Cluster().Lever(context.Background()); err != nil || lever.Stopped {
			t.Fatalf("lever after the page's reset: %+v, %v", lever, err)
		}
	})

	t.Run("stays hidden when cluster mode is off", func(t *testing.T) {
		sys := newSystem(t, []string{"proposer"})
		ctx := browsertest.Start(t, browsertest.Config{})
		do(t, ctx, 10*time.Second,
			chromedp.Navigate(sys.url+"/?poll=3600"),
			chromedp.WaitVisible(cell("proposer", "closed")),
		)
		until(t, ctx, 5*time.Second, `document.getElementById('cluster-panel').dataset.cluster === 'off'`)
		if vis := eval[bool](t, ctx, `(p => !p.hidden && p.offsetParent !== null)(document.getElementById('cluster-panel'))`); vis {
			t.Error("the cluster panel shows without cluster mode")
		}
	})
}

// simulateMembers runs n bare cluster members (a registry each, the
// breaker payments forced open on every tenth) on their own connections
// to url until the test ends.
func simulateMembers(t *testing.T, url string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var stores []*clusternats.Store
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, s := range stores {
			_ = s.Close(context.Background())
		}
	})
	for i := range n {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := reg.GetOrCreate("payments", breaker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			b.ForceOpen()
		}
		st, err := clusternats.Open(ctx, clusternats.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
		m, err := cluster.New(cluster.Config{
			Name: "shop", Instance: fmt.Sprintf("sim-%03d", i), Labels: map[string]string{"zone": fmt.Sprintf("z%d", i%3)},
		}, cluster.Sources{Breakers: reg}, st)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := m.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("member %d: %v", i, err)
			}
		})
	}
}

// TestDashboard_cluster200: the panel with 200 instances (199 simulated
// members and the serving system) lists them all and rolls the breaker up;
// what a render costs in the page is logged (data-render-ms).
func TestDashboard_cluster200(t *testing.T) {
	nats := natstest.Start(t)
	web := runClusterSystem(t, nats.URL(), "web-0", "a", "")
	simulateMembers(t, nats.URL(), 199)
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)

	ctx := browsertest.Start(t, browsertest.Config{})
	do(t, ctx, 10*time.Second,
		chromedp.Navigate(srv.URL+"/?poll=3600"),
		chromedp.WaitVisible(`#cluster-panel[data-cluster="on"]`),
	)
	until(t, ctx, 15*time.Second, `document.querySelectorAll('#cluster-instances tr[data-fresh="live"]').length === 200`)
	until(t, ctx, 5*time.Second, `(document.querySelector('[data-rollup="payments"] .fail') || {}).textContent === 'open on 20 of 200'`)
	// Three more polls, each applying 200 rows in place.
	n := eval[int](t, ctx, `Number(document.getElementById('cluster-panel').dataset.renders)`)
	until(t, ctx, 15*time.Second, fmt.Sprintf(`Number(document.getElementById('cluster-panel').dataset.renders) >= %d`, n+3))
	t.Logf("cluster panel render with 200 instances: last %s ms, max %s ms",
		eval[string](t, ctx, `document.getElementById('cluster-panel').dataset.renderMs`),
		eval[string](t, ctx, `document.getElementById('cluster-panel').dataset.renderMaxMs`))
	browsertest.ScreenshotViewport(t, ctx, "dashboard-cluster-200.png")
}
