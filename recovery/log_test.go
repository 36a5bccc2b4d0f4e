package recovery_test

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/internal/logtest"
	"github.com/antifragile-go/antifragile/recovery"
)

// TestOrchestrator_Logger: two failed attempts and a successful one are a
// started line each and an ended line each, with the stable keys and the
// level of their outcome.
func TestOrchestrator_Logger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls recorder
		log, rec := logtest.New()
		o := mustNew(t, recovery.Config{Logger: log}, nil)
		p := recovery.Policy{MaxRetryAttempts: 2, HealthCheck: calls.check("db", errDown)}
		if err := o.Schedule("db", recovery.Immediate, 0, &p); err != nil {
			t.Fatal(err)
		}
		stop := start(t, o)
		time.Sleep(time.Minute)
		stop()

		if started := rec.Find("recovery: attempt started"); len(started) != 2 || started[1].Str("service") != "db" || started[1].Attrs["attempt"].Int64() != 2 {
			t.Errorf("started lines = %+v", started)
		}
		ended := rec.Find("recovery: attempt ended")
		want := []struct {
			level slog.Level
			state string
		}{{slog.LevelWarn, "scheduled"}, {slog.LevelError, "failed"}}
		if len(ended) != len(want) {
			t.Fatalf("ended lines = %+v", ended)
		}
		for i, w := range want {
			g := ended[i]
			if g.Level != w.level || g.Str("service") != "db" || g.Attrs["attempt"].Int64() != int64(i+1) ||
				g.Str("state") != w.state || g.Str("error") != "health check: db down" {
				t.Errorf("ended line %d = %v %v, want %v %s", i, g.Level, g.Attrs, w.level, w.state)
			}
		}
	})
}
