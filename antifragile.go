package antifragile

import (
	"cmp"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ConstitutionalHash is the hash every component of the toolkit validates
// before it starts or acts, and stamps into every report it produces.
const ConstitutionalHash = "cdd01ef066bc6cf2"

// Version is the toolkit's version.
const Version = "0.1.0"

// ErrHashMismatch is the sentinel matched by every constitutional hash
// mismatch: errors.Is(err, ErrHashMismatch) holds for a *HashMismatchError.
var ErrHashMismatch = errors.New("constitutional hash mismatch")

// ErrInvalid is the sentinel matched by every *ValidationError.
var ErrInvalid = errors.New("invalid configuration")

// ErrTooLarge is matched by the error of an input over its size limit: a
// config file, a scenario file, a JSON document.
var ErrTooLarge = errors.New("too large")

// ErrNil is the reason (ValidationError.Err) with which the toolkit refuses,
// where it receives them, a required value that is nil and an interface
// value that holds a nil pointer, map, slice, channel or func (a "typed
// nil", such as a nil *breaker.Breaker in a breaker.StateSource), which
// compares != nil but would panic when used. errors.Is(err, ErrNil) and
// errors.Is(err, ErrInvalid) both hold for such an error; its Field names
// what was refused and its Value, for a typed nil, spells the type, as in
// "(*breaker.Breaker)(nil)".
var ErrNil = errors.New("must not be nil")

// HashMismatchError reports a constitutional hash that is not the expected
// one. Context says where the hash was checked (for example
// `chaos scenario "x"`); it may be empty.
type HashMismatchError struct {
	Expected string
	Got      string
	Context  string
}

// Error reads like
// `constitutional hash mismatch: expected "cdd01ef0...", got "deadbeef..." (context: chaos scenario "x")`.
// Values longer than 8 characters are shown as their first 8 and "...".
func (e *HashMismatchError) Error() string {
	msg := fmt.Sprintf("constitutional hash mismatch: expected %q, got %q", abbreviate(e.Expected), abbreviate(e.Got))
	if e.Context != "" {
		msg += " (context: " + e.Context + ")"
	}
	return msg
}

// Is reports whether target is ErrHashMismatch.
func (e *HashMismatchError) Is(target error) bool { return target == ErrHashMismatch }

func abbreviate(s string) string {
	if len(s) > 8 {
		return s[:8] + "..."
	}
	return s
}

// ValidateHash reports whether got equals ConstitutionalHash, comparing in
// constant time. It returns nil on a match and a *HashMismatchError
// otherwise. It is safe for concurrent use and does not allocate on success.
func ValidateHash(got string) error {
	return ValidateHashFor(got, "")
}

// ValidateHashFor is ValidateHash with a context that the error names, such
// as `chaos scenario "x"`.
func ValidateHashFor(got, context string) error {
	if subtle.ConstantTimeCompare([]byte(got), []byte(ConstitutionalHash)) == 1 {
		return nil
	}
	return &HashMismatchError{Expected: ConstitutionalHash, Got: got, Context: context}
}

// HashOrDefault returns h, or ConstitutionalHash when h is empty. Configs use
// it so that their zero value carries the right hash.
func HashOrDefault(h string) string {
	if h == "" {
		return ConstitutionalHash
	}
	return h
}

// ValidationError reports one invalid field of a configuration, a policy, a
// scenario or a request body. Every package of the toolkit returns it (under
// its own name, as a type alias) so that callers can match any of them with
// errors.As, and errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	// Field names the offending field, as it is spelled in JSON ("open_timeout").
	Field string
	// Value is the rejected value.
	Value any
	// Err says what is wrong; it may wrap a sentinel of the reporting package.
	Err error
}

