package api_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
)

func TestInjected_JSON(t *testing.T) {
	sc := chaos.LatencyScenario("db", time.Millisecond, 5*time.Minute)
	sc.CappedFrom = 10 * time.Minute
	sc.Active = true
	sc.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	plain, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the scenario's fields byte for byte, then warnings", func(t *testing.T) {
		got, err := api.Marshal(api.Injected{Scenario: sc, Warnings: []string{"a <b>"}})
		if err != nil {
			t.Fatal(err)
		}
		want := append(bytes.TrimSuffix(plain, []byte("}")), `,"warnings":["a <b>"]}`...)
		if !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("no warnings is an empty list", func(t *testing.T) {
		got, _ := api.Marshal(api.Injected{Scenario: sc})
		if !bytes.HasSuffix(got, []byte(`,"warnings":[]}`)) {
			t.Fatalf("%s", got)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		in := api.Injected{Scenario: sc, Warnings: []string{"w1", "w2"}}
		b, _ := json.Marshal(in)
		var out api.Injected
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out.Warnings, in.Warnings) || out.Scenario.Name != sc.Name || out.Scenario.CappedFrom != sc.CappedFrom || !out.Scenario.CreatedAt.Equal(sc.CreatedAt) {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("an answer without warnings decodes", func(t *testing.T) {
		var out api.Injected
		if err := json.Unmarshal(plain, &out); err != nil || out.Warnings != nil || out.Scenario.Name != sc.Name {
			t.Fatalf("%+v, %v", out, err)
		}
	})
	t.Run("unknown fields and bad warnings are refused", func(t *testing.T) {
		for _, body := range []string{
			`{"name":"x","type":"latency","target":"t","extra":1,"warnings":[]}`,
			`{"name":"x","type":"latency","target":"t","warnings":"no"}`,
			`[]`,
		} {
			var out api.Injected
			if err := json.Unmarshal([]byte(body), &out); err == nil {
				t.Errorf("accepted %s", body)
			}
		}
	})
}
