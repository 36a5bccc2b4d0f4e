package system

import (
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/codec"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
	"github.com/antifragile-go/antifragile/recovery"
)

// ValidationError reports one problem of a Config; Field is its JSON path,
// such as "recovery.policies.validator.initial_delay". It is the
// toolkit-wide antifragile.ValidationError, so errors.Is(err,
// antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// Defaults of the fields whose zero value stands for something else.
const (
	// DefaultListen is the ops API's listen address: loopback only.
	DefaultListen = "127.0.0.1:8080"
	// DefaultTokenEnv is the environment variable read for the ops token
	// when the config sets none.
	DefaultTokenEnv = "ANTIFRAGILE_TOKEN"
	// DefaultReadTokenEnv is the environment variable read for the read
	// token when the config sets none.
	DefaultReadTokenEnv = "ANTIFRAGILE_READ_TOKEN"
	// MinTokenLength is the shortest token accepted: a token guards every
	// write, so a short one is a typo or a guess away.
	MinTokenLength = 16
	// DefaultSink is the metering sink: in-memory aggregation.
	DefaultSink = "memory"

	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultCloseTimeout      = 30 * time.Second
	DefaultBodyTimeout       = 10 * time.Second
	// DefaultMaxConnections is the ops server's connection cap when
	// OpsConfig.MaxConnections is 0 (lowered to leave room below the
	// process's open-file limit, see the daemon).
	DefaultMaxConnections = 1024
	// MaxMaxConnections bounds OpsConfig.MaxConnections.
	MaxMaxConnections = 1 << 20

	// MaxBodyBytes bounds OpsConfig.MaxBodyBytes.
	MaxBodyBytes = 64 << 20
	// MaxOpsTimeout bounds the ops server's timeouts and the meter's close
	// timeout.
	MaxOpsTimeout = time.Hour
)

