package metering_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
)

func newMemory(t *testing.T, cfg metering.MemoryConfig) *metering.MemorySink {
	t.Helper()
	s, err := metering.NewMemorySink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewMemorySink(t *testing.T) {
	t.Run("zero config gives the defaults", func(t *testing.T) {
		got := newMemory(t, metering.MemoryConfig{}).Config()
		want := metering.MemoryConfig{Window: time.Minute, MaxWindows: 1440, MaxSeries: 10_000}
		if got != want {
			t.Fatalf("Config = %+v, want %+v", got, want)
		}
	})
	for _, tt := range []struct {
		field string
		cfg   metering.MemoryConfig
	}{
		{"window", metering.MemoryConfig{Window: -1}},
		{"max_windows", metering.MemoryConfig{MaxWindows: -1}},
		{"max_series", metering.MemoryConfig{MaxSeries: -1}},
	} {
		t.Run("refuses negative "+tt.field, func(t *testing.T) {
			_, err := metering.NewMemorySink(tt.cfg)
			var ve *metering.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestMemorySink_Usage(t *testing.T) {
	t.Run("aggregates per tenant, operation and tier per window", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := newMemory(t, metering.MemoryConfig{Window: time.Minute})
			m := newMeter(t, metering.Config{Sink: sink})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			t0 := time.Now().UTC() // synctest starts at midnight: a window boundary
			rec := func(tenant string, op metering.Operation, tokens int64, lat time.Duration, comp float64, out metering.Outcome) {
				m.Record(metering.Event{Tenant: tenant, Operation: op, Tokens: tokens, Latency: lat, Compliance: comp, Outcome: out})
			}
			rec("acme", metering.OpAgentMessage, 10, 2*time.Millisecond, 1, metering.OutcomeOK)
			rec("acme", metering.OpAgentMessage, 5, 6*time.Millisecond, 0, metering.OutcomeError)
			rec("acme", metering.OpAgentMessage, 100, time.Millisecond, 1, metering.OutcomeRejected)
			rec("acme", metering.OpAgentMessage, 100, time.Millisecond, 1, metering.OutcomeInjected)
			rec("beta", metering.OpAuditWrite, 1, time.Millisecond, 1, metering.OutcomeOK)
			// synctest.Wait after each sleep lets the millisecond clock catch up
			// with the instant the test wakes at.
			time.Sleep(59 * time.Second)
			synctest.Wait()
			rec("acme", metering.OpAgentMessage, 1, time.Millisecond, 1, metering.OutcomeOK) // still window 0
			time.Sleep(time.Second)
			synctest.Wait()
			rec("acme", metering.OpAgentMessage, 7, 3*time.Millisecond, 0.5, metering.OutcomeOK) // window 1
			time.Sleep(2 * time.Minute)
			synctest.Wait()
			rec("acme", metering.OpPolicyEvaluation, 2, time.Millisecond, 1, metering.OutcomeOK) // window 3
			if err := m.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := sink.Usage("acme", time.Time{}, time.Time{})
			w := func(i int) (time.Time, time.Time) {
				return t0.Add(time.Duration(i) * time.Minute), t0.Add(time.Duration(i+1) * time.Minute)
			}
			s0, e0 := w(0)
			s1, e1 := w(1)
			s3, e3 := w(3)
			want := []metering.Usage{
				{Tenant: "acme", Operation: metering.OpAgentMessage, Tier: metering.TierStandard, Start: s0, End: e0,
					Count: 3, Tokens: 16, LatencySum: 9 * time.Millisecond, LatencyMax: 6 * time.Millisecond,
					ComplianceMean: 2.0 / 3, Errors: 1, Rejected: 1, Injected: 1},
				{Tenant: "acme", Operation: metering.OpAgentMessage, Tier: metering.TierStandard, Start: s1, End: e1,
					Count: 1, Tokens: 7, LatencySum: 3 * time.Millisecond, LatencyMax: 3 * time.Millisecond, ComplianceMean: 0.5},
				{Tenant: "acme", Operation: metering.OpPolicyEvaluation, Tier: metering.TierStandard, Start: s3, End: e3,
					Count: 1, Tokens: 2, LatencySum: time.Millisecond, LatencyMax: time.Millisecond, ComplianceMean: 1},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("Usage(acme) =\n%+v\nwant\n%+v", got, want)
			}
			if got := sink.Usage("", s0, e0); len(got) != 2 || got[0].Tenant != "acme" || got[1].Tenant != "beta" {
				t.Fatalf("Usage(all, window 0) = %+v, want acme then beta", got)
			}
			if got := sink.Usage("acme", s1, s3); len(got) != 1 || !got[0].Start.Equal(s1) {
				t.Fatalf("Usage(acme, [w1, w3)) = %+v, want window 1 only", got)
			}
			if got := sink.Usage("nobody", time.Time{}, time.Time{}); len(got) != 0 {
				t.Fatalf("Usage(nobody) = %+v", got)
			}
			total, ok := sink.Total("acme")
			if !ok || total.Count != 5 || total.Tokens != 25 || total.Rejected != 1 || total.Injected != 1 || total.Errors != 1 {
				t.Fatalf("Total(acme) = %+v, %v", total, ok)
			}
			if all := sink.Totals(); len(all) != 2 || all[0].Tenant != "acme" || all[1].Tenant != "beta" || all[1].Count != 1 {
				t.Fatalf("Totals = %+v", all)
			}
		})
	})
	t.Run("bills rejected and injected events with BillAll", func(t *testing.T) {
		sink := newMemory(t, metering.MemoryConfig{BillAll: true})
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		_ = sink.Write(context.Background(), []metering.Event{
			{Tenant: "a", Tokens: 1, Time: now, Outcome: metering.OutcomeRejected},
			{Tenant: "a", Tokens: 1, Time: now, Outcome: metering.OutcomeInjected},
		})
		if tot, _ := sink.Total("a"); tot.Count != 2 || tot.Tokens != 2 || tot.Rejected != 1 || tot.Injected != 1 {
			t.Fatalf("Total = %+v", tot)
		}
	})
	t.Run("keeps at most MaxWindows and counts late events", func(t *testing.T) {
		sink := newMemory(t, metering.MemoryConfig{Window: time.Minute, MaxWindows: 3})
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		at := func(min int) metering.Event {
			return metering.Event{Tenant: "a", Time: base.Add(time.Duration(min) * time.Minute)}
		}
		for _, min := range []int{0, 1, 2, 3, 4} {
			_ = sink.Write(context.Background(), []metering.Event{at(min)})
		}
		// Older than every kept window, in one batch with a kept one.
		_ = sink.Write(context.Background(), []metering.Event{at(0), at(1), at(4)})
		got := sink.Usage("", time.Time{}, time.Time{})
		if len(got) != 3 || !got[0].Start.Equal(base.Add(2*time.Minute)) {
			t.Fatalf("Usage = %+v, want windows 2, 3, 4", got)
		}
		st := sink.Metrics()
		if st.Windows != 3 || st.Late != 2 || st.Events != 6 {
			t.Fatalf("Stats = %+v", st)
		}
		if tot, _ := sink.Total("a"); tot.Count != 6 {
			t.Fatalf("Total = %+v, want lifetime count 6 despite eviction", tot)
		}
	})
	t.Run("counts series beyond MaxSeries as overflow", func(t *testing.T) {
		sink := newMemory(t, metering.MemoryConfig{MaxSeries: 2})
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var ev []metering.Event
		for i := range 4 {
			ev = append(ev, metering.Event{Tenant: fmt.Sprint(i), Time: now}, metering.Event{Tenant: fmt.Sprint(i), Time: now})
		}
		_ = sink.Write(context.Background(), ev)
		if st := sink.Metrics(); st.Series != 2 || st.Overflow != 4 || st.Events != 4 {
			t.Fatalf("Stats = %+v", st)
		}
	})
	t.Run("counts empty tenant and tier as the defaults", func(t *testing.T) {
		sink := newMemory(t, metering.MemoryConfig{})
		_ = sink.Write(context.Background(), []metering.Event{{Operation: metering.OpAuditWrite}})
		got := sink.Usage("default", time.Time{}, time.Time{})
		if len(got) != 1 || got[0].Tier != metering.TierStandard {
			t.Fatalf("Usage = %+v", got)
		}
		if _, ok := sink.Total(""); !ok {
			t.Fatal("Total(\"\") did not find the default tenant")
		}
	})
}
