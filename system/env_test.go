package system_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/system"
)

func TestApplyEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("overrides the file's settings", func(t *testing.T) {
		c := system.Default()
		c.Ops.Listen = "127.0.0.1:8080"
		err := c.ApplyEnv(env(map[string]string{
			"ANTIFRAGILE_LISTEN":             "127.0.0.1:9191",
			"ANTIFRAGILE_ALLOWED_HOSTS":      "ops.example, localhost",
			"ANTIFRAGILE_STOP_ON_CRITICAL":   "yes",
			"ANTIFRAGILE_CHAOS_MAX_DURATION": "2m",
			"ANTIFRAGILE_METERING_SINK":      "memory",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Ops.Listen != "127.0.0.1:9191" || !slices.Equal(c.Ops.AllowedHosts, []string{"ops.example", "localhost"}) {
			t.Errorf("ops = %+v", c.Ops)
		}
		if !c.Chaos.StopOnCritical || c.Chaos.Engine.MaxDuration != 2*time.Minute {
			t.Errorf("chaos = %+v", c.Chaos)
		}
	})
	t.Run("unset and empty variables change nothing", func(t *testing.T) {
		c := system.Default()
		want := c.Clone()
		if err := c.ApplyEnv(env(map[string]string{"ANTIFRAGILE_LISTEN": "  "})); err != nil {
			t.Fatal(err)
		}
		if c.Ops.Listen != want.Ops.Listen {
			t.Errorf("listen = %q, want %q", c.Ops.Listen, want.Ops.Listen)
		}
	})
	t.Run("a bad value names the variable and the setting", func(t *testing.T) {
		c := system.Default()
		err := c.ApplyEnv(env(map[string]string{
			"ANTIFRAGILE_STOP_ON_CRITICAL":   "maybe",
			"ANTIFRAGILE_CHAOS_MAX_DURATION": "soon",
		}))
		got := map[string]string{}
		for _, p := range problems(t, err) {
			got[p.Field] = p.Err.Error()
		}
		for _, field := range []string{"$ANTIFRAGILE_STOP_ON_CRITICAL (chaos.stop_on_critical)", "$ANTIFRAGILE_CHAOS_MAX_DURATION (chaos.max_duration)"} {
			if _, ok := got[field]; !ok {
				t.Errorf("no problem at %s; got %v", field, err)
			}
		}
	})
	t.Run("an invalid setting names the variable", func(t *testing.T) {
		c := system.Default()
		err := c.ApplyEnv(env(map[string]string{"ANTIFRAGILE_LISTEN": "no-port"}))
		ps := problems(t, err)
		if len(ps) == 0 || !strings.HasPrefix(ps[0].Field, "$ANTIFRAGILE_LISTEN (ops.listen)") {
			t.Fatalf("problems = %v", err)
		}
	})
	t.Run("every variable names a setting of the schema", func(t *testing.T) {
		for _, v := range system.EnvVars {
			c := system.Default()
			val := map[string]string{"string": "x", "list": "a,b", "bool": "true", "number": "1"}[v.Kind]
			err := c.ApplyEnv(env(map[string]string{v.Name: val}))
			if err == nil {
				continue
			}
			for _, p := range problems(t, err) {
				if strings.Contains(p.Err.Error(), "unknown field") {
					t.Errorf("%s: %s is not a setting: %v", v.Name, v.Field, p)
				}
			}
		}
	})
}
