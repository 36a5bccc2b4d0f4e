package ops

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 1 << 20 // 1 MiB
	DefaultPingInterval = 15 * time.Second
	DefaultEventBuffer  = 256
)

// UsageSource gives every tenant's lifetime usage, ordered by tenant.
// *metering.MemorySink implements it.
type UsageSource interface {
	Totals() []metering.Usage
}

var _ UsageSource = (*metering.MemorySink)(nil)

// Options configures Handler. It is plain data; only Registry is required.
// A nil component makes the routes that need it answer 503 with the error
// envelope.
type Options struct {
	// Registry is the breaker registry that GET /breakers lists and the
	// breaker routes act on. Required: nil makes every route answer 503.
	Registry *breaker.Registry
	// Health serves GET /health, /health/history and /readyz, and the
	// health events of GET /events.
	Health *health.Aggregator
	// Recovery serves GET /recovery and the recovery write routes.
	Recovery *recovery.Orchestrator
	// Chaos serves the /chaos routes.
	Chaos *chaos.Engine
	// Meter serves GET /metering.
	Meter *metering.Meter
	// Usage gives the per-tenant usage of GET /metering. nil means the
	// Meter's sink when it implements UsageSource (the default
	// *metering.MemorySink does); otherwise the usage list is empty. A
	// typed nil (such as a nil *metering.MemorySink) is invalid (see
	// Validate).
	Usage UsageSource
	// Spool, if the meter delivers through one, adds its backlog to
	// GET /metering and /metrics.
	Spool *metering.Spool
	// Cluster, when cluster mode is on, serves the /cluster routes: the
	// cluster view, the cluster-wide emergency stop and fleet chaos. nil
	// makes them answer 503.
	Cluster *cluster.Member
	// ClusterUsage serves GET /cluster/usage: every tenant's usage across
	// the instances metering into one JetStream stream. nil makes it
	// answer 503. A typed nil is invalid (see Validate).
	ClusterUsage ClusterUsageSource
	// Bus serves GET /bus (its Stats) and the bus gauges of /metrics.
	Bus *bus.Bus
	// Reloader serves POST /config/reload: it re-reads the configuration
	// and puts what can change live in force (system.System's does). nil
	// makes the route answer 503.
	Reloader Reloader
	// Tuner serves POST /tune/apply and GET /tune/ledger: it applies
	// measured changes of settings and keeps their ledger (system.System's
	// does). nil makes the first answer 503 and the ledger empty.
	Tuner Tuner
	// ReadToken, if set, is a bearer token every read route needs too (the
	// write token is accepted as well), for deployments where usage per
	// tenant and the system's state are private. /livez and /readyz stay
	// open, for probes. Empty means the read routes are public.
	ReadToken string
	// AllowedHosts, if set, are the host names (without port) a request's
	// Host header may carry; any other gets 421 with the error envelope. A
	// server on a loopback address sets them (127.0.0.1, localhost, ::1) so
	// that a web page cannot reach it through DNS rebinding. Empty means
	// any host.
	AllowedHosts []string
	// Token is the bearer token of the write routes (POST and DELETE):
	// a request without "Authorization: Bearer <token>" gets 401, one with
	// another token 403. Empty disables every write route (403 "writes
	// disabled: no token configured"); there is no default token.
	Token string
	// Tokens, if set, holds the write and read tokens, so that they can be
	// swapped while the handler serves (Tokens.Set); system.System's
	// options carry the one its Reload swaps. It is used only when Token
	// and ReadToken are both empty: a caller that sets either (to build a
	// handler that differs in its tokens) gets those, fixed for the
	// handler's life.
	Tokens *Tokens
	// ReadyStatuses are the health statuses in which GET /readyz answers
	// 200. Empty means HEALTHY and DEGRADED: ready unless CRITICAL (or
	// UNKNOWN, before the first collection).
	ReadyStatuses []health.Status
	// MaxBodyBytes bounds request bodies; a larger body gets 413. 0 or
	// negative means 1 MiB.
	MaxBodyBytes int64
	// Dashboard, if set, is served at GET / and every GET path no API route
	// claims (its assets). nil means GET / answers with a JSON index of
	// the routes (api.Index). A typed nil (such as a nil
	// http.HandlerFunc) is invalid (see Validate).
	Dashboard http.Handler
	// PingInterval is how often GET /events writes a ": ping" comment to
	// keep the stream alive through proxies. 0 or negative means 15 s.
	PingInterval time.Duration
	// EventBuffer is the buffer of each per-stream subscription of
	// GET /events; a stream that falls this far behind loses events (the
	// components never wait for it). 0 or negative means 256.
	EventBuffer int
	// Logger receives a line per internal error (5xx other than 503) and
	// per event stream opened and closed (debug). nil means no logging.
	Logger *slog.Logger
	// Collectors are served by GET /metrics beside the toolkit's own series
	// (the promexport collector over the components above), from the same
	// private registry: the daemon adds the Go runtime and process
	// collectors. A nil collector, or one whose series clash with another's,
	// is invalid (see Validate). Empty means the toolkit's series only.
	Collectors []prometheus.Collector
}

