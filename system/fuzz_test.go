package system_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/antifragile-go/antifragile/system"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{}`, fullDoc, `{"ops":{"listen":"x"}}`, `{"breakers":{"named":{"a":{"window":"time"}}}}`,
		`{"health":{"weights":{"a b":1}}}`, `{"metering":{"sink":"redis://u:p@h:1/2"}}`,
		`{"chaos":{"memory_cap_bytes":"1.5GiB"}}`, `{"recovery":{"policies":{"v":{"strategy":"manual"}}}}`,
		`{"ops":{"ready_statuses":["critical"]},"ops":{}}`, `[1,2]`, `{"a":`, `{"bus":{"mailbox_size":1e400}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := system.Parse(data)
		if err != nil {
			if cfg != nil {
				t.Fatal("a Config with an error")
			}
			return
		}
		// A parsed Config is valid, every breaker config it gives too.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid Config: %v", err)
		}
		for name := range cfg.Breakers.Named {
			if err := cfg.BreakerConfig(name).Validate(); err != nil {
				t.Fatalf("breaker %q: %v", name, err)
			}
		}
		if _, err := cfg.SinkTarget(); err != nil {
			t.Fatal(err)
		}
		// Marshalling and parsing again gives the same Config.
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := system.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(c)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the Config:\n%+v\n%+v", cfg, again)
		}
	})
}
