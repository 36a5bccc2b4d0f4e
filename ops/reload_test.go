package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/ops"
)

type reloaderFunc func(context.Context) (api.ReloadResult, error)

func (f reloaderFunc) Reload(ctx context.Context) (api.ReloadResult, error) { return f(ctx) }

func TestHandler_ConfigReload(t *testing.T) {
	t.Run("an invalid configuration is a 400 naming every problem", func(t *testing.T) {
		bad := reloaderFunc(func(context.Context) (api.ReloadResult, error) {
			return api.ReloadResult{}, errors.Join(
				antifragile.Invalid("chaos.max_delay", -1, "must be within (0, 5m0s]"),
				antifragile.Invalid("ops.token", "x", "too short"))
		})
		s := newSystem(t, func(o *ops.Options) { o.Reloader = bad })
		rec := do(t, s.h, "POST", "/config/reload", "", auth()...)
		var env api.ErrorEnvelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, body %s", rec.Code, rec.Body)
		}
		if env.Field != "chaos.max_delay" || !strings.Contains(env.Detail, "ops.token") {
			t.Fatalf("envelope %+v: want both problems", env)
		}
	})
	t.Run("without a reloader: 503; without the token: 401", func(t *testing.T) {
		s := newSystem(t, func(o *ops.Options) { o.Reloader = nil })
		if c := do(t, s.h, "POST", "/config/reload", "", auth()...).Code; c != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", c)
		}
		if c := do(t, s.h, "POST", "/config/reload", "").Code; c != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", c)
		}
	})
}
