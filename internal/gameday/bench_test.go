package gameday_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

func BenchmarkParse(b *testing.B) {
	data := scenario.DefaultJSON()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := scenario.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse_Parallel(b *testing.B) {
	data := scenario.DefaultJSON()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := scenario.Parse(data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// minuteResult is the result of the built-in game day as a run at full
// length would record it: 241 samples, 250 ms apart, six breakers.
func minuteResult() *gameday.Result {
	sc := scenario.Default()
	r := &gameday.Result{Scenario: sc, Name: sc.Name, Elapsed: time.Minute, SampleInterval: 250 * time.Millisecond,
		LatencyKind: gameday.LatencyP99, Breakers: agentsim.Agents(), Tenants: scenario.DefaultTenants()}
	var at time.Duration
	for i, p := range sc.Phases {
		r.Phases = append(r.Phases, gameday.PhaseResult{Name: p.Name, Expect: p.Expect, Duration: p.Duration, Ran: true, Start: at, End: at + p.Duration})
		for _, f := range p.Faults {
			r.Faults = append(r.Faults, gameday.FaultResult{Phase: i, Scenario: f.Scenario, Injected: at, Ended: at + f.Scenario.Duration})
		}
		at += p.Duration
	}
	for k := 0; k <= 240; k++ {
		at := time.Duration(k) * 250 * time.Millisecond
		phase := 0
		for i, p := range r.Phases {
			if at >= p.Start {
				phase = i
			}
		}
		s := gameday.Sample{At: at, Phase: phase, OK: true, Status: health.Healthy, Score: 1, Throughput: 200,
			Latency: 80 * time.Microsecond, Metered: map[string]int64{"acme": int64(k), "globex": int64(k), "initech": int64(k)}}
		if phase == 2 || phase == 5 {
			s.Status, s.Score, s.Open, s.RecoveryQueue, s.FailureRate = health.Degraded, 0.667, 1, 1, 40
			s.NotClosed = map[string]breaker.State{agentsim.PolicyEngine: breaker.Open}
		}
		r.Samples = append(r.Samples, s)
	}
	gameday.Judge(r)
	return r
}

func BenchmarkWriteReport(b *testing.B) {
	res := minuteResult()
	b.ReportAllocs()
	for b.Loop() {
		if err := report.WriteReport(io.Discard, res); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJudge(b *testing.B) {
	res := minuteResult()
	b.ReportAllocs()
	for b.Loop() {
		gameday.Judge(res)
	}
}

// BenchmarkRemoteTarget_Observe is one observation of a running system
// through its ops API (five GET requests) on loopback.
func BenchmarkRemoteTarget_Observe(b *testing.B) {
	_, cl := remoteSystem(b, 1)
	tgt := gameday.NewRemoteTarget(cl)
	ctx := context.Background()
	for b.Loop() {
		if _, err := tgt.Observe(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
