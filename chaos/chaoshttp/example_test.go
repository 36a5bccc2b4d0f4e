package chaoshttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/chaos/chaoshttp"
)

func ExampleMiddleware() {
	engine, _ := chaos.New(chaos.Config{}, nil)
	defer engine.Close(context.Background())
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	handler := chaoshttp.Middleware(engine, chaoshttp.Config{Target: "api"})(hello)

	_, _ = engine.InjectErrors("api", 1.0, nil, time.Minute)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Code, w.Header().Get(chaoshttp.HeaderScenario))

	engine.Deactivate("errors_api_1.0")
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Code, w.Body)
	// Output:
	// 500 errors_api_1.0
	// 200 hello
}
