package busnats_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/metering"
)

// sender is a sending process's side in the test process: a registry, a
// chaos engine, a meter collecting its events, a bus and its transport.
type sender struct {
	t      testing.TB
	reg    *breaker.Registry
	chaos  *chaos.Engine
	meter  *metering.Meter
	bus    *bus.Bus
	tr     *busnats.Transport
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	events []metering.Event // guarded by mu
}

// newSender returns a sender named process on url whose agents' breakers
// use brk; it is closed at cleanup.
func newSender(t testing.TB, url, process string, brk breaker.Config) *sender {
	t.Helper()
	s := &sender{t: t}
	var err error
	if s.reg, err = breaker.NewRegistry(breaker.RegistryConfig{}); err != nil {
		t.Fatal(err)
	}
	if s.chaos, err = chaos.New(chaos.Config{Seed: 1}, s.reg); err != nil {
		t.Fatal(err)
	}
	sink := metering.SinkFunc(func(_ context.Context, evs []metering.Event) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.events = append(s.events, evs...)
		return nil
	})
	if s.meter, err = metering.New(metering.Config{Sink: sink, FlushInterval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if s.tr, err = busnats.New(busnats.Config{URL: url, Process: process, ReconnectWait: 50 * time.Millisecond, PingInterval: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if s.bus, err = bus.New(bus.Config{Registry: s.reg, Chaos: s.chaos, Meter: s.meter, Transport: s.tr, Breaker: brk}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { _ = s.meter.Run(ctx) })
	t.Cleanup(s.close)
	return s
}

// close stops everything the sender started; idempotent.
func (s *sender) close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
	s.cancel = nil
	_ = s.bus.Close(context.Background())
	_ = s.tr.Close(context.Background())
	_ = s.meter.Close(context.Background())
	_ = s.chaos.Close(context.Background())
}

// metered closes the sender's meter (flushing it) and returns its events.
func (s *sender) metered() []metering.Event {
	s.t.Helper()
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// send sends a message of type typ from "proposer" to agent, bounded by
// within.
func (s *sender) send(agent, typ string, payload any, within time.Duration) (bus.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return s.bus.Send(ctx, bus.NewMessage("proposer", agent, typ, payload))
}

// count returns how many of events are of operation op with outcome o.
func count(events []metering.Event, op metering.Operation, o metering.Outcome) int {
	n := 0
	for _, e := range events {
		if e.Operation == op && e.Outcome == o {
			n++
		}
	}
	return n
}
