package antifragile

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

// Duration is a time.Duration whose JSON (and text) form is a string such as
// "250ms" or "1m30s": time.Duration.String on the way out, ParseDuration on
// the way in. It is the one duration codec of the toolkit: every config,
// report and wire type that carries a duration in JSON uses it (configs keep
// time.Duration fields and reach it through their JSON methods).
type Duration time.Duration

// errDurationNumber is the reason a bare JSON number is refused.
var errDurationNumber = errors.New(`must be a duration string such as "250ms" or "1m30s", not a number (a bare number has no unit)`)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns time.Duration(d).String().
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText decodes a string such as "250ms" with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON decodes a JSON string with ParseDuration; null leaves d
// unchanged. A bare number is refused with an error that names the units to
// use: 1000 could mean milliseconds or nanoseconds.
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
		return d.UnmarshalText([]byte(s))
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		return errDurationNumber
	}
	return fmt.Errorf(`must be a duration string such as "250ms" or "1m30s", not %s`, b)
}

// ParseDuration parses a duration string such as "250ms", "1.5s" or
// "1m30s" (surrounding spaces allowed), with an error that says what is
// expected.
func ParseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf(`cannot parse %q as a duration: want a string such as "250ms" or "1m30s" (units ns, us, ms, s, m, h)`, s)
	}
	return Duration(v), nil
}

// ByteSize is a number of bytes whose JSON form is a number or a string
// with a unit such as "256MiB" or "1.5GB"; it is written as a number.
type ByteSize int64

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// UnmarshalJSON decodes a whole number of bytes or a string with a unit
// (ParseByteSize); null leaves s unchanged.
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
	}
	return fmt.Errorf(`must be a number of bytes or a string such as "256MiB", not %s`, b)
}

// MarshalJSON writes the number of bytes.
func (s ByteSize) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(s), 10), nil
}

// ParseByteSize parses "1024", "512KiB", "256MiB", "1.5GB" and the like
// (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, case-insensitive).
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
