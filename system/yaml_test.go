package system_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/system"
)

func TestParseYAML_SameConfigAsJSON(t *testing.T) {
	t.Run("the example files", func(t *testing.T) {
		fromJSON, err := system.Load(filepath.Join("..", "examples", "antifragile.json"))
		if err != nil {
			t.Fatal(err)
		}
		fromYAML, err := system.Load(filepath.Join("..", "examples", "antifragile.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromJSON, fromYAML) {
			t.Fatalf("the YAML example differs from the JSON one:\n%+v\n%+v", fromJSON, fromYAML)
		}
		if fromYAML.Breakers.Named["payments"].OpenTimeout != 10*time.Second {
			t.Errorf("payments open timeout = %s, want 10s", fromYAML.Breakers.Named["payments"].OpenTimeout)
		}
	})
	t.Run("JSON is YAML", func(t *testing.T) {
		fromJSON, err := system.Parse([]byte(fullDoc))
		if err != nil {
			t.Fatal(err)
		}
		fromYAML, err := system.ParseYAML([]byte(fullDoc))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromJSON, fromYAML) {
			t.Fatalf("ParseYAML(JSON) differs from Parse(JSON):\n%+v\n%+v", fromJSON, fromYAML)
		}
	})
}

func TestParseYAML_ProblemsWithPathsAndLines(t *testing.T) {
	doc := `ops:
  listen: 127.0.0.1:0
breakers:
  named:
    payments:
      failure_rate: 2
      open_timeout: 5
recovery:
  policies:
    validator:
      jitter: 3
health:
  weights:
    "a.b": -1
bogus: true
`
	_, err := system.ParseYAML([]byte(doc))
	if err == nil {
		t.Fatal("ParseYAML accepted an invalid document")
	}
	if !errors.Is(err, antifragile.ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false: %v", err)
	}
	want := map[string]string{
		"breakers.named.payments.failure_rate": "(line 6)",
		"breakers.named.payments.open_timeout": "(line 7)",
		"recovery.policies.validator.jitter":   "(line 11)",
		`health.weights["a.b"]`:                "(line 14)",
		"bogus":                                "(line 15)",
	}
	got := map[string]string{}
	for _, p := range problems(t, err) {
		got[p.Field] = p.Err.Error()
	}
	for field, line := range want {
		msg, ok := got[field]
		if !ok {
			t.Errorf("no problem at %s; got %v", field, err)
			continue
		}
		if !strings.HasSuffix(msg, line) {
			t.Errorf("%s: %q does not end with %q", field, msg, line)
		}
	}
	if msg := got["breakers.named.payments.open_timeout"]; !strings.Contains(msg, "unit") {
		t.Errorf("a bare number as a duration: %q does not say it lacks a unit", msg)
	}
}

func TestParseYAML_Refuses(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"duplicate keys", "ops:\n  listen: a\n  listen: b\n", `line 3: key "listen" is already defined at line 2`},
		{"anchors", "breakers:\n  default: &d {open_timeout: 1s}\n  named:\n    a: *d\n", "line 2: anchors and aliases"},
		{"two documents", "ops: {}\n---\nops: {}\n", "line 2: a config file holds one YAML document"},
		{"a non-string key", "health:\n  weights:\n    1: 2\n", "line 3: a mapping key must be a string, not int"},
		{"not a mapping", "- a\n- b\n", "line 1: the document must be a mapping"},
		{"empty", "", "empty"},
		{"syntax", "ops: [\n", "not valid YAML"},
		{"a custom tag", "ops: !thing {}\n", "the tag !thing is not supported"},
		{"infinity", "health:\n  degraded_threshold: .inf\n", "not a finite number"},
		{"too deep", "a:" + strings.Repeat(" [", 40) + strings.Repeat("]", 40) + "\n", "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := system.ParseYAML([]byte(tt.doc))
			if err == nil || c != nil {
				t.Fatalf("ParseYAML = %v, %v; want an error", c, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoad_TooLarge(t *testing.T) {
	for _, name := range []string{"big.json", "big.yaml"} {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte("{}"+strings.Repeat(" ", 17<<20)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := system.Load(path); !errors.Is(err, antifragile.ErrTooLarge) {
			t.Errorf("Load(%s) = %v, want ErrTooLarge", name, err)
		}
	}
}

func FuzzParseYAML(f *testing.F) {
	for _, seed := range []string{"{}", fullDoc, "ops:\n  listen: x\n", "a: &x 1\nb: *x\n", "health:\n  weights:\n    a b: 1\n",
		"breakers:\n  named:\n    a:\n      window: time\n", "- 1\n", "ops: {listen: 1}\n---\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := system.ParseYAML(data)
		if err != nil {
			if cfg != nil {
				t.Fatal("a Config with an error")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseYAML accepted an invalid Config: %v", err)
		}
	})
}
