package gameday_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
)

// watchingFake is a fakeTarget that reports the events sent on events.
type watchingFake struct {
	*fakeTarget
	events chan gameday.Event
}

func (w *watchingFake) Watch(ctx context.Context, fn func(gameday.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.events:
			fn(ev)
		}
	}
}

const killPhases = `{"name":"kill","steady_state":{"recovery_budget":"300ms"},"phases":[
	{"name":"steady","duration":"1s"},
	{"name":"process-kill","duration":"900ms","expect":"degrade"},
	{"name":"final","duration":"1s"}]}`

// killer is an OnPhase that kills the "db" process at the start of phase
// 1 (the fake then reports db open) and restarts it after 300 ms, telling
// the breaker's transitions to the fake's watch.
type killer struct {
	f         *watchingFake
	err       error     // returned as the disruption's error
	restarted time.Time // when End ran
}

func (k *killer) onPhase(_ context.Context, i int) []gameday.Disruption {
	if i != 1 {
		return nil
	}
	d := gameday.Disruption{
		Fault:       chaos.Scenario{Name: "kill-db-1", Type: chaos.TypeCrash, Target: "db", Duration: 300 * time.Millisecond},
		Description: "SIGKILL of process db-1",
		Err:         k.err,
	}
	if k.err != nil {
		return []gameday.Disruption{d}
	}
	k.f.mu.Lock()
	k.f.live["kill-db-1"] = true
	k.f.log("kill db-1")
	k.f.mu.Unlock()
	k.f.events <- gameday.Event{At: time.Now(), Kind: "breaker", Subject: "db", State: "open", Text: "closed → open"}
	d.End = func(context.Context) error {
		k.f.mu.Lock()
		delete(k.f.live, "kill-db-1")
		k.f.log("restart db-1")
		k.f.mu.Unlock()
		k.restarted = time.Now()
		k.f.events <- gameday.Event{At: time.Now(), Kind: "breaker", Subject: "db", State: "closed", Text: "half-open → closed"}
		return nil
	}
	return []gameday.Disruption{d}
}

