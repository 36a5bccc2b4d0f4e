package nilcheck_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"unsafe"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type stater interface{ State() int }

type ptrStater struct{ s int }

func (p *ptrStater) State() int { return p.s }

type funcStater func() int

func (f funcStater) State() int { return f() }

type mapStater map[string]int

func (m mapStater) State() int { return len(m) }

type valueStater int

func (v valueStater) State() int { return int(v) }

func TestTyped(t *testing.T) {
	var nilPtr *ptrStater
	var nilFunc funcStater
	var nilMap mapStater
	var nilIface stater
	var nilWriter io.Writer
	for _, tc := range []struct {
		name string
		v    any
		want bool
	}{
		{"an untyped nil is not a typed nil", nil, false},
		{"a nil interface variable is not a typed nil", nilIface, false},
		{"a nil io.Writer is not a typed nil", nilWriter, false},
		{"a nil pointer in an interface is", stater(nilPtr), true},
		{"a nil func in an interface is", stater(nilFunc), true},
		{"a nil map in an interface is", stater(nilMap), true},
		{"a nil slice is", []int(nil), true},
		{"a nil channel is", (chan int)(nil), true},
		{"a nil unsafe.Pointer is", unsafe.Pointer(nil), true},
		{"a non-nil pointer is not", stater(&ptrStater{}), false},
		{"a non-nil func is not", stater(funcStater(func() int { return 1 })), false},
		{"an empty non-nil map is not", stater(mapStater{}), false},
		{"a zero value of a non-nilable type is not", stater(valueStater(0)), false},
		{"a zero struct is not", struct{}{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nilcheck.Typed(tc.v); got != tc.want {
				t.Errorf("Typed(%#v) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	var nilPtr *ptrStater
	var nilIface stater
	for _, tc := range []struct {
		name      string
		v         any
		wantValue any // nil for a nil Value
		wantMsg   string
	}{
		{"refuses an untyped nil", nilIface, nil, "invalid source: must not be nil"},
		{"refuses a typed nil naming its type", stater(nilPtr), "(*nilcheck_test.ptrStater)(nil)",
			"invalid source (*nilcheck_test.ptrStater)(nil): must not be nil"},
		{"refuses a nil func", (func())(nil), "(func())(nil)", "invalid source (func())(nil): must not be nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := nilcheck.Required("source", tc.v)
			var ve *antifragile.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.Field != "source" || ve.Value != tc.wantValue {
				t.Errorf("field %q value %#v, want source and %#v", ve.Field, ve.Value, tc.wantValue)
			}
			if !errors.Is(err, antifragile.ErrNil) || !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("errors.Is ErrNil %v, ErrInvalid %v; want both", errors.Is(err, antifragile.ErrNil), errors.Is(err, antifragile.ErrInvalid))
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("Error() = %q, want %q", err, tc.wantMsg)
			}
		})
	}
	t.Run("accepts a usable value", func(t *testing.T) {
		if err := nilcheck.Required("source", stater(&ptrStater{})); err != nil {
			t.Error(err)
		}
		if err := nilcheck.Required("source", func() {}); err != nil {
			t.Error(err)
		}
	})
}

func TestOptional(t *testing.T) {
	var nilPtr *ptrStater
	var nilIface stater
	t.Run("accepts an untyped nil", func(t *testing.T) {
		if err := nilcheck.Optional("sink", nilIface); err != nil {
			t.Error(err)
		}
	})
	t.Run("accepts a usable value", func(t *testing.T) {
		if err := nilcheck.Optional("sink", stater(valueStater(3))); err != nil {
			t.Error(err)
		}
	})
	t.Run("refuses a typed nil", func(t *testing.T) {
		err := nilcheck.Optional("sink", stater(nilPtr))
		var ve *antifragile.ValidationError
		if !errors.As(err, &ve) || ve.Field != "sink" || !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("err = %#v", err)
		}
	})
}

func ExampleRequired() {
	var b *ptrStater // say, the result of a failed lookup
	var src stater = b
	fmt.Println(src != nil)
	fmt.Println(nilcheck.Required("source", src))
	// Output:
	// true
	// invalid source (*nilcheck_test.ptrStater)(nil): must not be nil
}
