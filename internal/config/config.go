package config

import (
	"maps"
	"os"
	"slices"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// ValidationError reports one problem of a configuration file; Field is
// its JSON path, such as "recovery.policies.validator.initial_delay". It is
// the toolkit-wide antifragile.ValidationError, so errors.Is(err,
// antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// Defaults of the fields whose zero value stands for something else.
const (
	// DefaultListen is the ops API's listen address: loopback only.
	DefaultListen = "127.0.0.1:8080"
	// DefaultTokenEnv is the environment variable read for the ops token
	// when the file sets none.
	DefaultTokenEnv = "ANTIFRAGILE_TOKEN"
	// DefaultSink is the metering sink: in-memory aggregation.
	DefaultSink = "memory"
)

// File is the whole configuration of a running antifragile system, as one
// JSON document. Every field is optional: the zero File is valid and means
// the defaults of every package (Default spells the few that are not zero).
// Durations are strings ("250ms"), sizes are bytes or strings with a unit
// ("256MiB"), unknown fields are refused. A File is plain data; it is not
// safe for concurrent mutation.
type File struct {
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash. It is handed to every component.
	ConstitutionalHash string `json:"constitutional_hash"`
	// Ops configures the ops HTTP API.
	Ops Ops `json:"ops"`
	// Breakers configures the circuit breakers.
	Breakers Breakers `json:"breakers"`
	// Health configures the health aggregator.
	Health Health `json:"health"`
	// Recovery configures the recovery orchestrator and its policies.
	Recovery Recovery `json:"recovery"`
	// Chaos configures the chaos engine.
	Chaos Chaos `json:"chaos"`
	// Metering configures the meter and its sink.
	Metering Metering `json:"metering"`
	// Bus configures the agent bus.
	Bus Bus `json:"bus"`
}

// Ops configures the ops HTTP API and its server.
type Ops struct {
	// Listen is the "host:port" the API listens on; port 0 picks a free
	// port. Empty means 127.0.0.1:8080 (loopback only).
	Listen string `json:"listen"`
	// Token is the bearer token of the write routes. Empty means: read the
	// environment variable named by TokenEnv. There is never a built-in
	// token: with none, the write routes are disabled.
	Token string `json:"token"`
	// TokenEnv names the environment variable holding the token when Token
	// is empty. Empty means ANTIFRAGILE_TOKEN.
	TokenEnv string `json:"token_env"`
	// ReadyStatuses are the health statuses in which /readyz answers ready.
	// Empty means HEALTHY and DEGRADED (ready unless CRITICAL or UNKNOWN).
	ReadyStatuses []health.Status `json:"ready_statuses"`
	// MaxBodyBytes bounds request bodies. 0 means 1 MiB; negative is
	// invalid.
	MaxBodyBytes ByteSize `json:"max_body_bytes"`
	// ReadHeaderTimeout bounds reading a request's headers. 0 means 10 s;
	// negative is invalid.
	ReadHeaderTimeout Duration `json:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. 0 means none (the
	// default, because the server's read deadline would also end the
	// long-lived /events streams); negative is invalid.
	ReadTimeout Duration `json:"read_timeout"`
	// IdleTimeout bounds how long an idle keep-alive connection is kept.
	// 0 means 2 min; negative is invalid.
	IdleTimeout Duration `json:"idle_timeout"`
	// ShutdownTimeout bounds how long shutting down waits for requests in
	// flight before closing their connections. 0 means 10 s; negative is
	// invalid.
	ShutdownTimeout Duration `json:"shutdown_timeout"`
}

// Breakers configures the circuit breakers of the shared registry.
type Breakers struct {
	// Default is the configuration of every breaker not named in Named
	// (the bus's agents, breakers created through the registry's
	// GetOrCreate).
	Default Breaker `json:"default"`
	// Named configures breakers by name; they are created when the system
	// starts. In a file, each entry starts as a copy of Default and
	// overrides the fields it sets.
	Named map[string]Breaker `json:"named"`
}

// Breaker is one breaker's configuration: breaker.Config in JSON. Zero
// fields mean the breaker package's defaults (see breaker.Config).
type Breaker struct {
	// ConsecutiveFailures trips after this many failures in a row. 0 means
	// 5 when no rate rule is set and off when one is; negative turns the
	// rule off.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// FailureRate trips at this share of failed calls in the window. 0
	// turns the rule off; otherwise within (0, 1].
	FailureRate float64 `json:"failure_rate"`
	// SlowCallRate trips at this share of slow calls. 0 turns the rule off.
	SlowCallRate float64 `json:"slow_call_rate"`
	// SlowCallThreshold is the duration above which a call is slow. 0
	// turns slow-call counting off.
	SlowCallThreshold Duration `json:"slow_call_threshold"`
	// MinimumCalls is how many calls the window must hold before a rate
	// rule trips. 0 means 10.
	MinimumCalls int `json:"minimum_calls"`
	// Window is "count" (the last WindowSize calls) or "time" (the last
	// WindowDuration). Empty means "count".
	Window string `json:"window"`
	// WindowSize is the size of a count window. 0 means 100.
	WindowSize int `json:"window_size"`
	// WindowDuration is the span of a time window. 0 means 60 s.
	WindowDuration Duration `json:"window_duration"`
	// Buckets is the number of buckets of a time window. 0 means 10.
	Buckets int `json:"buckets"`
	// OpenTimeout is how long the breaker stays open before a trial call.
	// 0 means 30 s.
	OpenTimeout Duration `json:"open_timeout"`
	// OpenTimeoutMultiplier grows the open timeout after failed probes. 0
	// means 1 (constant).
	OpenTimeoutMultiplier float64 `json:"open_timeout_multiplier"`
	// MaxOpenTimeout caps the grown open timeout. 0 means 10×OpenTimeout.
	MaxOpenTimeout Duration `json:"max_open_timeout"`
	// HalfOpenMaxCalls is how many trial calls half-open admits. 0 means 1.
	HalfOpenMaxCalls int `json:"half_open_max_calls"`
	// HalfOpenSuccesses is how many trials must succeed to close. 0 means
	// HalfOpenMaxCalls.
	HalfOpenSuccesses int `json:"half_open_successes"`
	// HalfOpenTimeout is how long a trial may go unreported before the
	// breaker opens again. 0 means OpenTimeout.
	HalfOpenTimeout Duration `json:"half_open_timeout"`
}

// Health configures the health aggregator: health.Config in JSON. Zero
// fields mean the health package's defaults.
type Health struct {
	// Disabled turns the aggregator off.
	Disabled bool `json:"disabled"`
	// HistoryWindow is how far back the history goes. 0 means 5 min.
	HistoryWindow Duration `json:"history_window"`
	// MaxHistory is how many snapshots the history keeps. 0 means 300.
	MaxHistory int `json:"max_history"`
	// CheckInterval is the period of collections. 0 means 1 s.
	CheckInterval Duration `json:"check_interval"`
	// DegradedThreshold is the lowest HEALTHY score. 0 means 0.7.
	DegradedThreshold float64 `json:"degraded_threshold"`
	// CriticalThreshold is the lowest DEGRADED score. 0 means 0.5.
	CriticalThreshold float64 `json:"critical_threshold"`
	// Hysteresis keeps the status from flapping. 0 turns it off.
	Hysteresis float64 `json:"hysteresis"`
	// Weights weighs breakers by name (default 1 each).
	Weights map[string]float64 `json:"weights"`
	// MinEventInterval spaces collections caused by breaker events. 0
	// means 10 ms.
	MinEventInterval Duration `json:"min_event_interval"`
	// CallbackQueue bounds the reports waiting for callbacks. 0 means 16.
	CallbackQueue int `json:"callback_queue"`
	// TopOffenders is how many breakers a report lists as the worst. 0
	// means 5; negative turns the list off.
	TopOffenders int `json:"top_offenders"`
}

// Recovery configures the recovery orchestrator: recovery.Config in JSON,
// plus a policy per service.
type Recovery struct {
	// MaxConcurrent is the most attempts run at once. 0 means 1.
	MaxConcurrent int `json:"max_concurrent"`
	// Watch schedules a recovery whenever a breaker opens by itself.
	// The default, false, recovers only what an operator schedules.
	Watch bool `json:"watch"`
	// WatchBuffer is the buffer of the watch subscription. 0 means 1024.
	WatchBuffer int `json:"watch_buffer"`
	// MaxHistory is how many results are kept. 0 means 100.
	MaxHistory int `json:"max_history"`
	// MaxRestarts limits recoveries per service within RestartWindow. 0
	// turns the limit off.
	MaxRestarts int `json:"max_restarts"`
	// RestartWindow is the window of MaxRestarts. 0 means 1 min.
	RestartWindow Duration `json:"restart_window"`
	// Seed seeds the jitter. 0 means random.
	Seed uint64 `json:"seed"`
	// DefaultPolicy is the policy of services without their own.
	DefaultPolicy Policy `json:"default_policy"`
	// Policies sets the policy of services by name. In a file, each entry
	// starts as a copy of DefaultPolicy and overrides the fields it sets.
	Policies map[string]Policy `json:"policies"`
}

// Policy is a recovery policy: the data of recovery.Policy in JSON (a file
// cannot hold the action or health-check functions; without them an
// attempt resets the service's breaker). Zero fields mean the recovery
// package's defaults.
type Policy struct {
	// MaxRetryAttempts is the number of attempts in total. 0 means 5.
	MaxRetryAttempts int `json:"max_retry_attempts"`
	// BackoffMultiplier grows exponential backoff. 0 means 2.
	BackoffMultiplier float64 `json:"backoff_multiplier"`
	// InitialDelay is the first delay. 0 means 1 s.
	InitialDelay Duration `json:"initial_delay"`
	// MaxDelay caps every delay. 0 means 60 s.
	MaxDelay Duration `json:"max_delay"`
	// Jitter spreads delays by this fraction either way. 0 means none.
	Jitter float64 `json:"jitter"`
	// ActionTimeout bounds an attempt's action. 0 means 30 s.
	ActionTimeout Duration `json:"action_timeout"`
	// HealthCheckTimeout bounds an attempt's health check. 0 means 5 s.
	HealthCheckTimeout Duration `json:"health_check_timeout"`
	// Strategy is exponential_backoff (the default), linear_backoff,
	// immediate or manual.
	Strategy recovery.Strategy `json:"strategy"`
	// Priority orders recoveries the orchestrator schedules itself; lower
	// runs first.
	Priority int `json:"priority"`
}

// Chaos configures the chaos engine: chaos.Config in JSON.
type Chaos struct {
	// Seed makes error draws reproducible. 0 means unseeded.
	Seed uint64 `json:"seed"`
	// MaxDuration caps every scenario. 0 means 300 s (the hard cap).
	MaxDuration Duration `json:"max_duration"`
	// MemoryCapBytes is what memory scenarios may hold. 0 means 256 MiB.
	MemoryCapBytes ByteSize `json:"memory_cap_bytes"`
	// DiskIO bounds disk_io scenarios.
	DiskIO DiskIO `json:"disk_io"`
	// NetworkBandwidth is the bandwidth (bytes per second) that
	// network_bandwidth scenarios shrink. 0 means 10 MiB.
	NetworkBandwidth ByteSize `json:"network_bandwidth"`
	// StopCheckInterval is how often stop conditions are checked. 0 means
	// 100 ms (also the maximum).
	StopCheckInterval Duration `json:"stop_check_interval"`
	// StopOnCritical aborts every scenario (as an emergency stop) when the
	// health status becomes CRITICAL. The default, false, lets experiments
	// drive the system to CRITICAL.
	StopOnCritical bool `json:"stop_on_critical"`
}

// DiskIO bounds disk_io chaos scenarios.
type DiskIO struct {
	// Dir holds the scenarios' temporary files. Empty means os.TempDir().
	Dir string `json:"dir"`
	// BytesPerSecond is the write rate at level 1. 0 means 16 MiB.
	BytesPerSecond ByteSize `json:"bytes_per_second"`
	// MaxBytes bounds the disk space at level 1. 0 means 64 MiB.
	MaxBytes ByteSize `json:"max_bytes"`
}

// Metering configures the meter (metering.Config in JSON) and its sink.
type Metering struct {
	// Disabled turns metering off.
	Disabled bool `json:"disabled"`
	// Sink says where events go: "memory" (in-memory aggregation, the
	// default when empty), "file:/path/to/usage.jsonl" (JSON Lines, fsynced
	// per batch) or "redis://[user:password@]host:port/db" (also rediss://
	// for TLS). Whatever the sink, usage is also aggregated in memory for
	// the ops API.
	Sink string `json:"sink"`
	// MaxQueueSize bounds the events waiting for delivery. 0 means 10,000.
	MaxQueueSize int `json:"max_queue_size"`
	// BatchSize is the most events per sink write. 0 means 100.
	BatchSize int `json:"batch_size"`
	// FlushInterval is how often a partial batch is flushed. 0 means 1 s.
	FlushInterval Duration `json:"flush_interval"`
	// AggregationInterval is the window of the in-memory aggregation. 0
	// means 60 s.
	AggregationInterval Duration `json:"aggregation_interval"`
	// CloseTimeout bounds the final flush at shutdown. 0 means 30 s;
	// negative is invalid.
	CloseTimeout Duration `json:"close_timeout"`
	// BillAll counts rejected and injected events like billable ones.
	BillAll bool `json:"bill_all"`
	// Retry governs re-sending a batch the sink refused.
	Retry Retry `json:"retry"`
	// Memory bounds the in-memory aggregation.
	Memory MemorySink `json:"memory"`
	// File configures a file: sink.
	File FileSink `json:"file"`
	// Redis configures a redis:// sink.
	Redis RedisSink `json:"redis"`
}

// Retry is metering.RetryPolicy in JSON.
type Retry struct {
	// Initial is the first delay. 0 means 100 ms.
	Initial Duration `json:"initial"`
	// Max caps the delay. 0 means 30 s.
	Max Duration `json:"max"`
	// Multiplier grows the delay. 0 means 2.
	Multiplier float64 `json:"multiplier"`
	// MaxAttempts abandons a batch after that many failed writes. 0 means
	// retry until delivered or shut down.
	MaxAttempts int `json:"max_attempts"`
}

// MemorySink bounds the in-memory usage aggregation.
type MemorySink struct {
	// MaxWindows is how many windows are kept. 0 means 1440.
	MaxWindows int `json:"max_windows"`
	// MaxSeries bounds the series of one window. 0 means 10,000.
	MaxSeries int `json:"max_series"`
}

// FileSink configures a file: metering sink.
type FileSink struct {
	// MaxBytes rotates the file at this size. 0 means 64 MiB; negative
	// means never rotate.
	MaxBytes ByteSize `json:"max_bytes"`
	// MaxFiles is how many rotated files are kept. 0 means 5.
	MaxFiles int `json:"max_files"`
}

// RedisSink configures a redis:// metering sink.
type RedisSink struct {
	// Stream is the stream key. Empty means "antifragile:metering:events".
	Stream string `json:"stream"`
	// KeyPrefix prefixes the other keys. Empty means
	// "antifragile:metering:".
	KeyPrefix string `json:"key_prefix"`
	// MaxLen trims the stream. 0 means 1,000,000; negative never trims.
	MaxLen int64 `json:"max_len"`
	// BatchTTL is how long a batch is recognised as applied. 0 means 24 h.
	BatchTTL Duration `json:"batch_ttl"`
}

// Bus configures the agent bus.
type Bus struct {
	// MailboxSize bounds each agent's mailbox. 0 means 1024.
	MailboxSize int `json:"mailbox_size"`
	// PublishTimeout bounds handling a published message. 0 means 30 s.
	PublishTimeout Duration `json:"publish_timeout"`
}

// Default returns the embedded defaults: the ops API on 127.0.0.1:8080, its
// token from $ANTIFRAGILE_TOKEN, metering into memory, and every other
// field zero (each package's own defaults). It is equivalent to the zero
// File, with the non-zero defaults written out.
func Default() *File {
	return &File{
		Ops:      Ops{Listen: DefaultListen, TokenEnv: DefaultTokenEnv},
		Metering: Metering{Sink: DefaultSink},
	}
}

// Clone returns a deep copy of f.
func (f *File) Clone() *File {
	c := *f
	c.Ops.ReadyStatuses = slices.Clone(f.Ops.ReadyStatuses)
	c.Breakers.Named = maps.Clone(f.Breakers.Named)
	c.Health.Weights = maps.Clone(f.Health.Weights)
	c.Recovery.Policies = maps.Clone(f.Recovery.Policies)
	return &c
}

// ListenAddr returns Ops.Listen, or DefaultListen when it is empty.
func (f *File) ListenAddr() string {
	if f.Ops.Listen == "" {
		return DefaultListen
	}
	return f.Ops.Listen
}

// TokenEnvName returns Ops.TokenEnv, or DefaultTokenEnv when it is empty.
func (f *File) TokenEnvName() string {
	if f.Ops.TokenEnv == "" {
		return DefaultTokenEnv
	}
	return f.Ops.TokenEnv
}

// Token resolves the ops bearer token: Ops.Token if set, else the value of
// the environment variable TokenEnvName() as getenv returns it (nil means
// os.Getenv). An empty result means no token: the write routes are
// disabled. There is never a built-in default.
func (f *File) Token(getenv func(string) string) string {
	if f.Ops.Token != "" {
		return f.Ops.Token
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv(f.TokenEnvName())
}

// BreakerConfig returns the breaker.Config of the breaker called name: its
// entry in Breakers.Named, else Breakers.Default; Name is set to name. It
// does not validate.
func (f *File) BreakerConfig(name string) breaker.Config {
	b, ok := f.Breakers.Named[name]
	if !ok {
		b = f.Breakers.Default
	}
	c := b.config(f.ConstitutionalHash)
	c.Name = name
	return c
}

// RegistryConfig returns the breaker.RegistryConfig: the default breaker
// configuration and the hash.
func (f *File) RegistryConfig() breaker.RegistryConfig {
	return breaker.RegistryConfig{
		Default:            f.Breakers.Default.config(f.ConstitutionalHash),
		ConstitutionalHash: f.ConstitutionalHash,
	}
}

func (b Breaker) config(hash string) breaker.Config {
	w := breaker.CountWindow
	if b.Window == "time" {
		w = breaker.TimeWindow
	}
	return breaker.Config{
		ConsecutiveFailures:   b.ConsecutiveFailures,
		FailureRate:           b.FailureRate,
		SlowCallRate:          b.SlowCallRate,
		SlowCallThreshold:     b.SlowCallThreshold.D(),
		MinimumCalls:          b.MinimumCalls,
		Window:                w,
		WindowSize:            b.WindowSize,
		WindowDuration:        b.WindowDuration.D(),
		Buckets:               b.Buckets,
		OpenTimeout:           b.OpenTimeout.D(),
		OpenTimeoutMultiplier: b.OpenTimeoutMultiplier,
		MaxOpenTimeout:        b.MaxOpenTimeout.D(),
		HalfOpenMaxCalls:      b.HalfOpenMaxCalls,
		HalfOpenSuccesses:     b.HalfOpenSuccesses,
		HalfOpenTimeout:       b.HalfOpenTimeout.D(),
		ConstitutionalHash:    hash,
	}
}

// HealthConfig returns the health.Config. It does not validate.
func (f *File) HealthConfig() health.Config {
	h := f.Health
	return health.Config{
		Disabled:           h.Disabled,
		HistoryWindow:      h.HistoryWindow.D(),
		MaxHistory:         h.MaxHistory,
		CheckInterval:      h.CheckInterval.D(),
		DegradedThreshold:  h.DegradedThreshold,
		CriticalThreshold:  h.CriticalThreshold,
		Hysteresis:         h.Hysteresis,
		Weights:            maps.Clone(h.Weights),
		MinEventInterval:   h.MinEventInterval.D(),
		CallbackQueue:      h.CallbackQueue,
		TopOffenders:       h.TopOffenders,
		ConstitutionalHash: f.ConstitutionalHash,
	}
}

// RecoveryConfig returns the recovery.Config (its DefaultPolicy included;
// the per-service policies are Policies). It does not validate.
func (f *File) RecoveryConfig() recovery.Config {
	r := f.Recovery
	return recovery.Config{
		DefaultPolicy:      r.DefaultPolicy.policy(f.ConstitutionalHash),
		MaxConcurrent:      r.MaxConcurrent,
		MaxHistory:         r.MaxHistory,
		MaxRestarts:        r.MaxRestarts,
		RestartWindow:      r.RestartWindow.D(),
		Watch:              r.Watch,
		WatchBuffer:        r.WatchBuffer,
		Seed:               r.Seed,
		ConstitutionalHash: f.ConstitutionalHash,
	}
}

// Policies returns the per-service recovery policies, for
// recovery.Orchestrator.SetPolicy. It does not validate.
func (f *File) Policies() map[string]recovery.Policy {
	out := make(map[string]recovery.Policy, len(f.Recovery.Policies))
	for name, p := range f.Recovery.Policies {
		out[name] = p.policy(f.ConstitutionalHash)
	}
	return out
}

func (p Policy) policy(hash string) recovery.Policy {
	return recovery.Policy{
		MaxRetryAttempts:   p.MaxRetryAttempts,
		BackoffMultiplier:  p.BackoffMultiplier,
		InitialDelay:       p.InitialDelay.D(),
		MaxDelay:           p.MaxDelay.D(),
		Jitter:             p.Jitter,
		ActionTimeout:      p.ActionTimeout.D(),
		HealthCheckTimeout: p.HealthCheckTimeout.D(),
		Strategy:           p.Strategy,
		Priority:           p.Priority,
		ConstitutionalHash: hash,
	}
}

// ChaosConfig returns the chaos.Config, without stop conditions (StopOnCritical
// needs a health aggregator; the daemon adds it). It does not validate.
func (f *File) ChaosConfig() chaos.Config {
	c := f.Chaos
	return chaos.Config{
		Seed:        c.Seed,
		MaxDuration: c.MaxDuration.D(),
		MemoryCap:   antifragile.ByteSize(c.MemoryCapBytes),
		DiskIO: chaos.DiskIOConfig{
			Dir:            c.DiskIO.Dir,
			BytesPerSecond: antifragile.ByteSize(c.DiskIO.BytesPerSecond),
			MaxBytes:       antifragile.ByteSize(c.DiskIO.MaxBytes),
		},
		NetworkBandwidth:   antifragile.ByteSize(c.NetworkBandwidth),
		StopCheckInterval:  c.StopCheckInterval.D(),
		ConstitutionalHash: f.ConstitutionalHash,
	}
}

// MeterConfig returns the metering.Config without its Sink (see
// SinkTarget) and Logger. It does not validate.
func (f *File) MeterConfig() metering.Config {
	m := f.Metering
	return metering.Config{
		Disabled:            m.Disabled,
		MaxQueueSize:        m.MaxQueueSize,
		BatchSize:           m.BatchSize,
		FlushInterval:       m.FlushInterval.D(),
		AggregationInterval: m.AggregationInterval.D(),
		Retry: metering.RetryPolicy{
			Initial:     m.Retry.Initial.D(),
			Max:         m.Retry.Max.D(),
			Multiplier:  m.Retry.Multiplier,
			MaxAttempts: m.Retry.MaxAttempts,
		},
		ConstitutionalHash: f.ConstitutionalHash,
	}
}

// MemoryConfig returns the metering.MemoryConfig of the in-memory usage
// aggregation (window AggregationInterval).
func (f *File) MemoryConfig() metering.MemoryConfig {
	return metering.MemoryConfig{
		Window:     f.Metering.AggregationInterval.D(),
		MaxWindows: f.Metering.Memory.MaxWindows,
		MaxSeries:  f.Metering.Memory.MaxSeries,
		BillAll:    f.Metering.BillAll,
	}
}

// BusConfig returns the bus.Config without Registry, Chaos and Meter,
// which the caller wires. Agents' breakers use the registry's default.
func (f *File) BusConfig() bus.Config {
	return bus.Config{
		MailboxSize:        f.Bus.MailboxSize,
		PublishTimeout:     f.Bus.PublishTimeout.D(),
		ConstitutionalHash: f.ConstitutionalHash,
	}
}
