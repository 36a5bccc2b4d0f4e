package nilcheck

import (
	"fmt"
	"reflect"

	"github.com/antifragile-go/antifragile"
)

// Typed reports whether v is a typed nil: a non-nil interface value whose
// dynamic value is a nil pointer, map, slice, channel, func or
// unsafe.Pointer. An untyped nil (v == nil) is not a typed nil. It is safe
// for concurrent use.
//
// Passing a value of a func, pointer, map, slice or channel type (rather
// than of an interface type) boxes it, so a nil one is reported as a typed
// nil: use Required for those.
func Typed(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// Required returns nil when v holds a usable value, and otherwise a
// *antifragile.ValidationError for field whose Err is antifragile.ErrNil:
// for an untyped nil (Value nil) and for a typed nil (Value names the type,
// as in "(*breaker.Breaker)(nil)"). Use it for a value that must be set.
func Required(field string, v any) error {
	if v == nil {
		return &antifragile.ValidationError{Field: field, Err: antifragile.ErrNil}
	}
	return Optional(field, v)
}

// Optional is Required for a value of an interface type that may be left
// nil (meaning a default): it refuses only a typed nil. Do not use it for a
// field of a func or pointer type, whose nil boxes into a typed nil.
func Optional(field string, v any) error {
	if !Typed(v) {
		return nil
	}
	return &antifragile.ValidationError{Field: field, Value: Describe(v), Err: antifragile.ErrNil}
}

// Describe spells a typed nil as Go source would convert it, for example
// "(*breaker.Breaker)(nil)" or "(metering.SinkFunc)(nil)".
func Describe(v any) string { return fmt.Sprintf("(%T)(nil)", v) }