// Reloader re-reads a configuration and applies it live, returning what
// changed, or every problem of an invalid one (applying nothing). It may
// block while the reload runs and must be safe for concurrent use.
type Reloader interface {
	Reload(ctx context.Context) (api.ReloadResult, error)
}

// Tuner applies a measured change of settings live and records it in a
// ledger (see api.TuningChange), or returns every problem of a change it
// refuses (applying nothing). It must be safe for concurrent use.
type Tuner interface {
	ApplyTuning(ctx context.Context, c api.TuningChange) (api.LedgerEntry, error)
	Ledger() []api.LedgerEntry
}

// Trialer is a Tuner that can also put candidate settings in force for a
// while (see api.TrialRequest): the /tune/trial routes answer 503 when
// Options.Tuner is not one. Its methods must be safe for concurrent use.
type Trialer interface {
	Tuner
	StartTrial(ctx context.Context, r api.TrialRequest) (api.Trial, error)
	EndTrial(ctx context.Context) (api.Trial, error)
	Trial() api.Trial
}

// Validate reports the fields of o that Handler cannot serve: a Usage or a
// Dashboard that is a typed nil, which compares != nil but would panic on
// the first request using it, and a nil or clashing entry of Collectors.
// Each is a *ValidationError naming the field ("usage", "dashboard",
// "collectors[2]"), joined with errors.Join; nil when o is usable. Nil
// components, a nil Registry included, are not errors (see Options).
// Callers that can refuse to start, such as a daemon, call it before
// Handler.
func (o Options) Validate() error {
	var p antifragile.Problems
	p.Add(nilcheck.Optional("usage", o.Usage))
	p.Add(nilcheck.Optional("cluster_usage", o.ClusterUsage))
	p.Add(nilcheck.Optional("dashboard", o.Dashboard))
	p.Add(nilcheck.Optional("reloader", o.Reloader))
	p.Add(nilcheck.Optional("tuner", o.Tuner))
	_, err := metricsRegistry(o)
	p.Add(err)
	return p.Err()
}

// server is the state behind the handler Handler returns.
type server struct {
	opts   Options
	tokens *Tokens // Options.Tokens, or Token and ReadToken
	reg    *breaker.Registry
	usage  UsageSource
	ready  [health.Critical + 1]bool
	log    *slog.Logger
	mux    *http.ServeMux
	// paths holds every route's path without its method, to tell a wrong
	// method (405) from a path no route has (404).
	paths *http.ServeMux
	// metrics serves /metrics from a private Prometheus registry.
	metrics http.Handler
	// healthCache holds the encoded body of the last report served, keyed
	// by the report pointer (reports of an Aggregator are immutable).
	healthCache atomic.Pointer[cachedReport]
	routes      []api.Route
}

type cachedReport struct {
	rep    *health.Report
	body   []byte
	gzOnce sync.Once
	gz     []byte // body gzipped, made on the first request that accepts it
}

// DefaultReadyStatuses returns the statuses in which GET /readyz answers
// ready when Options.ReadyStatuses is empty: HEALTHY and DEGRADED.
func DefaultReadyStatuses() []health.Status { return []health.Status{health.Healthy, health.Degraded} }

