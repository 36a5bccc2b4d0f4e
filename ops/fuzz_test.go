package ops_test

import (
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

const fuzzMaxBody = 4096

// FuzzDecodeScheduleRequest sends arbitrary bodies to POST /recovery/{name}:
// the handler never fails with a 5xx, every refusal is a well-formed
// envelope, and it accepts exactly the bodies that decode strictly into a
// valid api.ScheduleRequest, scheduling the strategy they ask for.
func FuzzDecodeScheduleRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `1`,
		`{"strategy":"immediate"}`,
		`{"strategy":"linear_backoff","priority":-4}`,
		`{"strategy":"manual","policy":{"max_retry_attempts":3,"initial_delay":"1s","max_delay":"1m","jitter":0.1}}`,
		`{"policy":{"strategy":"immediate","backoff_multiplier":1.5,"action_timeout":"2s","health_check_timeout":"500ms","priority":2}}`,
		`{"policy":{"constitutional_hash":"cdd01ef066bc6cf2"}}`,
		`{"policy":{"constitutional_hash":"nope"}}`,
		`{"policy":{"max_delay":"1ms","initial_delay":"1s"}}`,
		`{"policy":{"jitter":2}}`,
		`{"strategy":"immediate"}{"strategy":"manual"}`,
		`{"strategy":"immediate","strategy":"manual"}`,
		`{"priority":1e400}`,
		`{"priority":9223372036854775808}`,
		`{"policy":null}`,
		`{"policy":{"initial_delay":"-1s"}}`,
		`{"strategy":"\u0000"}`,
		`{"Strategy":"immediate"}`,
		`{"strategy":"immediate"` + strings.Repeat(" ", fuzzMaxBody),
	} {
		f.Add(seed)
	}
	s := newSystem(f, func(o *ops.Options) { o.MaxBodyBytes = fuzzMaxBody })
	f.Fuzz(func(t *testing.T, body string) {
		defer s.orch.Cancel("db")
		rec := do(t, s.h, "POST", "/recovery/db", body, auth()...)

		var req api.ScheduleRequest
		derr := api.DecodeStrict(strings.NewReader(body), &req)
		empty := strings.Trim(body, " \t\r\n") == ""
		var wantStrategy recovery.Strategy
		var aerr error
		if derr == nil {
			wantStrategy, _, _, aerr = req.Args(recovery.ExponentialBackoff)
		}
		accept := len(body) <= fuzzMaxBody && (empty || (derr == nil && aerr == nil))

		switch rec.Code {
		case 202:
			if !accept {
				t.Fatalf("accepted %q (decode: %v, args: %v)", body, derr, aerr)
			}
			var a api.RecoveryAction
			decode(t, rec, 202, &a)
			if a.Task == nil || a.Task.Strategy != wantStrategy {
				t.Fatalf("task %+v, want strategy %v", a.Task, wantStrategy)
			}
		case 400, 409, 413:
			if accept {
				t.Fatalf("refused %q with %d: %s", body, rec.Code, rec.Body)
			}
			envelope(t, rec, rec.Code)
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzDecodeScenario sends arbitrary bodies to POST /chaos/scenarios: the
// handler never fails with a 5xx, every refusal is a well-formed envelope,
// and whatever chaos.ParseScenario refuses it refuses too. Every iteration
// ends with an emergency stop and a reset, so that no fault outlives it.
func FuzzDecodeScenario(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`,
		`{"name":"a","type":"latency","target":"t","delay":"1ms"}`,
		`{"name":"a","type":"latency","target":"t","delay":"1ms","duration":"1h"}`,
		`{"name":"a","type":"error","target":"t","error_rate":0.5,"error_message":"boom","blast_radius":["u","v"]}`,
		`{"name":"a","type":"error","target":"t","error_rate":-0.1}`,
		`{"name":"a","type":"circuit_breaker","target":"db","duration":"2s"}`,
		`{"name":"a","type":"network_partition","target":"t"}`,
		`{"name":"a","type":"timeout","target":"t"}`,
		`{"name":"a","type":"resource_exhaustion","target":"t","resource_type":"memory","resource_level":0.5}`,
		`{"name":"a","type":"resource_exhaustion","target":"t","resource_type":"cpu","resource_level":0.1,"duration":"1s"}`,
		`{"name":"a","type":"resource_exhaustion","target":"t","resource_type":"gpu","resource_level":0.1}`,
		`{"name":"a","type":"latency","target":"t","delay":"1ms","constitutional_hash":"bad"}`,
		`{"name":"a","type":"latency","target":"t","delay":"1ms","active":true,"created_at":"2026-01-01T00:00:00Z","capped_from":"10m"}`,
		`{"name":"a","type":"latency","target":"t","delay":"1ms"} x`,
		`{"name":"a","type":"latency","target":"t","delay":1}`,
		`{"name":"a","type":"latency","target":"t","delay":"1ms","extra":1}`,
		`{"name":"","type":"","target":""}`,
	} {
		f.Add(seed)
	}
	s := newSystem(f, func(o *ops.Options) { o.MaxBodyBytes = fuzzMaxBody })
	f.Fuzz(func(t *testing.T, body string) {
		defer func() {
			s.eng.EmergencyStop()
			s.eng.Reset()
		}()
		rec := do(t, s.h, "POST", "/chaos/scenarios", body, auth()...)
		parsed, perr := chaos.ParseScenario([]byte(body))
		switch rec.Code {
		case 201:
			if perr != nil || len(body) > fuzzMaxBody {
				t.Fatalf("accepted %q that ParseScenario refuses: %v", body, perr)
			}
			var ans api.Injected
			decode(t, rec, 201, &ans)
			got := ans.Scenario
			if ans.Warnings == nil {
				t.Fatalf("answer without warnings: %s", rec.Body)
			}
			if got.Name != parsed.Name || got.Type != parsed.Type || !got.Active {
				t.Fatalf("answer %+v for %+v", got, parsed)
			}
		case 400, 409, 413:
			env := envelope(t, rec, rec.Code)
			if perr == nil && rec.Code == 400 && env.Field != "target" && len(body) <= fuzzMaxBody {
				t.Fatalf("refused a valid scenario %q: %+v", body, env)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
