package codec_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// inner owns its JSON form through the codec, as a domain Config does.
type inner struct {
	Timeout time.Duration `json:"timeout"`
	Size    int           `json:"size"`
	Name    string        `json:"name,omitempty"`
	Skip    func()        `json:"-"`
}

type plainInner inner

func (c inner) MarshalJSON() ([]byte, error)  { return codec.Encode(plainInner(c)) }
func (c *inner) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainInner)(c)) }

type section struct {
	Inner inner            `json:",inline"`
	Extra bool             `json:"extra"`
	Named map[string]inner `json:"named"`
}

type doc struct {
	Section section          `json:"section"`
	List    []inner          `json:"list"`
	Weights map[string]int   `json:"weights"`
	Every   []time.Duration  `json:"every"`
	Ptr     *inner           `json:"ptr,omitempty"`
	At      time.Time        `json:"at,omitzero"`
	Meta    map[string]inner `json:"meta,omitempty"`
}

func fields(err error) []string {
	f := antifragile.InvalidFields(err)
	slices.Sort(f)
	return f
}

func TestDecode(t *testing.T) {
	t.Run("a full document round-trips", func(t *testing.T) {
		in := doc{
			Section: section{Inner: inner{Timeout: 1500 * time.Millisecond, Size: 3}, Extra: true,
				Named: map[string]inner{"b": {Timeout: time.Minute}, "a.b": {Size: 1}}},
			List:    []inner{{Name: "x"}},
			Weights: map[string]int{"z": 1, "a": 2},
			Every:   []time.Duration{time.Second, 90 * time.Second},
			At:      time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC),
		}
		b, err := codec.Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"section":{"timeout":"1.5s","size":3,"extra":true,"named":{"a.b":{"timeout":"0s","size":1},"b":{"timeout":"1m0s","size":0}}},` +
			`"list":[{"timeout":"0s","size":0,"name":"x"}],"weights":{"a":2,"z":1},"every":["1s","1m30s"],"at":"2026-12-02T00:00:00Z"}`
		if string(b) != want {
			t.Fatalf("Encode =\n%s\nwant\n%s", b, want)
		}
		var out doc
		if err := codec.Decode(b, &out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip:\n%+v\nwant\n%+v", out, in)
		}
		if std, _ := json.Marshal(in.Section.Inner); string(std) != `{"timeout":"1.5s","size":3}` {
			t.Fatalf("encoding/json uses the type's own form: %s", std)
		}
	})
	t.Run("absent fields keep their values", func(t *testing.T) {
		d := doc{Section: section{Inner: inner{Size: 7, Timeout: time.Second}}}
		if err := codec.Decode([]byte(`{"section":{"timeout":"2s"}}`), &d); err != nil {
			t.Fatal(err)
		}
		if d.Section.Inner.Size != 7 || d.Section.Inner.Timeout != 2*time.Second {
			t.Fatalf("%+v", d.Section.Inner)
		}
	})
	tests := []struct {
		name, in string
		fields   []string
		msg      string
	}{
		{"unknown field", `{"sektion":{}}`, []string{"sektion"}, "known fields here: at, every, list"},
		{"keys are case-sensitive", `{"Section":{}}`, []string{"Section"}, "unknown field"},
		{"duplicate key", `{"weights":{},"weights":{}}`, []string{"weights"}, "duplicate field"},
		{"unknown inside an inline type names every field", `{"section":{"timout":"1s"}}`, []string{"section.timout"}, "known fields here: extra, name, named, size, timeout"},
		{"bad duration inside a self-decoding type keeps its path", `{"section":{"named":{"db":{"timeout":"soon"}}}}`, []string{"section.named.db.timeout"}, `"250ms"`},
		{"a bare number is not a duration", `{"every":[1000]}`, []string{"every[0]"}, "unit"},
		{"wrong type", `{"list":[{"size":"big"}]}`, []string{"list[0].size"}, "whole number"},
		{"out of range", `{"weights":{"a":1e40}}`, []string{"weights.a"}, "whole number"},
		{"every problem at once", `{"sektion":1,"list":3,"weights":{"x":"y"}}`, []string{"list", "sektion", "weights.x"}, ""},
		{"odd map key is quoted", `{"weights":{"a b":true}}`, []string{`weights["a b"]`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := codec.Decode([]byte(tt.in), &d)
			if got := fields(err); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %q, want %q (err: %v)", got, tt.fields, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %q does not say %q", err, tt.msg)
			}
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatal("not an antifragile.ErrInvalid")
			}
		})
	}
	t.Run("malformed JSON gives line and column", func(t *testing.T) {
		err := codec.Decode([]byte("{\n  \"list\": [,]\n}"), &doc{})
		if err == nil || !strings.Contains(err.Error(), "line 2, column") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("invalid UTF-8 is refused", func(t *testing.T) {
		err := codec.Decode([]byte("{\"weights\":{\"a\xff\":1}}"), &doc{})
		if err == nil || !strings.Contains(err.Error(), "invalid UTF-8 at line 1, column 14") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := make([]byte, codec.MaxDocument+1)
		if err := codec.Decode(big, &doc{}); !errors.Is(err, codec.ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("needs a pointer", func(t *testing.T) {
		if err := codec.Decode([]byte(`{}`), doc{}); err == nil {
			t.Fatal("a non-pointer was accepted")
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"section":{"timeout":"1s","named":{"a":{"size":1}}},"every":["1s"]}`))
	f.Add([]byte(`{"list":[{"name":"x"}],"weights":{"a":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		if err := codec.Decode(data, &d); err != nil {
			return
		}
		// What decodes cleanly encodes and decodes to the same value.
		b, err := codec.Encode(d)
		if err != nil {
			t.Fatalf("Encode of a decoded value: %v", err)
		}
		var again doc
		if err := codec.Decode(b, &again); err != nil {
			t.Fatalf("Decode of %s: %v", b, err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(d)) {
			t.Fatalf("round trip of %s:\n%+v\n%+v", b, again, d)
		}
	})
}

// normalize makes nil and empty collections equal, as omitempty does.
func normalize(d doc) doc {
	if len(d.Meta) == 0 {
		d.Meta = nil
	}
	if d.Ptr != nil && d.Ptr.Timeout == 0 && d.Ptr.Size == 0 && d.Ptr.Name == "" {
		d.Ptr = nil
	}
	return d
}
