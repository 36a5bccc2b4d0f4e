package gameday_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// runLocal runs sc, scaled to total, against a Local system and returns
// the result.
func runLocal(t *testing.T, sc *scenario.Scenario, total time.Duration, progress *bytes.Buffer) *gameday.Result {
	t.Helper()
	scaled, f := sc.Scaled(total)
	l := newLocal(t, f, 7, agentsim.GeneratorConfig{Rate: scaled.Traffic.Rate, Tenants: scaled.Traffic.Tenants})
	defer l.start(t)()
	ctx := context.Background()
	cfg := gameday.Config{Scenario: scaled, Target: gameday.NewLocalTarget(l.System, l.sim.Traffic()), Description: "in-process simulation", Seed: 7, Scale: f}
	if progress != nil {
		cfg.Progress = progress
	}
	res, err := gameday.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRun_FaultThatNeverEndsFails(t *testing.T) {
	t.Parallel()
	sc, err := scenario.Parse([]byte(`{
		"name": "never-ends",
		"steady_state": {"min_status": "HEALTHY", "recovery_budget": "300ms"},
		"traffic": {"rate": 200},
		"phases": [
			{"name": "baseline", "duration": "200ms"},
			{"name": "storm", "duration": "300ms",
			 "faults": [{"type": "error", "target": "policy_engine", "error_rate": 1, "duration": "10m"}]},
			{"name": "after", "duration": "300ms", "expect": "steady"}
		]}`))
	if err != nil {
		t.Fatal(err)
	}
	res := runLocal(t, sc, 0, nil)
	err = res.Err()
	var ve *gameday.VerdictError
	if !errors.As(err, &ve) || ve.ExitCode() == 0 {
		t.Fatalf("Err() = %v, want a *VerdictError with a non-zero exit code", err)
	}
	if !strings.Contains(res.VerdictText(), "still active") {
		t.Errorf("verdict does not say the fault never ended:\n%s", res.VerdictText())
	}
}

// cancelAfter cancels a context once n faults were injected.
type cancelAfter struct {
	*gameday.LocalTarget
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Inject(ctx context.Context, s chaos.Scenario) error {
	err := c.LocalTarget.Inject(ctx, s)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return err
}

func TestRun_InterruptionEndsEveryFault(t *testing.T) {
	sc, err := scenario.Parse([]byte(`{"name":"interrupted","phases":[
		{"name":"storm","duration":"200ms","faults":[{"name":"long-storm","type":"error","target":"policy_engine","error_rate":1,"duration":"10m"}]},
		{"name":"partition","duration":"10m","faults":[{"name":"long-partition","type":"network_partition","target":"validator"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	l := newLocal(t, 0.05, 0, agentsim.GeneratorConfig{})
	l.start(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := &cancelAfter{LocalTarget: gameday.NewLocalTarget(l.System, l.sim.Traffic()), n: 2, cancel: cancel}
	res, err := gameday.Run(ctx, gameday.Config{Scenario: sc, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	eng := l.Chaos()
	if active := eng.Active(); len(active) != 0 {
		t.Errorf("active scenarios after the interruption: %v", active)
	}
	if !eng.Stopped() {
		t.Error("the chaos engine was not emergency-stopped")
	}
	if !res.Interrupted || res.Err() == nil {
		t.Errorf("interrupted %v, Err() %v", res.Interrupted, res.Err())
	}
	if res.Elapsed > 5*time.Second {
		t.Errorf("the interrupted run lasted %s", res.Elapsed)
	}
}

// TestIssue12_InProcessGameDayMetersEveryMessage: a game day on a System
// meters every message its bus accepted, those still waiting in mailboxes
// when it stops included (the bus is drained before the meter's last
// flush).
func TestIssue12_InProcessGameDayMetersEveryMessage(t *testing.T) {
	sc, f := scenario.Default().Scaled(2 * time.Second)
	l := newLocal(t, f, 5, agentsim.GeneratorConfig{Rate: sc.Traffic.Rate, Tenants: sc.Traffic.Tenants})
	stop := l.start(t)
	if _, err := gameday.Run(context.Background(), gameday.Config{Scenario: sc, Target: gameday.NewLocalTarget(l.System, l.sim.Traffic()), Scale: f}); err != nil {
		t.Fatal(err)
	}
	// Messages published at the last moment are still in the mailboxes when
	// the system stops.
	const late = 300
	for i := range late {
		m := bus.NewMessage("test", "auditor", "audit", i)
		m.Tenant = "late"
		if err := l.Bus().Publish(context.Background(), m); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := l.Bus().Metrics()
	accepted := st.Delivered + st.Failed + st.Rejected + st.Injected
	var metered, lateMetered int64
	for _, u := range l.Usage().Totals() {
		metered += u.Count + u.Rejected + u.Injected
		if u.Tenant == "late" {
			lateMetered = u.Count + u.Rejected + u.Injected
		}
	}
	if uint64(metered) != accepted || st.Dropped != 0 || lateMetered != late {
		t.Fatalf("metered %d of %d handled messages (%d of the %d published last), %d dropped; bus %+v",
			metered, accepted, lateMetered, late, st.Dropped, st)
	}
	if m := l.Meter().Metrics(); m.Dropped != 0 || m.Failed != 0 {
		t.Fatalf("the meter lost events: %+v", m)
	}
}
