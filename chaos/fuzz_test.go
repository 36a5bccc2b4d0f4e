package chaos_test

import (
	"encoding/json"
	"testing"

	"github.com/antifragile-go/antifragile/chaos"
)

func FuzzParseScenario(f *testing.F) {
	f.Add([]byte(`{"name":"latency_db_250ms","type":"latency","target":"db","delay":"250ms","duration":"10s"}`))
	f.Add([]byte(`{"name":"e","type":"error","target":"db","error_rate":0.5,"error_message":"x","blast_radius":["a","b"]}`))
	f.Add([]byte(`{"name":"r","type":"resource_exhaustion","target":"h","resource_type":"cpu","resource_level":1,"created_at":"2025-01-01T00:00:00+02:00","capped_from":"500s"}`))
	f.Add([]byte(`{"name":"t","type":"timeout","target":"db","active":true,"constitutional_hash":"cdd01ef066bc6cf2"}`))
	f.Add([]byte(`{"name":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := chaos.ParseScenario(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseScenario accepted an invalid scenario: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := chaos.ParseScenario(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !equalScenarios(s, back) {
			t.Fatalf("round trip changed the scenario:\n%+v\n%+v", s, back)
		}
	})
}
