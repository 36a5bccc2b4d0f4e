package antifragile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/antifragile-go/antifragile"
)

func TestValidateHash(t *testing.T) {
	t.Run("accepts the constitutional hash", func(t *testing.T) {
		if err := antifragile.ValidateHash("cdd01ef066bc6cf2"); err != nil {
			t.Fatalf("ValidateHash: %v", err)
		}
	})
	for _, got := range []string{"", "deadbeefdeadbeef", "cdd01ef066bc6cf", "cdd01ef066bc6cf2 "} {
		t.Run("refuses "+fmt.Sprintf("%q", got), func(t *testing.T) {
			err := antifragile.ValidateHash(got)
			if !errors.Is(err, antifragile.ErrHashMismatch) {
				t.Fatalf("err = %v, want ErrHashMismatch", err)
			}
			var hm *antifragile.HashMismatchError
			if !errors.As(err, &hm) || hm.Got != got || hm.Expected != antifragile.ConstitutionalHash {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestHashMismatchError_Error(t *testing.T) {
	err := antifragile.ValidateHashFor("deadbeefcafebabe", `chaos scenario "x"`)
	want := `constitutional hash mismatch: expected "cdd01ef0...", got "deadbeef..." (context: chaos scenario "x")`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
	short := (&antifragile.HashMismatchError{Expected: "abc", Got: "12345678"}).Error()
	if short != `constitutional hash mismatch: expected "abc", got "12345678"` {
		t.Fatalf("short values must not be abbreviated: %s", short)
	}
}

func TestValidationError(t *testing.T) {
	err := error(antifragile.Invalid("failure_rate", 1.5, "must be within [0, 1]"))
	if err.Error() != "invalid failure_rate 1.5: must be within [0, 1]" {
		t.Fatalf("Error() = %q", err)
	}
	if !errors.Is(err, antifragile.ErrInvalid) {
		t.Fatal("errors.Is(err, ErrInvalid) = false")
	}
	var ve *antifragile.ValidationError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &ve) || ve.Field != "failure_rate" {
		t.Fatalf("errors.As failed: %v", ve)
	}
}

func TestHashOrDefault(t *testing.T) {
	if antifragile.HashOrDefault("") != antifragile.ConstitutionalHash || antifragile.HashOrDefault("x") != "x" {
		t.Fatal("HashOrDefault")
	}
}

func ExampleValidateHash() {
	fmt.Println(antifragile.ValidateHash(antifragile.ConstitutionalHash))
	err := antifragile.ValidateHashFor("deadbeefdeadbeef", "example")
	fmt.Println(err)
	// Output:
	// <nil>
	// constitutional hash mismatch: expected "cdd01ef0...", got "deadbeef..." (context: example)
}

func TestInvalidFields(t *testing.T) {
	err := errors.Join(
		antifragile.Invalid("a", 1, "bad"),
		errors.Join(antifragile.Invalid("b", 2, "bad"), errors.New("other")),
		fmt.Errorf("wrapped: %w", antifragile.Invalid("c", 3, "bad")),
	)
	got := antifragile.InvalidFields(err)
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("InvalidFields = %q", got)
	}
	if n := len(antifragile.Leaves(err)); n != 4 {
		t.Fatalf("Leaves: %d", n)
	}
	if antifragile.Leaves(nil) != nil || antifragile.InvalidFields(nil) != nil {
		t.Fatal("nil error has no leaves")
	}
	if f := antifragile.InvalidFields(antifragile.Invalid("x", 0, "bad")); len(f) != 1 || f[0] != "x" {
		t.Fatalf("single: %q", f)
	}
}

// nameOK is CheckName's rule, written out rune by rune.
func nameOK(name string) bool {
	if strings.TrimSpace(name) == "" || len(name) > antifragile.MaxNameLength || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.Is(unicode.Bidi_Control, r) {
			return false
		}
	}
	return true
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"db", "service-1", " db ", " ", "", "a\tb", "\x1b[31m", "caf\u00e9", "a\u202eb", "\xff",
		strings.Repeat("a", antifragile.MaxNameLength), strings.Repeat("a", antifragile.MaxNameLength+1), "~", "\x7f"} {
		if got := antifragile.CheckName("name", name) == nil; got != nameOK(name) {
			t.Errorf("CheckName(%q) accepts %v, want %v", name, got, nameOK(name))
		}
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"db", " ", "a\x00", "caf\u00e9", "a\u202eb", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got := antifragile.CheckName("name", name) == nil; got != nameOK(name) {
			t.Fatalf("CheckName(%q) accepts %v, want %v", name, got, nameOK(name))
		}
	})
}
