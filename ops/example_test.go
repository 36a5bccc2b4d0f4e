package ops_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/ops"
)

func ExampleHandler() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	_, _ = reg.GetOrCreate("payments", breaker.Config{})
	h := ops.Handler(ops.Options{Registry: reg, Token: "s3cret"})

	// Reads need no token.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/breakers", nil))
	var bs api.Breakers
	_ = json.Unmarshal(rec.Body.Bytes(), &bs)
	fmt.Println(bs.Breakers[0].Name, bs.Breakers[0].State)

	// Writes do.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/breakers/payments/force-open", nil))
	var env api.ErrorEnvelope
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	fmt.Println(rec.Code, env.Error)

	req := httptest.NewRequest("POST", "/breakers/payments/force-open", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var action api.BreakerAction
	_ = json.Unmarshal(rec.Body.Bytes(), &action)
	fmt.Println(rec.Code, action.State)

	// Mounted under a prefix.
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", h))
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/ops/livez", nil))
	fmt.Println(rec.Code, rec.Header().Get("X-Content-Type-Options"))
	// Output:
	// payments closed
	// 401 missing bearer token: send Authorization: Bearer <token>
	// 200 forced_open
	// 200 nosniff
}
