package ops_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/ops"
)

const benchBreakers = 1000

// benchHandler returns an ops handler over a registry of 1,000 breakers (a
// tenth of them open) and an aggregator; collect says whether the
// aggregator has collected (as its Run does every second in a daemon) or
// every GET /health computes a fresh report.
func benchHandler(b *testing.B, collect bool) http.Handler {
	b.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchBreakers {
		br, err := reg.GetOrCreate(fmt.Sprintf("service-%04d", i), breaker.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			br.ForceOpen()
		}
	}
	agg, err := health.New(health.Config{}, reg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = agg.Close(context.Background()) })
	if collect {
		agg.Collect()
	}
	return ops.Handler(ops.Options{Registry: reg, Health: agg})
}

// BenchmarkHandler_Health serves GET /health with 1,000 breakers straight
// to a recorder: the handler's own cost.
func BenchmarkHandler_Health(b *testing.B) {
	for _, collected := range []bool{true, false} {
		name := "collected"
		if !collected {
			name = "fresh"
		}
		b.Run(name, func(b *testing.B) {
			h := benchHandler(b, collected)
			req := httptest.NewRequest("GET", "/health", nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
			b.SetBytes(int64(rec.Body.Len()))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			}
		})
	}
}

// BenchmarkHandler_HealthParallel is BenchmarkHandler_Health (collected)
// from GOMAXPROCS goroutines.
func BenchmarkHandler_HealthParallel(b *testing.B) {
	h := benchHandler(b, true)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/health", nil)
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}

// BenchmarkHandler_HealthLoopback is a bounded load test: b.N requests for
// GET /health with 1,000 breakers through a real HTTP server on loopback,
// from 4×GOMAXPROCS parallel keep-alive clients. It reports requests per
// second (the goal: ≥ 10,000 on a 2-core machine, where client and
// server share the two cores). Variants:
//
//   - identity: the uncompressed report (~150 KB), read whole by the client;
//   - gzip: Accept-Encoding: gzip, the compressed bytes read whole but not
//     inflated, as load generators such as wrk and hey do;
//   - gzip-inflated: Go's transport asks for gzip and inflates the body, as
//     package client does;
//   - fresh: identity, but the aggregator has not collected, so every
//     request computes and encodes a new report (the worst case).
func BenchmarkHandler_HealthLoopback(b *testing.B) {
	for _, v := range []struct {
		name             string
		collected        bool
		acceptGzip, auto bool
	}{
		{"identity", true, false, false},
		{"gzip", true, true, false},
		{"gzip-inflated", true, false, true},
		{"fresh", false, false, false},
	} {
		b.Run(v.name, func(b *testing.B) {
			srv := httptest.NewServer(benchHandler(b, v.collected))
			defer srv.Close()
			tr := srv.Client().Transport.(*http.Transport)
			tr.MaxIdleConnsPerHost = 64
			tr.ReadBufferSize = 64 << 10
			tr.DisableCompression = !v.auto
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			b.SetParallelism(4)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest("GET", srv.URL+"/health", nil)
				if v.acceptGzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				buf := make([]byte, 64<<10)
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
