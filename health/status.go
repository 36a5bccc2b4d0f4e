package health

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Status is the overall health of the watched breakers. The zero value is
// Unknown.
type Status uint8

const (
	// Unknown means the aggregator cannot tell: it is disabled or has not
	// collected yet.
	Unknown Status = iota
	// Healthy means the score is at least the degraded threshold.
	Healthy
	// Degraded means the score is below the degraded threshold and at least
	// the critical threshold.
	Degraded
	// Critical means the score is below the critical threshold.
	Critical
)

var statusNames = [...]string{"UNKNOWN", "HEALTHY", "DEGRADED", "CRITICAL"}

// String returns "UNKNOWN", "HEALTHY", "DEGRADED" or "CRITICAL".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("STATUS(%d)", uint8(s))
}

// ParseStatus parses the String form of a Status, ignoring case.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if strings.EqualFold(n, s) {
			return Status(i), nil
		}
	}
	return Unknown, fmt.Errorf("health: unknown status %q (want one of HEALTHY, DEGRADED, CRITICAL, UNKNOWN)", s)
}

// MarshalText encodes the status as its String form.
func (s Status) MarshalText() ([]byte, error) {
	if int(s) >= len(statusNames) {
		return nil, fmt.Errorf("health: invalid status %d", uint8(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText decodes the String form of a status, ignoring case.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Score is a health score or a share of one, within [0, 1]. It is an exact
// float64 in Go; its JSON form is rounded to 3 decimals (2/3 → 0.667).
type Score float64

// MarshalJSON encodes the score rounded to 3 decimals.
func (s Score) MarshalJSON() ([]byte, error) {
	f := float64(s)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("health: invalid score %v", f)
	}
	return strconv.AppendFloat(nil, math.Round(f*1000)/1000, 'f', -1, 64), nil
}
