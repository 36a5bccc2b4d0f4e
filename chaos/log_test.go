package chaos_test

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/logtest"
)

// TestEngine_Logger: a scenario's start and end (by expiry) are Info lines,
// an emergency stop a Warn line after the ended line of what it stopped.
func TestEngine_Logger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, rec := logtest.New()
		e := newEngine(t, chaos.Config{Logger: log}, nil)
		if _, err := e.InjectLatency("db", time.Millisecond, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, err := e.InjectErrors("api", 1, nil, time.Minute); err != nil {
			t.Fatal(err)
		}
		e.EmergencyStop()

		type line struct {
			level                          slog.Level
			msg, scenario, typ, target, re string
		}
		var got []line
		for _, r := range rec.Records() {
			got = append(got, line{r.Level, r.Message, r.Str("scenario"), r.Str("type"), r.Str("target"), r.Str("reason")})
		}
		if len(got) != 5 {
			t.Fatalf("lines = %+v, want 5", got)
		}
		want := []line{
			{slog.LevelInfo, "chaos: scenario started", got[0].scenario, "latency", "db", "injected"},
			{slog.LevelInfo, "chaos: scenario ended", got[0].scenario, "latency", "db", "expired"},
			{slog.LevelInfo, "chaos: scenario started", got[2].scenario, "error", "api", "injected"},
			{slog.LevelInfo, "chaos: scenario ended", got[2].scenario, "error", "api", "emergency_stop"},
			{slog.LevelWarn, "chaos: emergency stop", "", "", "", "emergency stop"},
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		if got[0].scenario == "" {
			t.Error("the scenario has no name in its line")
		}
		if stop := rec.Find("chaos: emergency stop"); stop[0].Attrs["scenarios"].Int64() != 1 {
			t.Errorf("emergency stop line = %v", stop[0].Attrs)
		}
	})
}

// TestEngine_LoggerOutsideLock: the handler runs after the engine's lock is
// released, so it may call methods that take it.
func TestEngine_LoggerOutsideLock(t *testing.T) {
	log, rec := logtest.New()
	e := newEngine(t, chaos.Config{Logger: log}, nil)
	active := -1
	rec.Hook = func(r logtest.Record) {
		if r.Message == "chaos: scenario started" {
			active = len(e.Active())
		}
	}
	if _, err := e.InjectLatency("db", time.Millisecond, time.Minute); err != nil {
		t.Fatal(err)
	}
	if active != 1 {
		t.Fatalf("the handler saw %d active scenarios, want 1", active)
	}
}