// Config is the whole configuration of a running antifragile system. Its
// JSON form is the config file: each component's own Config under its
// section (breakers, health, recovery, chaos, metering, bus), plus the ops
// API's settings and the few options that belong to the assembly. Every
// field is optional: the zero Config is valid and means every package's
// defaults (Default spells the few that are not zero). Durations are strings
// ("250ms"), sizes bytes or strings with a unit ("256MiB"), unknown fields
// are refused (see Parse).
//
// ConstitutionalHash is handed to every component whose own hash is empty.
// The fields tagged json:"-" are what a file cannot hold: a logger, the
// dashboard, the environment. A Config is plain data; it is not safe for
// concurrent mutation.
type Config struct {
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`
	// Ops configures the ops HTTP API and its server.
	Ops OpsConfig `json:"ops"`
	// Breakers configures the circuit breakers of the shared registry.
	Breakers BreakersConfig `json:"breakers"`
	// Health configures the health aggregator.
	Health health.Config `json:"health"`
	// Recovery configures the recovery orchestrator and its policies.
	Recovery recovery.Config `json:"recovery"`
	// Chaos configures the chaos engine.
	Chaos ChaosConfig `json:"chaos"`
	// Metering configures the meter and its sink.
	Metering MeteringConfig `json:"metering"`
	// Bus configures the agent bus (its registry, chaos engine and meter are
	// the system's).
	Bus bus.Config `json:"bus"`
	// Cluster configures cluster mode (off unless its url is set).
	Cluster ClusterConfig `json:"cluster"`
	// Tune configures the tuning ledger (see System.ApplyTuning).
	Tune TuneConfig `json:"tune"`

	// Logger receives the system's and its components' log lines. nil
	// discards them.
	Logger *slog.Logger `json:"-"`
	// Dashboard, if set, is served by the ops API at GET / and its assets.
	// nil means GET / answers with a JSON index of the routes.
	Dashboard http.Handler `json:"-"`
	// Getenv reads the token's environment variable. nil means os.Getenv.
	Getenv func(string) string `json:"-"`
	// Source re-reads the configuration for a reload — the ops API's
	// POST /config/reload and System.ReloadSource, which the daemon's
	// SIGHUP calls — from wherever this one came from (a file, the
	// environment, flags). nil means the reload route answers 503. The
	// Source of the configuration it returns is not used.
	Source func() (*Config, error) `json:"-"`
}

// OpsConfig configures the ops HTTP API and the server a daemon runs it in.
type OpsConfig struct {
	// Listen is the "host:port" the API listens on; port 0 picks a free
	// port. Empty means 127.0.0.1:8080 (loopback only).
	Listen string `json:"listen"`
	// Token is the bearer token of the write routes. Empty means: read the
	// environment variable named by TokenEnv. There is never a built-in
	// token: with none, the write routes are disabled.
	Token string `json:"token"`
	// TokenEnv names the environment variable holding the token when Token
	// is empty. Empty means ANTIFRAGILE_TOKEN. A token (from either) is
	// trimmed of surrounding white space and must be at least
	// MinTokenLength (16) characters, without white space or control
	// characters.
	TokenEnv string `json:"token_env"`
	// ReadToken, if set (or found in the variable ReadTokenEnv names), is a
	// bearer token every read route needs too (the write token is accepted
	// as well); /livez and /readyz stay open. Empty means the reads are
	// public — they include the usage of every tenant.
	ReadToken string `json:"read_token"`
	// ReadTokenEnv names the environment variable holding the read token
	// when ReadToken is empty. Empty means ANTIFRAGILE_READ_TOKEN.
	ReadTokenEnv string `json:"read_token_env"`
	// AllowedHosts are the host names (without port) a request's Host
	// header may carry. Empty means: when Listen is a loopback address,
	// 127.0.0.1, localhost and ::1 (so that a web page cannot reach the API
	// through DNS rebinding); otherwise any host.
	AllowedHosts []string `json:"allowed_hosts"`
	// AllowUnauthenticated lets the API listen beyond loopback without a
	// token, with a warning in the log. By default that is refused: anyone
	// who can reach the address could read every tenant's usage.
	AllowUnauthenticated bool `json:"allow_unauthenticated"`
	// ReadyStatuses are the health statuses in which /readyz answers ready.
	// Empty means HEALTHY and DEGRADED (ready unless CRITICAL or UNKNOWN).
	ReadyStatuses []health.Status `json:"ready_statuses"`
	// MaxBodyBytes bounds request bodies. 0 means 1 MiB; negative or above
	// MaxBodyBytes (64 MiB) is invalid.
	MaxBodyBytes antifragile.ByteSize `json:"max_body_bytes"`
	// ReadHeaderTimeout bounds reading a request's headers. 0 means 10 s;
	// negative or above MaxOpsTimeout (1 h) is invalid.
	ReadHeaderTimeout time.Duration `json:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. 0 means none (the
	// default, because the server's read deadline would also end the
	// long-lived /events streams); negative or above MaxOpsTimeout is
	// invalid.
	ReadTimeout time.Duration `json:"read_timeout"`
	// IdleTimeout bounds how long an idle keep-alive connection is kept.
	// 0 means 2 min; negative or above MaxOpsTimeout is invalid.
	IdleTimeout time.Duration `json:"idle_timeout"`
	// BodyTimeout bounds reading a request's body, from the moment its
	// headers are read: a client that announces a body and sends it slowly,
	// or never, loses its connection then. 0 means 10 s; negative or above
	// MaxOpsTimeout is invalid.
	BodyTimeout time.Duration `json:"body_timeout"`
	// ShutdownTimeout bounds each step of a shutdown that waits (requests
	// in flight, the chaos engine, the bus's drain). 0 means 10 s; negative
	// or above MaxOpsTimeout is invalid.
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	// MaxConnections caps the connections the server holds at once; past
	// it, new connections wait in the listen backlog until one ends, and
	// the log says so (once a minute at most). 0 means 1,024, lowered to
	// the process's open-file limit less 64; negative or above 1,048,576
	// is invalid.
	MaxConnections int `json:"max_connections"`
	// TLSCertFile and TLSKeyFile, both or neither, make the server speak
	// HTTPS with this PEM certificate (chain) and private key, read when
	// the daemon is built. Empty means plain HTTP.
	TLSCertFile string `json:"tls_cert_file"`
	TLSKeyFile  string `json:"tls_key_file"`
}

// BreakersConfig configures the breakers of the shared registry.
type BreakersConfig struct {
	// Default is the configuration of every breaker not named in Named
	// (the bus's agents, breakers created through the registry's
	// GetOrCreate).
	Default breaker.Config `json:"default"`
	// Named configures breakers by name; they are created when the system
	// is built. In JSON, each entry starts as a copy of Default and
	// overrides the fields it sets.
	Named map[string]breaker.Config `json:"named"`
}

// ChaosConfig configures the chaos engine: its own Config, and whether the
// health status may stop it.
type ChaosConfig struct {
	// Engine is the engine's Config; in JSON its fields sit in this section
	// itself. Its StopConditions are kept, and StopOnCritical adds one.
	Engine chaos.Config `json:",inline"`
	// StopOnCritical aborts every scenario (as an emergency stop) when the
	// health status becomes CRITICAL. The default, false, lets experiments
	// drive the system to CRITICAL.
	StopOnCritical bool `json:"stop_on_critical"`
}

// MeteringConfig configures the meter and where its events go.
type MeteringConfig struct {
	// Meter is the meter's Config (its Sink and Logger are the system's); in
	// JSON its fields sit in this section itself.
	Meter metering.Config `json:",inline"`
	// Sink says where events go: "memory" (in-memory aggregation, the
	// default when empty), "file:/path/to/usage.jsonl" (JSON Lines, fsynced
	// per batch), "redis://[user:password@]host:port/db" (also rediss://
	// for TLS) or "nats://[user:password@]host:port" (NATS JetStream: every
	// instance's batches in one stream, stored once, and per-tenant totals
	// across them at GET /cluster/usage). Whatever the sink, usage is also
	// aggregated in memory for the ops API.
	Sink string `json:"sink"`
	// CloseTimeout bounds the final flush at shutdown. 0 means 30 s;
	// negative or above MaxOpsTimeout (1 h) is invalid.
	CloseTimeout time.Duration `json:"close_timeout"`
	// BillAll counts rejected and injected events like billable ones, in
	// memory and in the Redis and NATS sinks' aggregates.
	BillAll bool `json:"bill_all"`
	// Memory bounds the in-memory aggregation, whose window is the meter's
	// AggregationInterval.
	Memory MemorySinkConfig `json:"memory"`
	// SpoolDir, when set, puts a crash-safe spool (metering.Spool) between
	// the meter and the durable sink: each batch is fsynced into this
	// directory before the meter forgets it and delivered from there, in
	// order, retrying with backoff, so that a process killed with kill -9
	// loses at most the meter's last flush interval (100 ms by default with
	// a spool) and the next process delivers what it had spooled. It needs
	// a file:, redis:// or nats:// sink. Empty means no spool.
	SpoolDir string `json:"spool_dir"`
	// SpoolMaxBytes bounds the undelivered batches in SpoolDir. 0 means
	// 256 MiB; above 64 GiB is invalid.
	SpoolMaxBytes antifragile.ByteSize `json:"spool_max_bytes"`
	// File configures a file: sink.
	File FileSinkConfig `json:"file"`
	// Redis configures a redis:// sink.
	Redis RedisSinkConfig `json:"redis"`
	// NATS configures a nats:// sink: the stream, subject and buckets,
	// duplicate window, limits, replicas and fold interval (see the
	// metering/natssink package's Config); its url is metering.sink and its
	// bill_all is metering.bill_all.
	NATS natssink.Config `json:"nats"`
}

// ClusterConfig configures cluster mode: this instance joins a cluster
// whose control plane is NATS JetStream (see the cluster package and
// docs/cluster.md) — heartbeats and the cluster view, the cluster-wide
// emergency stop and the dead-man switch, fleet chaos, shared breaker
// signals.
type ClusterConfig struct {
	// URL is the NATS server (or comma-separated servers), such as
	// "nats://127.0.0.1:4222". Empty means cluster mode is off.
	URL string `json:"url"`
	// Member configures this instance's membership (cluster name, instance
	// name, labels, heartbeat interval, TTL, lease, quorums); in JSON its
	// fields sit in this section itself. Its Logger and hash are the
	// system's.
	Member cluster.Config `json:",inline"`
	// NATS configures the connection and the key-value buckets; its url is
	// cluster.url.
	NATS clusternats.Config `json:"nats"`
}

// Enabled reports whether cluster mode is on.
func (c ClusterConfig) Enabled() bool { return c.URL != "" }

// MemorySinkConfig bounds the in-memory usage aggregation (see
// metering.MemoryConfig).
type MemorySinkConfig struct {
	// MaxWindows is how many windows are kept. 0 means 1440.
	MaxWindows int `json:"max_windows"`
	// MaxSeries bounds the series of one window. 0 means 10,000.
	MaxSeries int `json:"max_series"`
}

// FileSinkConfig configures a file: metering sink (see
// metering.FileConfig; the path comes from the sink URL).
type FileSinkConfig struct {
	// MaxBytes rotates the file at this size. 0 means 64 MiB; negative
	// means never rotate.
	MaxBytes antifragile.ByteSize `json:"max_bytes"`
	// MaxFiles is how many rotated files are kept. 0 means 5.
	MaxFiles int `json:"max_files"`
}

// RedisSinkConfig configures a redis:// metering sink (see the
// metering/redis package's Config; the server comes from the sink URL).
type RedisSinkConfig struct {
	// Stream is the stream key. Empty means "antifragile:metering:events".
	Stream string `json:"stream"`
	// KeyPrefix prefixes the other keys. Empty means
	// "antifragile:metering:".
	KeyPrefix string `json:"key_prefix"`
	// MaxLen trims the stream. 0 means 1,000,000; negative never trims.
	MaxLen int64 `json:"max_len"`
	// BatchTTL is how long a batch is recognised as applied. 0 means 24 h.
	BatchTTL time.Duration `json:"batch_ttl"`
}

// Default returns the embedded defaults: the ops API on 127.0.0.1:8080, its
// token from $ANTIFRAGILE_TOKEN, metering into memory, and every other
// field zero (each package's own defaults). It is equivalent to the zero
// Config, with the non-zero defaults written out.
func Default() *Config {
	return &Config{
		Ops:      OpsConfig{Listen: DefaultListen, TokenEnv: DefaultTokenEnv},
		Metering: MeteringConfig{Sink: DefaultSink},
	}
}

// Clone returns a deep copy of c's data (the functions and handlers it
// holds are shared).
func (c *Config) Clone() *Config {
	d := *c
	d.Ops.ReadyStatuses = slices.Clone(c.Ops.ReadyStatuses)
	d.Breakers.Named = maps.Clone(c.Breakers.Named)
	d.Health.Weights = maps.Clone(c.Health.Weights)
	d.Recovery.Policies = maps.Clone(c.Recovery.Policies)
	d.Chaos.Engine.StopConditions = slices.Clone(c.Chaos.Engine.StopConditions)
	d.Cluster.Member.Labels = maps.Clone(c.Cluster.Member.Labels)
	d.Cluster.Member.Quorum = maps.Clone(c.Cluster.Member.Quorum)
	return &d
}

// ListenAddr returns Ops.Listen, or DefaultListen when it is empty.
func (c *Config) ListenAddr() string {
	if c.Ops.Listen == "" {
		return DefaultListen
	}
	return c.Ops.Listen
}

// TokenEnvName returns Ops.TokenEnv, or DefaultTokenEnv when it is empty.
func (c *Config) TokenEnvName() string {
	if c.Ops.TokenEnv == "" {
		return DefaultTokenEnv
	}
	return c.Ops.TokenEnv
}

// Token resolves the ops bearer token: Ops.Token if set, else the value of
// the environment variable TokenEnvName() as Getenv returns it (nil means
// os.Getenv), with surrounding white space trimmed (a value written with
// echo ends in a newline). An empty result means no token: the write routes
// are disabled. There is never a built-in default.
func (c *Config) Token() string { return c.resolve(c.Ops.Token, c.TokenEnvName()) }

// ReadToken resolves the read token like Token, from Ops.ReadToken or the
// variable Ops.ReadTokenEnv names (ANTIFRAGILE_READ_TOKEN by default).
func (c *Config) ReadToken() string {
	env := c.Ops.ReadTokenEnv
	if env == "" {
		env = DefaultReadTokenEnv
	}
	return c.resolve(c.Ops.ReadToken, env)
}

func (c *Config) resolve(value, env string) string {
	if value != "" {
		return strings.TrimSpace(value)
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return strings.TrimSpace(getenv(env))
}

// BreakerConfig returns the breaker.Config of the breaker called name: its
// entry in Breakers.Named, else Breakers.Default, with Name set and the
// system's hash when it has none. It does not validate.
func (c *Config) BreakerConfig(name string) breaker.Config {
	b, ok := c.Breakers.Named[name]
	if !ok {
		b = c.Breakers.Default
	}
	b.Name = name
	b.ConstitutionalHash = hashOr(b.ConstitutionalHash, c.ConstitutionalHash)
	return b
}

// hashOr returns h, or dflt when h is empty.
func hashOr(h, dflt string) string {
	if h == "" {
		return dflt
	}
	return h
}

// The JSON forms of the configs: each type decodes a method-less copy of
// itself with the codec, so that its fields are declared once.
type (
	plainConfig          Config
	plainOpsConfig       OpsConfig
	plainBreakersConfig  BreakersConfig
	plainChaosConfig     ChaosConfig
	plainMeteringConfig  MeteringConfig
	plainClusterConfig   ClusterConfig
	plainRedisSinkConfig RedisSinkConfig
)

// MarshalJSON writes the config file form of c.
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the config file form strictly (see Parse); fields
// absent from b keep their values. It does not validate.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }

// MarshalJSON writes the breakers section.
func (c BreakersConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainBreakersConfig(c)) }

// UnmarshalJSON reads the breakers section; each entry of named starts as
// a copy of default.
func (c *BreakersConfig) UnmarshalJSON(b []byte) error {
	err := codec.Decode(b, (*plainBreakersConfig)(c))
	codec.Inherit(b, "named", c.Default, c.Named)
	return err
}

// MarshalJSON writes the ops section, durations as strings.
func (c OpsConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainOpsConfig(c)) }

