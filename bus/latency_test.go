package bus_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/latency"
)

func sleepHandler(d time.Duration) bus.Handler {
	return func(ctx context.Context, _ bus.Message) (bus.Reply, error) {
		time.Sleep(d)
		return bus.Reply{}, nil
	}
}

func TestBus_Latencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delay time.Duration
		f := newFixture(t, bus.Config{Chaos: chaosFunc(func(ctx context.Context, target string) error {
			if target == "slow" {
				time.Sleep(delay)
			}
			return nil
		})})
		for name, d := range map[string]time.Duration{"fast": 20 * time.Microsecond, "slow": 3 * time.Millisecond} {
			if err := f.bus.Register(name, sleepHandler(d)); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		send := func(to string) {
			t.Helper()
			_, _ = f.bus.Send(ctx, bus.NewMessage("t", to, "x", nil))
		}
		send("fast")
		send("fast")
		delay = 40 * time.Millisecond
		send("slow") // 40 ms of injected latency, then 3 ms in the handler
		if err := f.bus.Publish(ctx, bus.NewMessage("t", "fast", "x", nil)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // a wait in the mailbox is not delivery time
		if err := f.bus.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		b, _ := f.reg.Get("slow")
		b.ForceOpen()
		send("slow") // rejected by the breaker after 40 ms of chaos

		got := f.bus.Latencies()
		if len(got) != 2 || got[0].Agent != "fast" || got[1].Agent != "slow" {
			t.Fatalf("Latencies() agents = %+v, want fast and slow", got)
		}
		fast := latency.Snapshot{Sum: 60 * time.Microsecond}
		fast.Counts[1] = 3 // (10 µs, 25 µs]
		slow := latency.Snapshot{Sum: 83 * time.Millisecond}
		slow.Counts[11] = 2 // (25 ms, 50 ms]: 43 ms delivered, 40 ms rejected
		if got[0].Latency != fast {
			t.Errorf("fast: %+v\nwant %+v", got[0].Latency, fast)
		}
		if got[1].Latency != slow {
			t.Errorf("slow: %+v\nwant %+v", got[1].Latency, slow)
		}
		var metered time.Duration
		for _, ev := range f.metered(t) {
			metered += ev.Latency
		}
		if total := got[0].Latency.Sum + got[1].Latency.Sum; metered != total {
			t.Errorf("metered latency %v, histograms' sum %v", metered, total)
		}
		if m := f.bus.Metrics(); got[0].Latency.Count()+got[1].Latency.Count() != m.Delivered+m.Rejected {
			t.Errorf("histogram counts %d+%d, delivered+rejected %d", got[0].Latency.Count(), got[1].Latency.Count(), m.Delivered+m.Rejected)
		}
		f.bus.Unregister("slow")
		if got := f.bus.Latencies(); len(got) != 1 || got[0].Agent != "fast" {
			t.Errorf("after Unregister: %+v", got)
		}
	})
}
