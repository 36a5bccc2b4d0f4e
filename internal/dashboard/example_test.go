package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/antifragile-go/antifragile/internal/dashboard"
)

// ExampleHandler serves the page under a prefix. ops.Handler mounts it at
// "/" by itself through ops.Options.Dashboard.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /ops/", http.StripPrefix("/ops", dashboard.Handler()))

	for _, p := range []string{"/ops/", "/ops/app.js", "/ops/app.css"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		fmt.Println(p, rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// /ops/ 200 text/html; charset=utf-8
	// /ops/app.js 200 text/javascript; charset=utf-8
	// /ops/app.css 200 text/css; charset=utf-8
}
