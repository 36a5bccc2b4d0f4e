package chaos_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

// TestIssue14_Recent: the engine remembers the scenarios that ended last and
// why, the latest first, bounded by RecentEnded.
func TestIssue14_Recent(t *testing.T) {
	t.Run("says why each scenario ended", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, newRegistry(t))
			start := time.Now()
			mustInject(t, e, chaos.Scenario{Name: "short", Type: chaos.TypeLatency, Target: "db", Delay: time.Millisecond, Duration: time.Second})
			mustInject(t, e, chaos.Scenario{Name: "ended", Type: chaos.TypeTimeout, Target: "db", Duration: time.Minute})
			mustInject(t, e, chaos.Scenario{Name: "stopped", Type: chaos.TypeNetworkPartition, Target: "db", Duration: time.Minute})
			time.Sleep(2 * time.Second)
			synctest.Wait()
			if !e.Deactivate("ended") {
				t.Fatal("Deactivate found nothing")
			}
			e.EmergencyStop()
			got := e.Recent()
			want := []struct {
				name   string
				reason chaos.Reason
				detail string
			}{
				{"stopped", chaos.ReasonEmergencyStop, "emergency stop"},
				{"ended", chaos.ReasonDeactivated, ""},
				{"short", chaos.ReasonExpired, ""},
			}
			if len(got) != len(want) {
				t.Fatalf("Recent() = %+v, want %d entries", got, len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.Scenario.Name != w.name || g.Reason != w.reason || g.Detail != w.detail {
					t.Errorf("Recent()[%d] = %s %s %q, want %s %s %q", i, g.Scenario.Name, g.Reason, g.Detail, w.name, w.reason, w.detail)
				}
			}
			if got[0].Scenario.Active {
				t.Error("an ended scenario says it is active")
			}
			if sc := got[2]; !sc.Scenario.CreatedAt.Equal(start) || !sc.EndedAt.Equal(start.Add(time.Second)) {
				t.Errorf("expired scenario created %v, ended %v; want %v and a second later", sc.Scenario.CreatedAt, sc.EndedAt, start)
			}
		})
	})

	t.Run("keeps the last RecentEnded", func(t *testing.T) {
		e := newEngine(t, chaos.Config{}, newRegistry(t))
		for i := range chaos.RecentEnded + 5 {
			name := fmt.Sprintf("s%02d", i)
			mustInject(t, e, chaos.Scenario{Name: name, Type: chaos.TypeTimeout, Target: "db", Duration: time.Minute})
			e.Deactivate(name)
		}
		got := e.Recent()
		if len(got) != chaos.RecentEnded {
			t.Fatalf("%d entries, want %d", len(got), chaos.RecentEnded)
		}
		if first, last := got[0].Scenario.Name, got[len(got)-1].Scenario.Name; first != fmt.Sprintf("s%02d", chaos.RecentEnded+4) || last != "s05" {
			t.Errorf("entries from %s to %s, want the latest first down to s05", first, last)
		}
	})
}
