package gameday_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/gameday"
)

// refusesNil checks that err is a *ValidationError for field wrapping
// antifragile.ErrNil.
func refusesNil(t *testing.T, err error, field string) {
	t.Helper()
	if !slices.Contains(antifragile.InvalidFields(err), field) || !errors.Is(err, antifragile.ErrNil) {
		t.Fatalf("err = %v, want a *ValidationError for %s wrapping ErrNil", err, field)
	}
}

func TestRun_TypedNil(t *testing.T) {
	sc := mustParse(t, threePhases)
	t.Run("refuses a typed-nil target", func(t *testing.T) {
		res, err := gameday.Run(t.Context(), gameday.Config{Scenario: sc, Target: (*gameday.LocalTarget)(nil)})
		if res != nil {
			t.Error("Run returned a result")
		}
		refusesNil(t, err, "target")
	})
	t.Run("refuses a typed-nil progress writer", func(t *testing.T) {
		f := newFake()
		res, err := gameday.Run(t.Context(), gameday.Config{Scenario: sc, Target: f, Progress: (*bytes.Buffer)(nil)})
		if res != nil || len(f.Calls()) != 0 {
			t.Errorf("Run ran: result %v, calls %q", res, f.Calls())
		}
		refusesNil(t, err, "progress")
	})
}
