package breakerhttp_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakerhttp"
)

func ExampleTransport() {
	// A dependency that keeps failing.
	inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer inventory.Close()

	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	client := &http.Client{Transport: &breakerhttp.Transport{
		Registry: reg,
		Breaker:  breaker.Config{ConsecutiveFailures: 2},
		Key:      func(*http.Request) string { return "inventory" }, // default: the host and port
	}}
	defer client.CloseIdleConnections()
	for range 3 {
		resp, err := client.Get(inventory.URL)
		var rejected *breakerhttp.RejectedError
		switch {
		case errors.As(err, &rejected):
			fmt.Println("not sent: breaker", rejected.Breaker, "is", reg.Snapshot()[0].State, errors.Is(err, breaker.ErrOpen))
		case err != nil:
			fmt.Println(err)
		default:
			resp.Body.Close()
			fmt.Println(resp.Status) // a failure's response still reaches the caller
		}
	}
	// Output:
	// 503 Service Unavailable
	// 503 Service Unavailable
	// not sent: breaker inventory is open true
}

func ExampleMiddleware() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	mw := breakerhttp.Middleware(reg, breakerhttp.Config{
		Breaker: breaker.Config{ConsecutiveFailures: 2, OpenTimeout: 5 * time.Second},
	})
	mux := http.NewServeMux()
	// Wrap each route's handler: the breaker is named by its pattern.
	mux.Handle("GET /orders/{id}", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	})))
	for _, path := range []string{"/orders/1", "/orders/2", "/orders/3"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%d Retry-After=%q %s\n", w.Code, w.Header().Get("Retry-After"), strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 500 Retry-After="" database down
	// 500 Retry-After="" database down
	// 503 Retry-After="5" breakerhttp: breaker "GET /orders/{id}" rejected the request: breaker: circuit open
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fmt.Println(breakerhttp.ParseRetryAfter("120", now))
	fmt.Println(breakerhttp.ParseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now))
	fmt.Println(breakerhttp.ParseRetryAfter("soon", now))
	// Output:
	// 2m0s true
	// 30s true
	// 0s false
}
