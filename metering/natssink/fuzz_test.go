package natssink_test

import (
	"encoding/json"
	"testing"

	"github.com/antifragile-go/antifragile/metering/natssink"
)

// FuzzConfig: any JSON either fails to decode or gives a Config that
// Validate accepts or refuses without panicking, and a valid one
// round-trips.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"stream":"S","subject":"a.b","duplicate_window":"2m","max_age":"1h","replicas":3}`))
	f.Add([]byte(`{"max_bytes":-1,"max_age":"-1s","batch_ttl":"24h","fold_interval":"10ms"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c natssink.Config
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back natssink.Config
		if err := json.Unmarshal(out, &back); err != nil || back != c {
			t.Fatalf("round trip of %s: %+v, %v", out, back, err)
		}
	})
}
