package config_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/config"
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
		file, err := config.Parse(data)
		if err != nil {
			if file != nil {
				t.Fatal("a File with an error")
			}
			return
		}
		// A parsed File is valid, and so is every Config it converts to.
		if err := file.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid File: %v", err)
		}
		if _, err := breaker.NewRegistry(file.RegistryConfig()); err != nil {
			t.Fatalf("registry: %v", err)
		}
		for name := range file.Breakers.Named {
			if err := file.BreakerConfig(name).Validate(); err != nil {
				t.Fatalf("breaker %q: %v", name, err)
			}
		}
		for _, err := range []error{file.HealthConfig().Validate(), file.RecoveryConfig().Validate(), file.ChaosConfig().Validate(), file.MeterConfig().Validate()} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := file.SinkTarget(); err != nil {
			t.Fatal(err)
		}
		// Marshalling and parsing again gives the same File.
		out, err := json.Marshal(file)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := config.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(f)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(file, again) {
			t.Fatalf("round trip changed the File:\n%+v\n%+v", file, again)
		}
	})
}
