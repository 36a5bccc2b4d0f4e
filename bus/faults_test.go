package bus_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/metering"
)

// faultFixture is a fixture whose bus applies a real chaos engine, with an
// agent "v" counting its handler's runs and echoing the payload.
type faultFixture struct {
	*fixture
	eng  *chaos.Engine
	runs atomic.Int64
}

func newFaultFixture(t *testing.T) *faultFixture {
	t.Helper()
	eng, err := chaos.New(chaos.Config{Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	ff := &faultFixture{fixture: newFixture(t, bus.Config{Chaos: eng}), eng: eng}
	err = ff.bus.Register("v", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
		ff.runs.Add(1)
		return bus.Reply{Payload: m.Payload}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ff
}

func (ff *faultFixture) inject(t *testing.T, typ chaos.Type, delay time.Duration) {
	t.Helper()
	s := chaos.MessageScenario(typ, "v", 0, time.Minute)
	s.Delay = delay
	if _, err := ff.eng.Inject(s); err != nil {
		t.Fatal(err)
	}
}

func (ff *faultFixture) send(payload any) (bus.Reply, error) {
	return ff.bus.Send(context.Background(), bus.NewMessage("x", "v", "t", payload))
}

func TestMessageFaults(t *testing.T) {
	t.Run("wrong_hash: the hash check refuses the message and meters it", func(t *testing.T) {
		ff := newFaultFixture(t)
		ff.inject(t, chaos.TypeWrongHash, 0)
		if _, err := ff.send("p"); !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v, want a hash mismatch", err)
		}
		m := ff.bus.Metrics()
		if ff.runs.Load() != 0 || m.HashMismatches != 1 || m.MessageFaults.WrongHash != 1 {
			t.Errorf("runs %d, mismatches %d, faults %+v", ff.runs.Load(), m.HashMismatches, m.MessageFaults)
		}
		evs := ff.metered(t)
		if len(evs) != 1 || evs[0].Operation != metering.OpConstitutionalValidation || evs[0].Outcome != metering.OutcomeRejected {
			t.Errorf("metered %+v, want one rejected constitutional validation", evs)
		}
	})
	t.Run("crash: the handler does not run, the breaker counts it, metered injected", func(t *testing.T) {
		ff := newFaultFixture(t)
		ff.inject(t, chaos.TypeCrash, 0)
		for range 5 {
			if _, err := ff.send("p"); !errors.Is(err, chaos.ErrCrashed) {
				t.Fatalf("err = %v, want ErrCrashed", err)
			}
		}
		if _, err := ff.send("p"); !errors.Is(err, breaker.ErrOpen) {
			t.Errorf("after five crashes: %v, want the breaker open", err)
		}
		if ff.runs.Load() != 0 || ff.bus.Metrics().MessageFaults.Crashed != 5 {
			t.Errorf("runs %d, faults %+v", ff.runs.Load(), ff.bus.Metrics().MessageFaults)
		}
		if evs := ff.metered(t); evs[0].Outcome != metering.OutcomeInjected {
			t.Errorf("metered %+v, want injected", evs[0])
		}
	})
	t.Run("poison: the delivery takes the delay longer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ff := newFaultFixture(t)
			ff.inject(t, chaos.TypePoison, 300*time.Millisecond)
			start := time.Now()
			if _, err := ff.send("p"); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != 300*time.Millisecond {
				t.Errorf("took %s, want 300ms", took)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if _, err := ff.bus.Send(ctx, bus.NewMessage("x", "v", "t", "p")); !errors.Is(err, context.DeadlineExceeded) || ff.runs.Load() != 1 {
				t.Errorf("a poison longer than the deadline: %v, runs %d", err, ff.runs.Load())
			}
		})
	})
	t.Run("duplicate: the handler runs twice, each delivery metered", func(t *testing.T) {
		ff := newFaultFixture(t)
		ff.inject(t, chaos.TypeDuplicate, 0)
		if r, err := ff.send("p"); err != nil || r.Payload != "p" {
			t.Fatalf("reply %v, %v", r, err)
		}
		if ff.runs.Load() != 2 || ff.bus.Metrics().MessageFaults.Duplicated != 1 {
			t.Errorf("runs %d, faults %+v", ff.runs.Load(), ff.bus.Metrics().MessageFaults)
		}
		if evs := ff.metered(t); len(evs) != 2 {
			t.Errorf("%d events metered, want 2", len(evs))
		}
	})
	t.Run("corrupt_reply: the reply is garbled, as if the handler said it", func(t *testing.T) {
		ff := newFaultFixture(t)
		ff.inject(t, chaos.TypeCorruptReply, 0)
		r, err := ff.send("approve")
		if err != nil || r.Payload == "approve" || r.Payload != bus.Corrupt("approve") {
			t.Fatalf("reply %v, %v", r.Payload, err)
		}
		if ff.bus.Metrics().MessageFaults.CorruptReplies != 1 {
			t.Errorf("faults %+v", ff.bus.Metrics().MessageFaults)
		}
		if evs := ff.metered(t); evs[0].Outcome != metering.OutcomeOK {
			t.Errorf("metered %+v: the bus cannot tell a corrupt reply", evs[0])
		}
	})
	t.Run("reorder: a published message lets the next one go first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ff := newFaultFixture(t)
			var mu sync.Mutex
			var order []any
			release := make(chan struct{})
			err := ff.bus.Register("q", func(ctx context.Context, m bus.Message) (bus.Reply, error) {
				if m.Payload == 0 {
					<-release
				}
				mu.Lock()
				order = append(order, m.Payload)
				mu.Unlock()
				return bus.Reply{}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- ff.bus.Run(ctx) }()
			pub := func(p int) {
				if err := ff.bus.Publish(context.Background(), bus.NewMessage("x", "q", "t", p)); err != nil {
					t.Fatal(err)
				}
			}
			pub(0)
			synctest.Wait() // the worker holds 0
			s := chaos.MessageScenario(chaos.TypeReorder, "q", 0, time.Minute)
			if _, err := ff.eng.Inject(s); err != nil {
				t.Fatal(err)
			}
			pub(1)
			pub(2)
			close(release)
			synctest.Wait()
			cancel()
			<-done
			if !slices.Equal(order, []any{0, 2, 1}) {
				t.Errorf("order %v, want [0 2 1]", order)
			}
			if n := ff.bus.Metrics().MessageFaults.Reordered; n != 1 {
				t.Errorf("reordered %d, want 1", n)
			}
		})
	})
	t.Run("nothing active: nothing changes", func(t *testing.T) {
		ff := newFaultFixture(t)
		if r, err := ff.send("p"); err != nil || r.Payload != "p" || ff.runs.Load() != 1 {
			t.Fatalf("reply %v, %v", r, err)
		}
		if m := ff.bus.Metrics().MessageFaults; m != (bus.MessageFaultMetrics{}) {
			t.Errorf("faults %+v", m)
		}
	})
}

func TestCorrupt(t *testing.T) {
	for _, tc := range []struct{ in, want any }{
		{"abc", "bba" /* reversed "cba", first rune ^1 */}, {"", "\x00"}, {3.5, -4.5}, {7, -8}, {int64(-1), int64(0)}, {true, false}, {struct{}{}, nil},
	} {
		if got := bus.Corrupt(tc.in); got != tc.want {
			t.Errorf("Corrupt(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := bus.Corrupt([]byte{0x0f}).([]byte); len(got) != 1 || got[0] != 0xf0 {
		t.Errorf("Corrupt(bytes) = %x", got)
	}
}
