package chaos_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
)

// TestIssue13_StrictScenarios: a scenario's JSON is read strictly, and its
// names are printable and bounded.
func TestIssue13_StrictScenarios(t *testing.T) {
	cases := []struct {
		name, in, field string
	}{
		{"keys are case-sensitive", `{"Name":"n","type":"timeout","target":"db"}`, "Name"},
		{"a duplicate key is refused", `{"name":"a","name":"b","type":"timeout","target":"db"}`, "name"},
		{"a NUL in the name", `{"name":"a\u0000b","type":"timeout","target":"db"}`, "name"},
		{"an ANSI escape in the target", `{"name":"n","type":"timeout","target":"\u001b[31mred"}`, "target"},
		{"a right-to-left override", `{"name":"n\u202egnp.exe","type":"timeout","target":"db"}`, "name"},
		{"a 100,000-character name", `{"name":"` + strings.Repeat("n", 100_000) + `","type":"timeout","target":"db"}`, "name"},
		{"a delay beyond the cap", `{"name":"n","type":"latency","target":"db","delay":"2562047h"}`, "delay"},
		{"a blast radius with a control character", `{"name":"n","type":"timeout","target":"db","blast_radius":["ok","b\u0007"]}`, "blast_radius[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := chaos.ParseScenario([]byte(c.in))
			if !slices.Contains(antifragile.InvalidFields(err), c.field) {
				t.Fatalf("ParseScenario = %v, want a problem at %q", err, c.field)
			}
		})
	}
	t.Run("invalid UTF-8 is refused, not replaced", func(t *testing.T) {
		if _, err := chaos.ParseScenario([]byte("{\"name\":\"a\xffb\",\"type\":\"timeout\",\"target\":\"db\"}")); err == nil ||
			!strings.Contains(err.Error(), "UTF-8") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a name with spaces and accents is fine", func(t *testing.T) {
		if _, err := chaos.ParseScenario([]byte(`{"name":"slow café orders","type":"timeout","target":"db"}`)); err != nil {
			t.Fatal(err)
		}
	})
}
