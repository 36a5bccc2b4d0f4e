package natssink

import (
	"testing"
)

// FuzzAggregate: a stored message is untrusted input (anyone may publish
// on the subject); aggregate never panics, and what it accepts has only
// non-negative sums.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte(`{"id":"a","tenant_id":"acme","operation":"agent_message","tokens_processed":3,"latency_ms":1.5,"compliance_score":1,"outcome":"ok"}` + "\n"))
	f.Add([]byte("not json\n"))
	f.Add([]byte("{}\n{}\n"))
	s := &Sink{}
	f.Fuzz(func(t *testing.T, data []byte) {
		aggs, ok := s.aggregate(data)
		if !ok {
			return
		}
		for tenant, a := range aggs {
			if tenant == "" || a.Count < 0 || a.Tokens < 0 || a.LatencyNs < 0 || a.ComplianceMicros < 0 {
				t.Fatalf("%q: %+v", tenant, a)
			}
		}
	})
}