func TestRun_OnPhase(t *testing.T) {
	t.Run("a disruption is judged as a fault of its phase and ended when due", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &watchingFake{fakeTarget: newFake(), events: make(chan gameday.Event)}
			k := &killer{f: f}
			var progress strings.Builder
			res, err := gameday.Run(t.Context(), gameday.Config{
				Scenario: mustParse(t, killPhases), Target: f, SampleInterval: 100 * time.Millisecond, Progress: &progress,
				OnPhase: k.onPhase,
				Cluster: func(_ context.Context, res *gameday.Result) *gameday.ClusterResult {
					kill := res.Faults[0]
					return &gameday.ClusterResult{Name: "demo",
						Instances: []gameday.ClusterInstance{{Instance: "db-1", Agents: []string{"db"}, State: gameday.InstanceLive, Status: health.Healthy, Starts: 2}},
						Crossed:   100, Received: 90, Undelivered: 6,
						Kills: []gameday.ProcessKill{{Instance: "db-1", Agents: []string{"db"}, Fault: kill.Scenario.Name,
							Killed: kill.Injected, Restarted: kill.Ended, Served: kill.Ended + 50*time.Millisecond}}}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"1s kill db-1", "1.3s restart db-1"}; !slices.Equal(f.Calls(), want) {
				t.Errorf("calls = %q, want %q", f.Calls(), want)
			}
			if len(res.Faults) != 1 {
				t.Fatalf("faults = %+v", res.Faults)
			}
			kill := res.Faults[0]
			if kill.Phase != 1 || kill.Injected != time.Second || kill.Ended != 1300*time.Millisecond || kill.Describe() != "SIGKILL of process db-1 for 300ms" {
				t.Errorf("the kill's fault = %+v (%q)", kill, kill.Describe())
			}
			ph := res.Phases[1]
			if !ph.Detected || ph.TimeToDetect != 100*time.Millisecond || !ph.Recovered || ph.TimeToRecover != 0 {
				t.Errorf("phase process-kill = %+v", ph)
			}
			if !res.Verdict.Passed {
				t.Errorf("verdict = %+v", res.Verdict)
			}
			c := res.Cluster
			if c == nil || len(c.Kills) != 1 || c.Lost() != 4 {
				t.Fatalf("cluster = %+v", c)
			}
			if got := c.Kills[0].Breakers; len(got) != 1 || got[0].Opened != time.Second || got[0].Closed != 1300*time.Millisecond {
				t.Errorf("the kill's breakers from the event log = %+v", got)
			}
			notes := strings.Join(res.Verdict.Notes, "\n")
			for _, want := range []string{`cluster "demo": 1 instances, 1 live at the end`, "100 crossed between processes: 90 received, 6 undelivered", "4 lost",
				"db-1 (db) killed at 1s; breaker db opened +0s; restarted +300ms, served +50ms after the restart; db closed +0s after the restart"} {
				if !strings.Contains(notes, want) {
					t.Errorf("notes lack %q:\n%s", want, notes)
				}
			}
			if !strings.Contains(progress.String(), "» SIGKILL of process db-1 for 300ms") {
				t.Errorf("progress does not show the kill:\n%s", progress.String())
			}
			var sum strings.Builder
			if err := report.WriteSummary(&sum, res); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"SIGKILL of process db-1 for 300ms", `cluster "demo" at the end`, "db-1      db      live   HEALTHY"} {
				if !strings.Contains(sum.String(), want) {
					t.Errorf("summary lacks %q:\n%s", want, sum.String())
				}
			}
			var page strings.Builder
			if err := report.WriteReport(&page, res); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(page.String(), "<h2>Cluster demo</h2>") || !strings.Contains(page.String(), "Processes killed") {
				t.Error("the HTML report has no cluster section")
			}
		})
	})
	t.Run("an instance not live at the end fails the game day", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			res, _ := gameday.Run(t.Context(), gameday.Config{Scenario: mustParse(t, killPhases), Target: newFake(),
				Cluster: func(context.Context, *gameday.Result) *gameday.ClusterResult {
					return &gameday.ClusterResult{Name: "demo", Instances: []gameday.ClusterInstance{
						{Instance: "a", State: gameday.InstanceLive}, {Instance: "b", State: gameday.InstanceLost}}}
				}})
			if res.Verdict.Passed || !slices.Contains(res.Verdict.Reasons, `cluster "demo": instance b is lost at the end of the game day`) {
				t.Errorf("verdict = %+v", res.Verdict)
			}
		})
	})
	t.Run("a disruption that could not be done fails the game day", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &watchingFake{fakeTarget: newFake(), events: make(chan gameday.Event)}
			k := &killer{f: f, err: errors.New("no such process")}
			res, _ := gameday.Run(t.Context(), gameday.Config{Scenario: mustParse(t, killPhases), Target: f, OnPhase: k.onPhase})
			if res.Verdict.Passed || !strings.Contains(strings.Join(res.Verdict.Reasons, "\n"), `fault "kill-db-1" could not be injected: no such process`) {
				t.Errorf("verdict = %+v", res.Verdict)
			}
		})
	})
	t.Run("an interruption ends the disruption too", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &watchingFake{fakeTarget: newFake(), events: make(chan gameday.Event, 4)}
			k := &killer{f: f}
			ctx, cancel := context.WithTimeout(t.Context(), 1100*time.Millisecond)
			defer cancel()
			res, _ := gameday.Run(ctx, gameday.Config{Scenario: mustParse(t, killPhases), Target: f, OnPhase: k.onPhase})
			if want := []string{"1s kill db-1", "1.1s emergency stop", "1.1s restart db-1"}; !slices.Equal(f.Calls(), want) {
				t.Errorf("calls = %q, want %q", f.Calls(), want)
			}
			if !res.Interrupted || res.Verdict.Passed {
				t.Errorf("interrupted %v verdict %+v", res.Interrupted, res.Verdict)
			}
		})
	})
}
