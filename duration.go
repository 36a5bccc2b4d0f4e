package antifragile

import (
	"fmt"
	"time"
)

// Duration is a time.Duration whose JSON (and text) form is a string such as
// "250ms" or "1m30s": time.Duration.String on the way out, time.ParseDuration
// on the way in. It is the one duration codec of the toolkit: every config,
// report and wire type that carries a duration uses it.
type Duration time.Duration

// MarshalText encodes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText decodes a string such as "250ms" with time.ParseDuration. A
// bare number is refused with an error that names the units to use.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, such as \"250ms\", \"10s\" or \"1m30s\"", b)
	}
	*d = Duration(v)
	return nil
}

// String returns time.Duration(d).String().
func (d Duration) String() string { return time.Duration(d).String() }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
