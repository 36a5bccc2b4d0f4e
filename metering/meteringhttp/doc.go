// Package meteringhttp meters HTTP requests: Handler wraps an http.Handler
// so that every request it serves is recorded on a metering.Meter with its
// latency, outcome and compliance, as chaoshttp applies chaos to HTTP
// traffic.
//
//	mux.Handle("/audit", meteringhttp.Handler(meter, auditHandler, meteringhttp.Config{
//		Operation: metering.OpAuditWrite,
//		Tenant:    func(r *http.Request) string { return r.Header.Get("X-Tenant") },
//	}))
package meteringhttp
