package clusternats_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
)

// proxy forwards TCP connections from a loopback port to target. Paused,
// it stops moving bytes in either direction but keeps every connection
// open: a partition, which neither end sees as a closed socket.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	paused bool
	wake   chan struct{} // closed on resume
	conns  []net.Conn
	closed bool
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, wake: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) accept() {
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
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, cs...)
	return true
}

// pipe copies from src to dst, holding every chunk while paused.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitResumed() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitResumed blocks while paused; false once the proxy is closed.
func (p *proxy) waitResumed() bool {
	for {
		p.mu.Lock()
		paused, wake, closed := p.paused, p.wake, p.closed
		p.mu.Unlock()
		if closed {
			return false
		}
		if !paused {
			return true
		}
		<-wake
	}
}

func (p *proxy) pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

func (p *proxy) resume() {
	p.mu.Lock()
	p.paused = false
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	close(p.wake)
	p.wake = make(chan struct{})
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// TestCluster_Partition cuts one member off NATS through a TCP proxy that
// stops forwarding (no socket closes: the client notices by its pings and
// its writes time out), while another member stays connected.
func TestCluster_Partition(t *testing.T) {
	srv := natstest.Start(t)
	px := startProxy(t, srv.Addr())
	store, err := clusternats.Open(context.Background(), clusternats.Config{URL: px.url(),
		ReconnectWait: 50 * time.Millisecond, PingInterval: 300 * time.Millisecond, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cut := &node{t: t, store: store}
	if cut.reg, err = breaker.NewRegistry(breaker.RegistryConfig{}); err != nil {
		t.Fatal(err)
	}
	if cut.chaos, err = chaos.New(chaos.Config{}, cut.reg); err != nil {
		t.Fatal(err)
	}
	if cut.m, err = cluster.New(fastConfig("cut"), cluster.Sources{Breakers: cut.reg, Chaos: cut.chaos}, store); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cut.stop)
	cut.start()
	other := newNode(t, srv, fastConfig("other")).start()
	for _, n := range []*node{cut, other} {
		if _, err := n.chaos.Inject(latency("slow", time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	servertest.Eventually(t, 5*time.Second, "both live", func() bool { return other.view().Live == 2 })

	px.pause()
	servertest.Eventually(t, 10*time.Second, "the cut-off member halts its chaos", func() bool { return cut.chaos.Stopped() })
	if other.chaos.Stopped() || len(other.chaos.Active()) != 1 {
		t.Fatal("the connected member's chaos was stopped too")
	}
	servertest.Eventually(t, 5*time.Second, "the other member sees it lost", func() bool {
		in, ok := find(other.view(), "cut")
		return ok && in.Lost
	})
	db, _ := cut.reg.GetOrCreate("db", breaker.Config{ConsecutiveFailures: 1})
	if tk, err := db.Allow(); err == nil {
		tk.Done(io.ErrUnexpectedEOF)
	}
	if db.State() != breaker.Open {
		t.Fatal("the cut-off member's breakers stopped working")
	}

	px.resume()
	servertest.Eventually(t, 15*time.Second, "rejoined cleanly", func() bool {
		in, ok := find(other.view(), "cut")
		return ok && !in.Lost && !in.Stale && !cut.chaos.Stopped() && !cut.m.Metrics().DeadMan
	})
	servertest.Eventually(t, 5*time.Second, "its watches made anew", func() bool { return store.Metrics().WatchRestarts >= 2 })
	// Its lever watch works again: a stop pulled elsewhere reaches it.
	if _, err := other.m.EmergencyStop(context.Background(), "ops"); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, 5*time.Second, "the rejoined member applies a stop pulled elsewhere", func() bool { return cut.chaos.Stopped() })
	t.Logf("cut-off member: %+v; its connection: %+v", cut.m.Metrics(), store.Metrics())
}