// Error reads like `invalid failure_rate 1.5: must be within [0, 1]`.
func (e *ValidationError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("invalid %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("invalid %s %v: %v", e.Field, e.Value, e.Err)
}

// Unwrap returns the underlying reason.
func (e *ValidationError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a *ValidationError for field with value and a reason built
// like fmt.Errorf(format, args...).
func Invalid(field string, value any, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Value: value, Err: fmt.Errorf(format, args...)}
}

// Problems collects every problem found while validating one value, so that
// a Validate method reports them all at once. The zero value is ready to use.
type Problems struct{ errs []error }

// Add records err unless it is nil.
func (p *Problems) Add(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Invalid records a *ValidationError for field (see Invalid).
func (p *Problems) Invalid(field string, value any, format string, args ...any) {
	p.errs = append(p.errs, Invalid(field, value, format, args...))
}

// Err returns the problems joined with errors.Join, or nil when there are
// none.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// Leaves returns the errors that err joins — through errors.Join or any
// error with an Unwrap() []error method, recursively — in order, or err
// itself when it joins nothing. It returns nil for a nil err.
func Leaves(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, Leaves(e)...)
	}
	return out
}

// InvalidFields returns the Field of every *ValidationError among err's
// Leaves, in order: what a Validate method found wrong.
func InvalidFields(err error) []string {
	var out []string
	for _, e := range Leaves(err) {
		var ve *ValidationError
		if errors.As(e, &ve) {
			out = append(out, ve.Field)
		}
	}
	return out
}

// InRange records on p a *ValidationError for field unless lo ≤ v ≤ hi,
// saying "must be within [lo, hi]" and why, if why is not empty. Configs
// use it to bound every size and duration, so that no value can exhaust
// memory or overflow the arithmetic built on it.
func InRange[T cmp.Ordered](p *Problems, field string, v, lo, hi T, why string) {
	if v >= lo && v <= hi {
		return
	}
	if why != "" {
		p.Invalid(field, v, "must be within [%v, %v] (%s)", lo, hi, why)
		return
	}
	p.Invalid(field, v, "must be within [%v, %v]", lo, hi)
}

// AtMost records on p a *ValidationError for field when v > max, saying
// "must not exceed max". It is the upper half of InRange for fields whose
// lower bound is checked with its own message.
func AtMost[T cmp.Ordered](p *Problems, field string, v, max T) {
	if v > max {
		p.Invalid(field, v, "must not exceed %v", max)
	}
}

// MaxNameLength bounds the names and targets that callers give the toolkit
// (breakers, agents, services, scenarios), in bytes.
const MaxNameLength = 256

// CheckName returns a *ValidationError for field unless name is a usable
// name: not empty or blank, at most MaxNameLength bytes of valid UTF-8, and
// made of printable characters only — no control characters (NUL, ANSI
// escapes) and no bidirectional overrides, which would let a name rewrite
// the terminal or the logs that show it.
func CheckName(field, name string) error {
	if printableASCII(name) {
		return nil // the common case, without decoding runes
	}
	switch {
	case strings.TrimSpace(name) == "":
		return Invalid(field, name, "must not be empty")
	case len(name) > MaxNameLength:
		return Invalid(field, strconv.QuoteToASCII(name[:32])+"…", "must be at most %d bytes (it has %d)", MaxNameLength, len(name))
	case !utf8.ValidString(name):
		return Invalid(field, strconv.QuoteToASCII(name), "must be valid UTF-8")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.Is(unicode.Bidi_Control, r) {
			return Invalid(field, strconv.QuoteToASCII(name), "must contain printable characters only (found %U)", r)
		}
	}
	return nil
}

// printableASCII reports whether name is a valid name of printable ASCII
// only (U+0020 to U+007E, not all spaces, at most MaxNameLength bytes):
// what CheckName accepts, decided byte by byte. false means CheckName must
// look closer, not that the name is invalid.
func printableASCII(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLength {
		return false
	}
	blank := true
	for i := 0; i < len(name); i++ {
		b := name[i]
		if b < 0x20 || b > 0x7e {
			return false
		}
		blank = blank && b == ' '
	}
	return !blank
}
