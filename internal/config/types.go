package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in JSON as a string that
// time.ParseDuration accepts, such as "250ms", "1.5s" or "1m30s". A JSON
// number is refused (a bare number has no unit); null leaves the value
// unchanged. It marshals as its String form.
type Duration time.Duration

// errDurationNumber is the reason a JSON number is refused as a Duration.
var errDurationNumber = errors.New(`must be a duration string such as "250ms" or "1m30s", not a number (a bare number has no unit)`)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the time.Duration form, such as "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes d as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

// UnmarshalJSON decodes a string such as "250ms". null is a no-op; any
// other JSON value is an error saying what is expected.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		return errDurationNumber
	default:
		return fmt.Errorf(`must be a duration string such as "250ms" or "1m30s", not %s`, jsonKind(b))
	}
}

// ParseDuration parses s as time.ParseDuration does, with an error that
// says what is expected.
func ParseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf(`cannot parse %q as a duration: want a string such as "250ms" or "1m30s" (units ns, us, ms, s, m, h)`, s)
	}
	return Duration(v), nil
}

// ByteSize is a number of bytes. In JSON it is either an integer (bytes) or
// a string with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB,
// GiB, TiB (powers of 1024), case-insensitive, with an optional fraction
// and space: "256MiB", "1.5 GB", "4096". null leaves the value unchanged.
// It marshals as an integer.
type ByteSize int64

// byteUnits maps lower-case unit suffixes to their multipliers.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// UnmarshalJSON decodes an integer or a string with a unit.
func (s *ByteSize) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		v, err := ParseByteSize(str)
		if err != nil {
			return err
		}
		*s = v
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf(`must be a whole number of bytes or a string such as "256MiB", not %s`, b)
		}
		*s = ByteSize(v)
		return nil
	default:
		return fmt.Errorf(`must be a number of bytes or a string such as "256MiB", not %s`, jsonKind(b))
	}
}

// MarshalJSON encodes s as an integer number of bytes.
func (s ByteSize) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(s), 10), nil
}

// ParseByteSize parses a size such as "256MiB", "1.5GB", "4096" or
// "-1" (negative sizes parse; the fields that take them say whether they
// are valid).
func ParseByteSize(str string) (ByteSize, error) {
	bad := func() (ByteSize, error) {
		return 0, fmt.Errorf(`cannot parse %q as a size: want bytes or a number with a unit such as "512KiB", "256MiB", "1GB" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`, str)
	}
	s := strings.TrimSpace(str)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := byteUnits[unit]
	if !ok || num == "" || num == "-" || num == "+" {
		return bad()
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || (n != 0 && (n > math.MaxInt64/mult || n < math.MinInt64/mult)) {
			return bad()
		}
		return ByteSize(n * mult), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return bad()
	}
	v := math.Round(f * float64(mult))
	if math.IsNaN(v) || v >= math.MaxInt64 || v <= math.MinInt64 {
		return bad()
	}
	return ByteSize(v), nil
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "empty input"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '"':
		return "a string"
	default:
		return "a number"
	}
}
