package breakerhttp_test

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker/breakerhttp"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{"0120", 2 * time.Minute, true},
		{"99999999999999999999", math.MaxInt64 / time.Second * time.Second, true},
		{"Sun, 01 Mar 2026 12:01:00 GMT", time.Minute, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Sun Mar  1 12:01:00 2026", time.Minute, true},       // asctime
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},            // passed
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{" 5", 0, false},
		{"5s", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		d, ok := breakerhttp.ParseRetryAfter(tt.in, now)
		if d != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, d, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "99999999999999999999", "Sun, 01 Mar 2026 12:01:00 GMT", "", "-1", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := breakerhttp.ParseRetryAfter(s, now)
		if !ok {
			if d != 0 {
				t.Fatalf("ParseRetryAfter(%q) = %v, false; a rejected value must give 0", s, d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v: negative", s, d)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n <= math.MaxInt64/int64(time.Second) && d != time.Duration(n)*time.Second {
			t.Fatalf("ParseRetryAfter(%q) = %v, want %d s", s, d, n)
		}
	})
}
