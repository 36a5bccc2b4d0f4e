package chaos_test

import (
	"slices"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
)

func TestDecodeRequest(t *testing.T) {
	base := chaos.Scenario{Name: "default-name", Duration: 7 * time.Second}
	t.Run("absent members keep the base's values", func(t *testing.T) {
		sc, err := chaos.DecodeRequest([]byte(`{"type":"latency","target":"db","delay":"250ms"}`), base)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != "default-name" || sc.Duration != 7*time.Second || sc.Delay != 250*time.Millisecond || sc.Target != "db" {
			t.Errorf("scenario = %+v", sc)
		}
		if err := sc.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("present members win", func(t *testing.T) {
		sc, err := chaos.DecodeRequest([]byte(`{"name":"n","type":"timeout","target":"db","duration":"1s","blast_radius":[]}`), base)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != "n" || sc.Duration != time.Second || sc.BlastRadius != nil {
			t.Errorf("scenario = %+v", sc)
		}
	})
	t.Run("the members the engine sets are refused, with every other problem", func(t *testing.T) {
		_, err := chaos.DecodeRequest([]byte(`{"type":"latency","target":"db","delay":5,"active":true,
			"created_at":"2026-01-01T00:00:00Z","capped_from":"10m","bogus":1}`), base)
		got := antifragile.InvalidFields(err)
		for _, want := range []string{"delay", "active", "created_at", "capped_from", "bogus"} {
			if !slices.Contains(got, want) {
				t.Errorf("no problem at %q; got %q (%v)", want, got, err)
			}
		}
	})
	t.Run("not an object", func(t *testing.T) {
		if _, err := chaos.DecodeRequest([]byte(`[1]`), base); err == nil {
			t.Error("DecodeRequest([1]) succeeded")
		}
		if _, err := chaos.DecodeRequest([]byte(`{"type":`), base); err == nil {
			t.Error("DecodeRequest of malformed JSON succeeded")
		}
	})
}
