package clusternats_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// scaleResult is what one fleet of simulated members measured.
type scaleResult struct {
	members          int
	inPerSec         []float64 // per member: messages received per second
	outPerSec        []float64 // per member: messages sent per second
	viewLive         int
	viewTook         time.Duration
	stopAllTook      time.Duration
	heartbeatsPerSec float64 // all members together, as the server stored them
}

func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// runFleet starts n members heartbeating once a second, each on its own
// connection to srv, with five breakers each; every tenth opts into a
// quorum on "payments" and every twentieth has it open. It measures what
// each member receives and sends over window, then one view, then how long
// the lever takes to stop every member's chaos.
func runFleet(t *testing.T, srv *natstest.Server, n int, window time.Duration) scaleResult {
	ctx := context.Background()
	nodes := make([]*node, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for i := range nodes {
		wg.Go(func() {
			cfg := cluster.Config{Name: fmt.Sprintf("scale%d", n), Instance: fmt.Sprintf("m%03d", i), Labels: map[string]string{"shard": fmt.Sprint(i % 4)}}
			if i%10 == 0 {
				cfg.Quorum = map[string]int{"payments": 3}
			}
			nd, err := newScaleNode(t, srv, cfg)
			if err != nil {
				mu.Lock()
				failed = errors.Join(failed, err)
				mu.Unlock()
				return
			}
			for _, b := range []string{"payments", "ledger", "search", "auth", "mail"} {
				nd.reg.GetOrCreate(b, breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
			}
			if i%20 == 0 {
				p, _ := nd.reg.Get("payments")
				if tk, err := p.Allow(); err == nil {
					tk.Done(errors.New("boom"))
				}
			}
			nodes[i] = nd
		})
	}
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	for _, nd := range nodes {
		wg.Go(func() { nd.start() })
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // let every member settle into its steady state before measuring it
	r := scaleResult{members: n}
	before := make([]clusternats.Metrics, n)
	for i, nd := range nodes {
		before[i] = nd.store.Metrics()
	}
	var beats0 uint64
	for _, nd := range nodes {
		beats0 += nd.m.Metrics().Heartbeats
	}
	start := time.Now()
	time.Sleep(window) // the measurement window: counters are read at both ends
	elapsed := time.Since(start).Seconds()
	var beats1 uint64
	for i, nd := range nodes {
		after := nd.store.Metrics()
		r.inPerSec = append(r.inPerSec, float64(after.InMsgs-before[i].InMsgs)/elapsed)
		r.outPerSec = append(r.outPerSec, float64(after.OutMsgs-before[i].OutMsgs)/elapsed)
		beats1 += nd.m.Metrics().Heartbeats
	}
	r.heartbeatsPerSec = float64(beats1-beats0) / elapsed

	vs := time.Now()
	v, err := nodes[n-1].m.View(ctx)
	r.viewTook = time.Since(vs)
	if err != nil {
		t.Fatal(err)
	}
	r.viewLive = v.Live
	if q := nodes[0].m.Quorums(); len(q) != 1 || q[0].PeersOpen != (n+19)/20-1 {
		t.Fatalf("member 0 sees %+v; %d peers have payments open", q, (n+19)/20-1)
	}

	for _, nd := range nodes {
		if _, err := nd.chaos.Inject(chaos.LatencyScenario("db", time.Millisecond, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	ss := time.Now()
	if _, err := nodes[n/2].m.EmergencyStop(ctx, "scale-test"); err != nil {
		t.Fatal(err)
	}
	for _, nd := range nodes {
		servertest.Eventually(t, 10*time.Second, "every member stops its chaos", func() bool { return nd.chaos.Stopped() && len(nd.chaos.Active()) == 0 })
	}
	r.stopAllTook = time.Since(ss)
	for _, nd := range nodes {
		wg.Go(nd.stop)
	}
	wg.Wait()
	return r
}

// newScaleNode is newNode without the health aggregator, and returning
// errors instead of failing from other goroutines.
func newScaleNode(t *testing.T, srv *natstest.Server, cfg cluster.Config) (*node, error) {
	s, err := clusternats.Open(context.Background(), clusternats.Config{URL: srv.URL()})
	if err != nil {
		return nil, err
	}
	n := &node{t: t, store: s}
	if n.reg, err = breaker.NewRegistry(breaker.RegistryConfig{}); err != nil {
		return nil, err
	}
	if n.chaos, err = chaos.New(chaos.Config{}, n.reg); err != nil {
		return nil, err
	}
	if n.m, err = cluster.New(cfg, cluster.Sources{Breakers: n.reg, Chaos: n.chaos}, s); err != nil {
		return nil, err
	}
	return n, nil
}

// TestScale runs 50 and then 200 simulated members (goroutines, each with
// its own NATS connection) against one nats-server, heartbeating once a
// second, and checks that what a member receives per second does not grow
// with the number of members: it is its heartbeat's acknowledgement plus
// the idle heartbeats of its two or three watches, about 1.5 a second,
// where a watch on every heartbeat would bring one message per member per
// second (50, then 200).
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 250 members for about 20 seconds")
	}
	srv := natstest.Start(t)
	const window = 5 * time.Second
	var results []scaleResult
	for _, n := range []int{50, 200} {
		r := runFleet(t, srv, n, window)
		t.Logf("%d members: received per member per second p50 %.2f p99 %.2f max %.2f; sent p50 %.2f max %.2f; "+
			"%.0f heartbeats/s stored; view of %d live in %v; lever stopped every member's chaos in %v",
			n, quantile(r.inPerSec, 0.5), quantile(r.inPerSec, 0.99), slices.Max(r.inPerSec),
			quantile(r.outPerSec, 0.5), slices.Max(r.outPerSec), r.heartbeatsPerSec, r.viewLive, r.viewTook, r.stopAllTook)
		if r.viewLive != n {
			t.Fatalf("%d members: the view shows %d live", n, r.viewLive)
		}
		// A watch on every heartbeat would bring each member n messages a
		// second. On a loaded machine a member that fell behind catches up
		// with a burst, so the bound is on the 95th percentile, and the
		// worst member only has to stay far below n.
		if got := quantile(r.inPerSec, 0.95); got > 4 {
			t.Fatalf("%d members: 5%% of the members received over %.1f messages/s; want a few, independent of the fleet", n, got)
		}
		if got := slices.Max(r.inPerSec); got > 12 {
			t.Fatalf("%d members: a member received %.1f messages/s; want a few, independent of the fleet", n, got)
		}
		if r.heartbeatsPerSec < 0.8*float64(n) {
			t.Fatalf("%d members wrote %.0f heartbeats/s, want about %d", n, r.heartbeatsPerSec, n)
		}
		results = append(results, r)
	}
	small, large := quantile(results[0].inPerSec, 0.5), quantile(results[1].inPerSec, 0.5)
	if large > small+0.5 {
		t.Fatalf("a member receives %.2f/s among 200 and %.2f/s among 50: it grows with the fleet", large, small)
	}
}
