package antifragile_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
)

func TestDuration_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    antifragile.Duration
		wantErr bool
	}{
		{"string with unit", `"250ms"`, antifragile.Duration(250 * time.Millisecond), false},
		{"compound string", `"1m30s"`, antifragile.Duration(90 * time.Second), false},
		{"zero string", `"0"`, 0, false},
		{"negative string parses", `"-1s"`, antifragile.Duration(-time.Second), false},
		{"null is a no-op", `null`, antifragile.Duration(7), false},
		{"number is refused", `250`, 0, true},
		{"negative number is refused", `-1`, 0, true},
		{"string without unit is refused", `"250"`, 0, true},
		{"garbage string is refused", `"soon"`, 0, true},
		{"empty string is refused", `""`, 0, true},
		{"boolean is refused", `true`, 0, true},
		{"object is refused", `{}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := antifragile.Duration(7)
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && d != tt.want {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, d, tt.want)
			}
			if tt.wantErr && d != 7 {
				t.Errorf("a failed Unmarshal changed the value to %v", d)
			}
		})
	}
}

func TestDuration_MarshalJSON(t *testing.T) {
	b, err := json.Marshal(antifragile.Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Fatalf("Marshal = %s, %v; want \"1m30s\"", b, err)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    antifragile.ByteSize
		wantErr bool
	}{
		{"4096", 4096, false},
		{"0", 0, false},
		{"100B", 100, false},
		{"1KB", 1000, false},
		{"1kib", 1024, false},
		{"256MiB", 256 << 20, false},
		{"1.5 GiB", 3 << 29, false},
		{"2GB", 2e9, false},
		{"1TiB", 1 << 40, false},
		{" 8 MB ", 8e6, false},
		{"-1MiB", -(1 << 20), false},
		{"", 0, true},
		{"MiB", 0, true},
		{"12 parsecs", 0, true},
		{"1.2.3MB", 0, true},
		{"9999999TiB", 0, true},
		{"-", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := antifragile.ParseByteSize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseByteSize(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseByteSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestByteSize_JSON(t *testing.T) {
	t.Run("accepts a number and a string with a unit", func(t *testing.T) {
		var v struct{ A, B antifragile.ByteSize }
		if err := json.Unmarshal([]byte(`{"A": 1024, "B": "2KiB"}`), &v); err != nil {
			t.Fatal(err)
		}
		if v.A != 1024 || v.B != 2048 {
			t.Fatalf("got %d, %d; want 1024, 2048", v.A, v.B)
		}
	})
	t.Run("refuses fractions of a byte and booleans", func(t *testing.T) {
		for _, in := range []string{`1.5`, `true`, `[]`, `"lots"`} {
			var s antifragile.ByteSize
			if err := json.Unmarshal([]byte(in), &s); err == nil {
				t.Errorf("Unmarshal(%s) succeeded with %d", in, s)
			}
		}
	})
	t.Run("marshals as a number", func(t *testing.T) {
		b, _ := json.Marshal(antifragile.ByteSize(1 << 20))
		if string(b) != "1048576" {
			t.Fatalf("Marshal = %s", b)
		}
	})
}