// UnmarshalJSON reads the ops section strictly.
func (c *OpsConfig) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainOpsConfig)(c)) }

// MarshalJSON writes the chaos section: the engine's fields and
// stop_on_critical side by side.
func (c ChaosConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainChaosConfig(c)) }

// UnmarshalJSON reads the chaos section strictly.
func (c *ChaosConfig) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainChaosConfig)(c)) }

// MarshalJSON writes the cluster section: url, the member's fields and
// the nats options.
func (c ClusterConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainClusterConfig(c)) }

// UnmarshalJSON reads the cluster section strictly.
func (c *ClusterConfig) UnmarshalJSON(b []byte) error {
	return codec.Decode(b, (*plainClusterConfig)(c))
}

// MarshalJSON writes the metering section: the meter's fields and the
// sink's side by side.
func (c MeteringConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainMeteringConfig(c)) }

// UnmarshalJSON reads the metering section strictly.
func (c *MeteringConfig) UnmarshalJSON(b []byte) error {
	return codec.Decode(b, (*plainMeteringConfig)(c))
}

// MarshalJSON writes the redis sink options, durations as strings.
func (c RedisSinkConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainRedisSinkConfig(c)) }

// UnmarshalJSON reads the redis sink options strictly.
func (c *RedisSinkConfig) UnmarshalJSON(b []byte) error {
	return codec.Decode(b, (*plainRedisSinkConfig)(c))
}