// Handler returns the ops HTTP API over the components of opts. It is
// mountable at any prefix with http.StripPrefix and registers nothing on
// http.DefaultServeMux. It starts no goroutine: the metrics are read at
// scrape time, and each GET /events stream runs in its request's goroutine
// until the request's context ends. The handler is safe for concurrent use.
//
// Routes (the write routes need the bearer token, see Options.Token):
//
//	GET    /                           dashboard, or a JSON index of the routes
//	GET    /health                     the current health report
//	GET    /health/history?window=5m   health snapshots of the last window
//	GET    /breakers                   every breaker's state and counters
//	POST   /breakers/{name}/reset      close the breaker and clear its counters
//	POST   /breakers/{name}/force-open hold the breaker open
//	POST   /breakers/{name}/release    close a forced-open breaker
//	DELETE /breakers/{name}            remove the breaker from the registry
//	GET    /recovery                   the recovery orchestrator's status
//	GET    /recovery/{name}/history    a service's outages and its learned schedule (api.RecoveryHistory)
//	POST   /recovery/{name}            schedule a recovery (api.ScheduleRequest)
//	POST   /recovery/{name}/resume     resume a recovery awaiting an operator
//	POST   /recovery/{name}/resolve    mark it resolved by an operator
//	DELETE /recovery/{name}            cancel a recovery
//	GET    /chaos/scenarios            the active chaos scenarios, the recently ended
//	POST   /chaos/scenarios            inject a scenario (chaos.Scenario JSON; ?strict=1 refuses unknown targets)
//	GET    /chaos/scenarios/{name}     one active scenario
//	DELETE /chaos/scenarios/{name}     end a scenario
//	POST   /chaos/emergency-stop       end every scenario, refuse new ones
//	POST   /chaos/reset                lift the emergency stop
//	GET    /chaos/metrics              the chaos engine's counters
//	POST   /config/reload              re-read the configuration, apply what is live (api.ReloadResult)
//	GET    /metering                   meter counters and usage per tenant
//	GET    /bus                        the agent bus's counters, per agent with latencies
//	GET    /events                     Server-Sent Events (api.Event)
//	GET    /version                    the server's version and hash
//	GET    /livez                      liveness
//	GET    /readyz                     readiness: 503 unless ReadyStatuses
//	GET    /metrics                    Prometheus exposition
//
// Every error is an api.ErrorEnvelope with the status that the error
// calls for; every response carries X-Content-Type-Options: nosniff; no
// CORS header is set.
//
// Options that Validate refuses give a handler that answers every request
// with 500 and an envelope naming the invalid fields (logged to
// opts.Logger), rather than one that panics on some routes.
func Handler(opts Options) http.Handler {
	if err := opts.Validate(); err != nil {
		return misconfiguredHandler{err: errMisconfigured(err), log: opts.Logger}
	}
	if opts.Registry == nil {
		return unavailableHandler{}
	}
	s := &server{opts: opts, tokens: opts.Tokens, reg: opts.Registry, log: opts.Logger, mux: http.NewServeMux()}
	if s.tokens == nil || opts.Token != "" || opts.ReadToken != "" {
		s.tokens = NewTokens(opts.Token, opts.ReadToken)
	}
	if s.opts.MaxBodyBytes <= 0 {
		s.opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.opts.PingInterval <= 0 {
		s.opts.PingInterval = DefaultPingInterval
	}
	if s.opts.EventBuffer <= 0 {
		s.opts.EventBuffer = DefaultEventBuffer
	}
	statuses := opts.ReadyStatuses
	if len(statuses) == 0 {
		statuses = DefaultReadyStatuses()
	}
	for _, st := range statuses {
		if int(st) < len(s.ready) {
			s.ready[st] = true
		}
	}
	s.usage = opts.Usage
	if s.usage == nil && opts.Meter != nil {
		if u, ok := opts.Meter.Sink().(UsageSource); ok {
			s.usage = u
		}
	}
	preg, err := metricsRegistry(opts)
	if err != nil { // Validate has refused these options already
		return misconfiguredHandler{err: errMisconfigured(err), log: opts.Logger}
	}
	s.metrics = metricsHandler(preg)

	s.mount()
	if opts.Dashboard != nil {
		s.mux.Handle("GET /", opts.Dashboard)
	} else {
		s.mux.HandleFunc("GET /{$}", s.getIndex)
	}
	return s
}

// mount registers every route of the route table on s.mux, behind the
// token its route needs, and lists them for the index.
func (s *server) mount() {
	s.paths = http.NewServeMux()
	for _, rt := range s.routeTable() {
		h := rt.handler
		switch {
		case rt.auth:
			h = s.requireToken(h)
		case rt.path != "/livez" && rt.path != "/readyz":
			h = s.requireReadToken(h)
		}
		s.mux.HandleFunc(rt.method+" "+rt.path, h)
		if _, pattern := s.paths.Handler(&http.Request{Method: "GET", URL: &url.URL{Path: rt.path}}); pattern != rt.path {
			s.paths.HandleFunc(rt.path, func(http.ResponseWriter, *http.Request) {})
		}
		s.routes = append(s.routes, api.Route{Method: rt.method, Path: rt.path, Auth: rt.auth, Description: rt.desc})
	}
}

type route struct {
	method, path string
	auth         bool
	desc         string
	handler      http.HandlerFunc
}

func (s *server) routeTable() []route {
	return []route{
		{"GET", "/health", false, "the current health report", s.getHealth},
		{"GET", "/health/history", false, "health snapshots within ?window= (e.g. 5m)", s.getHealthHistory},
		{"GET", "/breakers", false, "every breaker's state and counters", s.getBreakers},
		{"POST", "/breakers/{name}/reset", true, "close the breaker and clear its counters", s.breakerAction(api.ActionReset)},
		{"POST", "/breakers/{name}/force-open", true, "hold the breaker open until released", s.breakerAction(api.ActionForceOpen)},
		{"POST", "/breakers/{name}/release", true, "close a forced-open breaker", s.breakerAction(api.ActionRelease)},
		{"DELETE", "/breakers/{name}", true, "remove the breaker from the registry", s.breakerAction(api.ActionRemove)},
		{"GET", "/recovery", false, "the recovery orchestrator's status", s.getRecovery},
		{"GET", "/recovery/{name}/history", false, "a service's outage history and what the learned strategy makes of it", s.getRecoveryHistory},
		{"POST", "/recovery/{name}", true, "schedule a recovery (body: strategy, priority, policy)", s.postRecovery},
		{"POST", "/recovery/{name}/resume", true, "resume a recovery awaiting an operator", s.recoveryAction(api.ActionResume)},
		{"POST", "/recovery/{name}/resolve", true, "mark a recovery awaiting an operator resolved", s.recoveryAction(api.ActionResolve)},
		{"DELETE", "/recovery/{name}", true, "cancel a recovery", s.recoveryAction(api.ActionCancel)},
		{"GET", "/chaos/scenarios", false, "the active chaos scenarios", s.getScenarios},
		{"POST", "/chaos/scenarios", true, "inject a chaos scenario (body: its JSON form)", s.postScenario},
		{"GET", "/chaos/scenarios/{name}", false, "one active chaos scenario", s.getScenario},
		{"DELETE", "/chaos/scenarios/{name}", true, "end a chaos scenario", s.deleteScenario},
		{"POST", "/chaos/emergency-stop", true, "end every scenario and refuse new ones until reset", s.chaosStop},
		{"POST", "/chaos/reset", true, "lift an emergency stop", s.chaosReset},
		{"GET", "/chaos/metrics", false, "the chaos engine's counters", s.getChaosMetrics},
		{"POST", "/config/reload", true, "re-read the configuration and apply what can change live", s.postReload},
		{"POST", "/tune/apply", true, "apply a measured change of breaker and recovery settings and record it in the ledger", s.postTuning},
		{"POST", "/tune/trial", true, "put candidate breaker and recovery settings in force for a tuning run, restored when the trial ends (body: services, breaker, recovery, ttl)", s.postTrial},
		{"GET", "/tune/trial", false, "the tuning trial in progress, or the last one and why it ended", s.getTrial},
		{"DELETE", "/tune/trial", true, "end the tuning trial and restore the settings it saved", s.deleteTrial},
		{"GET", "/tune/ledger", false, "the tuning ledger: every applied change, why, measured before and after", s.getLedger},
		{"GET", "/metering", false, "meter counters and usage per tenant", s.getMetering},
		{"GET", "/bus", false, "the agent bus's counters", s.getBus},
		{"GET", "/events", false, "Server-Sent Events: breaker, health, anomaly, recovery, chaos", s.getEvents},
		{"GET", "/cluster", false, "the cluster view: every instance, breakers rolled up by name", s.getCluster},
		{"GET", "/cluster/usage", false, "usage per tenant across the instances metering into one JetStream stream", s.getClusterUsage},
		{"GET", "/cluster/lever", false, "the cluster's emergency stop and who acknowledged it", s.getLever},
		{"POST", "/cluster/emergency-stop", true, "latch the cluster-wide emergency stop (body: optional by)", s.pullLever(true)},
		{"POST", "/cluster/reset", true, "clear the cluster-wide emergency stop (body: optional by)", s.pullLever(false)},
		{"POST", "/cluster/chaos", true, "fleet chaos: inject a scenario on selected instances (body: scenario, selector, by)", s.postFleet},
		{"GET", "/cluster/chaos/{name}", false, "a fleet chaos run and each instance's outcome", s.getFleet},
		{"DELETE", "/cluster/chaos/{name}", true, "end a fleet chaos run everywhere", s.deleteFleet},
		{"GET", "/version", false, "the server's version and constitutional hash", s.getVersion},
		{"GET", "/livez", false, "liveness probe", s.getLivez},
		{"GET", "/readyz", false, "readiness probe: 503 unless the health status is ready", s.getReadyz},
		{"GET", "/metrics", false, "Prometheus metrics", s.getMetrics},
	}
}

// ServeHTTP sets the headers every response carries and answers the
// requests no route matches with the error envelope (404, or 405 with
// Allow).
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.hostAllowed(r.Host) {
		s.refuse(w, r, errMisdirected)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No pattern: the mux would answer 404 or 405 in plain text, or
	// redirect to a canonical path. Let it answer into a buffer and turn
	// its errors into envelopes.
	c := &captureWriter{header: make(http.Header)}
	s.mux.ServeHTTP(c, r)
	switch c.status {
	case http.StatusNotFound:
		writeError(w, r, s.log, errNotFound("no route for "+r.Method+" "+r.URL.Path))
	case http.StatusMethodNotAllowed:
		if _, pattern := s.paths.Handler(r); pattern == "" {
			// Only the dashboard's catch-all GET / claims the path: it is
			// no route of the API.
			writeError(w, r, s.log, errNotFound("no route for "+r.Method+" "+r.URL.Path))
			return
		}
		if allow := c.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeError(w, r, s.log, &httpError{status: http.StatusMethodNotAllowed, msg: "method " + r.Method + " not allowed for " + r.URL.Path})
	default:
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body.Bytes())
	}
}

// hostAllowed reports whether a request for host may be served: always when
// Options.AllowedHosts is empty, else when host's name (without its port)
// is one of them. A loopback daemon sets them, so that a page of another
// origin cannot reach it through DNS rebinding.
func (s *server) hostAllowed(host string) bool {
	if len(s.opts.AllowedHosts) == 0 {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	for _, a := range s.opts.AllowedHosts {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// captureWriter records a response of the mux's own (404, 405, redirect).
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// unavailableHandler is the handler of Options without a Registry.
type unavailableHandler struct{}

func (unavailableHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeError(w, r, nil, errUnavailable("breaker registry"))
}

// misconfiguredHandler is the handler of Options that Validate refuses.
type misconfiguredHandler struct {
	err error
	log *slog.Logger
}

func (h misconfiguredHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeError(w, r, h.log, h.err)
}

func (s *server) hash() string { return s.reg.ConstitutionalHash() }

func (s *server) getVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Version{
		Name: "antifragile", Version: antifragile.Version, ConstitutionalHash: s.hash(), Go: runtime.Version(),
	})
}

func (s *server) getIndex(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Index{
		Name:               "antifragile",
		Version:            antifragile.Version,
		ConstitutionalHash: s.hash(),
		Routes:             s.routes,
	})
}
