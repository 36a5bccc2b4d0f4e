package clusternats_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
)

// reportLatencies reports the p50 and p99 of ds, in milliseconds.
func reportLatencies(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	q := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(ds)), "samples")
}

// BenchmarkEmergencyStop pulls the lever on one of three members, each on
// its own connection and running a latency scenario, and times each pull
// from the call to the moment every member's engine has ended its
// scenario (its "ended" event, reason emergency_stop). Between pulls,
// untimed, the lever is reset and the scenarios injected again. Run it
// with -benchtime=200x for 200 pulls.
func BenchmarkEmergencyStop(b *testing.B) {
	srv := natstest.Start(b)
	ctx := context.Background()
	nodes := make([]*node, 3)
	subs := make([]*chaos.Subscription, 3)
	for i := range nodes {
		cfg := fastConfig(fmt.Sprintf("m%d", i))
		cfg.HeartbeatInterval, cfg.TTL, cfg.Lease = time.Second, 3*time.Second, 5*time.Second
		nodes[i] = newNode(b, srv, cfg).start()
		subs[i] = nodes[i].chaos.Subscribe(64)
		defer subs[i].Close()
	}
	arm := func() {
		if _, err := nodes[0].m.Reset(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		for _, n := range nodes {
			servertest.Eventually(b, 5*time.Second, "reset applied", func() bool { return !n.chaos.Stopped() })
			if _, err := n.chaos.Inject(latency("slow", time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
		for _, s := range subs {
			for len(s.C) > 0 {
				<-s.C
			}
		}
	}
	var ds []time.Duration
	for b.Loop() {
		b.StopTimer()
		arm()
		b.StartTimer()
		start := time.Now()
		if _, err := nodes[1].m.EmergencyStop(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		for _, s := range subs {
			for ev := range s.C {
				if ev.Kind == chaos.EventEnded && ev.Reason == chaos.ReasonEmergencyStop {
					break
				}
			}
		}
		ds = append(ds, time.Since(start))
	}
	reportLatencies(b, ds)
}

// BenchmarkView computes the view of 50 (and 200) members, each running
// on its own connection and heartbeating once a second with five breakers
// (two of them forced open on some members): one listing of the members'
// bucket, one read of the lever, every heartbeat decoded and rolled up.
func BenchmarkView(b *testing.B) {
	for _, count := range []int{50, 200} {
		b.Run(fmt.Sprintf("members=%d", count), func(b *testing.B) { benchmarkView(b, count) })
	}
}

func benchmarkView(b *testing.B, count int) {
	srv := natstest.Start(b)
	nodes := make([]*node, count)
	for i := range nodes {
		cfg := cluster.Config{Name: "view", Instance: fmt.Sprintf("m%03d", i), Labels: map[string]string{"zone": fmt.Sprint(i % 3)}}
		nodes[i] = newNode(b, srv, cfg)
		for j, name := range []string{"payments", "ledger", "search", "auth", "mail"} {
			br, _ := nodes[i].reg.GetOrCreate(name, breaker.Config{})
			if j < 2 && i%(5+j) == 0 {
				br.ForceOpen()
			}
		}
		nodes[i].start()
	}
	servertest.Eventually(b, 10*time.Second, "all live", func() bool { return nodes[0].view().Live == count })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, err := nodes[0].m.View(ctx)
		if err != nil || v.Live != count {
			b.Fatalf("view: %d live, %v", v.Live, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/view")
}

// BenchmarkRequestReply is the floor of any NATS round trip here: a bare
// nats.go request/reply over loopback, one responder, 16-byte payloads.
func BenchmarkRequestReply(b *testing.B) {
	srv := natstest.Start(b)
	rep, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer rep.Close()
	req, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer req.Close()
	sub, err := rep.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := rep.Flush(); err != nil {
		b.Fatal(err)
	}
	payload := []byte("0123456789abcdef")
	var ds []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := req.Request("bench.echo", payload, time.Second); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	reportLatencies(b, ds)
}

// BenchmarkHotPath measures a breaker's Allow/Done and the chaos engine's
// Error check, with nothing else in the process (cluster=off) and beside a
// running member (cluster=on) of a three-member cluster heartbeating every
// second, whose breaker is opted into a quorum: the member works on its
// own goroutines, and the hot paths take no lock and make no call on its
// account.
func BenchmarkHotPath(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("cluster=%v", map[bool]string{false: "off", true: "on"}[on]), func(b *testing.B) {
			reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
			engine, _ := chaos.New(chaos.Config{}, reg)
			defer engine.Close(context.Background())
			if on {
				srv := natstest.Start(b)
				second := func(name string) cluster.Config {
					return cluster.Config{Name: "hot", Instance: name}
				}
				for i := range 2 {
					newNode(b, srv, second(fmt.Sprintf("peer%d", i))).start()
				}
				cfg := second("self")
				cfg.Quorum = map[string]int{"payments": 2}
				n := newNode(b, srv, cfg)
				reg, engine = n.reg, n.chaos
				n.start()
			}
			br, _ := reg.GetOrCreate("payments", breaker.Config{})
			b.Run("breaker", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					tk, err := br.Allow()
					if err != nil {
						b.Fatal(err)
					}
					tk.Done(nil)
				}
			})
			b.Run("chaos", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := engine.Error("payments"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
