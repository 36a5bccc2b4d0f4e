package ops_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
)

func TestOptions_Validate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   ops.Options
		fields []string
	}{
		{"accepts the zero value", ops.Options{}, nil},
		{"accepts a usage source and a dashboard", ops.Options{Usage: &metering.MemorySink{}, Dashboard: http.NotFoundHandler()}, nil},
		{"refuses a nil *metering.MemorySink as usage", ops.Options{Usage: (*metering.MemorySink)(nil)}, []string{"usage"}},
		{"refuses a nil http.HandlerFunc as dashboard", ops.Options{Dashboard: http.HandlerFunc(nil)}, []string{"dashboard"}},
		{"refuses a nil *http.ServeMux as dashboard", ops.Options{Dashboard: (*http.ServeMux)(nil)}, []string{"dashboard"}},
		{"reports both", ops.Options{Usage: (*metering.MemorySink)(nil), Dashboard: (*http.ServeMux)(nil)}, []string{"usage", "dashboard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if got := antifragile.InvalidFields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %q, want %q (err %v)", got, tc.fields, err)
			}
			if tc.fields != nil && !errors.Is(err, antifragile.ErrNil) {
				t.Errorf("errors.Is(%v, ErrNil) = false", err)
			}
		})
	}
}

func TestHandler_InvalidOptions(t *testing.T) {
	h := newSystem(t, func(o *ops.Options) { o.Dashboard = http.HandlerFunc(nil) }).h
	for _, target := range []string{"/", "/health", "/breakers", "/metering", "/dashboard.js"} {
		t.Run("answers 500 naming the field at "+target, func(t *testing.T) {
			rec := do(t, h, "GET", target, "")
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
			var env api.ErrorEnvelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if !strings.Contains(env.Error, "dashboard") || !strings.Contains(env.Error, "must not be nil") {
				t.Errorf("error %q does not name the dashboard", env.Error)
			}
		})
	}
}
