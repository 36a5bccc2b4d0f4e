package breakerhttp

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// maxRetrySeconds is the largest delay-seconds value that fits a
// time.Duration; larger values are clamped to it.
const maxRetrySeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter parses the value of a Retry-After header (RFC 9110
// §10.2.3) relative to now: either delay-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", or the two obsolete date forms). A date
// that has passed is a delay of 0; a delay beyond what a time.Duration holds
// is clamped to the largest one. It reports false for an empty or malformed
// value. It is safe for concurrent use.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > maxRetrySeconds { // only overflow fails on digits
			return time.Duration(maxRetrySeconds) * time.Second, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
