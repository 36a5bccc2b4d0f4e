package health_test

import (
	"encoding/json"
	"testing"

	"github.com/antifragile-go/antifragile/health"
)

func TestStatus_String(t *testing.T) {
	tests := []struct {
		s    health.Status
		want string
	}{
		{health.Unknown, "UNKNOWN"},
		{health.Healthy, "HEALTHY"},
		{health.Degraded, "DEGRADED"},
		{health.Critical, "CRITICAL"},
		{health.Status(9), "STATUS(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStatus_MarshalText(t *testing.T) {
	t.Run("round trips every status through JSON", func(t *testing.T) {
		for _, s := range []health.Status{health.Unknown, health.Healthy, health.Degraded, health.Critical} {
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != `"`+s.String()+`"` {
				t.Errorf("Marshal(%v) = %s", s, b)
			}
			var got health.Status
			if err := json.Unmarshal(b, &got); err != nil || got != s {
				t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, got, err, s)
			}
		}
	})
	t.Run("refuses an out-of-range status", func(t *testing.T) {
		if _, err := health.Status(7).MarshalText(); err == nil {
			t.Error("MarshalText(7) succeeded")
		}
	})
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in      string
		want    health.Status
		wantErr bool
	}{
		{"HEALTHY", health.Healthy, false},
		{"degraded", health.Degraded, false},
		{"Critical", health.Critical, false},
		{"UNKNOWN", health.Unknown, false},
		{"", health.Unknown, true},
		{"OK", health.Unknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := health.ParseStatus(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseStatus(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"HEALTHY", "degraded", "CRITICAL", "unknown", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := health.ParseStatus(in)
		if err != nil {
			return
		}
		// A parsed status prints back to the same text, up to case.
		again, err := health.ParseStatus(s.String())
		if err != nil || again != s {
			t.Fatalf("ParseStatus(%q) = %v, but ParseStatus(%q) = %v, %v", in, s, s.String(), again, err)
		}
		var u health.Status
		if err := u.UnmarshalText([]byte(in)); err != nil || u != s {
			t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", in, u, err, s)
		}
	})
}

func TestScore_MarshalJSON(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{2.0 / 3, "0.667"},
		{1.0 / 3, "0.333"},
		{0.7, "0.7"},
		{0.6995, "0.7"},
		{0.69, "0.69"},
		{1, "1"},
		{0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			b, err := json.Marshal(health.Score(tt.in))
			if err != nil || string(b) != tt.want {
				t.Errorf("Marshal(%v) = %s, %v; want %s", tt.in, b, err, tt.want)
			}
		})
	}
}
