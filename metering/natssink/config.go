package natssink

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// ValidationError is the toolkit's validation error.
type ValidationError = antifragile.ValidationError

// Defaults of Config.
const (
	DefaultURL             = nats.DefaultURL
	DefaultStream          = "AF_METERING"
	DefaultSubject         = "antifragile.metering"
	DefaultBucket          = "AF_METERING_USAGE"
	DefaultDuplicateWindow = 2 * time.Minute
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultMaxBytes        = 1 << 30
	DefaultBatchTTL        = 24 * time.Hour
	DefaultTimeout         = 5 * time.Second
	DefaultFoldInterval    = time.Second
)

// Bounds of Config, checked by Validate.
const (
	MaxName            = 64  // bytes of Stream and Bucket
	MaxSubject         = 128 // bytes of Subject
	MaxConnectionName  = 256 // bytes
	MinDuplicateWindow = time.Second
	MaxDuplicateWindow = 24 * time.Hour
	MinMaxAge          = time.Minute
	MaxMaxAge          = 365 * 24 * time.Hour
	MinMaxBytes        = 1 << 20
	MaxMaxBytes        = 1 << 50
	MaxReplicas        = 5
	MaxBatchTTL        = 30 * 24 * time.Hour
	MaxTimeout         = time.Minute
	MinFoldInterval    = 10 * time.Millisecond
	MaxFoldInterval    = time.Hour
)

// Config configures a Sink. Its zero value connects to
// nats://127.0.0.1:4222 and keeps the stream and buckets on disk with one
// replica.
type Config struct {
	// Conn is a connection to use; the Sink does not close it. nil means a
	// connection to URL made by New (reconnecting for ever) and closed by
	// Close.
	Conn *nats.Conn `json:"-"`
	// URL is the server (or comma-separated servers) when Conn is nil.
	// Empty means nats://127.0.0.1:4222.
	URL string `json:"url,omitempty"`
	// ConnectionName names a connection New makes. Empty means
	// "antifragile-metering"; at most 256 bytes.
	ConnectionName string `json:"connection_name,omitempty"`
	// Stream is the JetStream stream the batches are stored in; the Sink
	// creates it, or updates its limits to these. Letters, digits, '-' and
	// '_', at most 64 bytes; empty means "AF_METERING".
	Stream string `json:"stream,omitempty"`
	// Subject prefixes the subjects of the stream: batches are published
	// on "<Subject>.batch" and the stream holds "<Subject>.>". Dot-separated
	// tokens without spaces or wildcards, at most 128 bytes; empty means
	// "antifragile.metering".
	Subject string `json:"subject,omitempty"`
	// Bucket is the key-value bucket of the per-tenant totals; the batch
	// markers are in "<Bucket>_BATCHES". Letters, digits, '-' and '_', at
	// most 64 bytes; empty means "AF_METERING_USAGE".
	Bucket string `json:"bucket,omitempty"`
	// DuplicateWindow is the stream's de-duplication window: a batch
	// re-sent within it is not stored again. 0 means 2 minutes; otherwise
	// within [1s, 24h] and at most MaxAge.
	DuplicateWindow time.Duration `json:"duplicate_window,omitempty"`
	// MaxAge is how long the stream keeps a batch. 0 means 7 days;
	// negative means no age limit; otherwise within [1m, 365 days].
	MaxAge time.Duration `json:"max_age,omitempty"`
	// MaxBytes bounds the stream's size (the oldest batches go first). 0
	// means 1 GiB; negative means no size limit; otherwise at least 1 MiB.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Replicas is the stream's and buckets' replication in a clustered
	// JetStream. 0 means 1; at most 5.
	Replicas int `json:"replicas,omitempty"`
	// MemoryStorage keeps the stream and buckets in the server's memory.
	MemoryStorage bool `json:"memory_storage,omitempty"`
	// BatchTTL is how long a batch id folded into the totals is
	// remembered: a batch stored twice (re-sent after the stream's
	// DuplicateWindow) is counted once if its copies are less than BatchTTL
	// apart. 0 means 24 h; otherwise within [DuplicateWindow, 30 days].
	BatchTTL time.Duration `json:"batch_ttl,omitempty"`
	// Timeout bounds one call whose context has no deadline. 0 means 5 s;
	// at most 1 minute.
	Timeout time.Duration `json:"timeout,omitempty"`
	// FoldInterval is how often Run folds new batches into the totals. 0
	// means 1 s; within [10ms, 1h].
	FoldInterval time.Duration `json:"fold_interval,omitempty"`
	// BillAll counts rejected and injected events in count, tokens,
	// latency and compliance like ok and error ones (as
	// metering.MemoryConfig.BillAll).
	BillAll bool `json:"bill_all,omitempty"`
	// Logger hears of Run's folds failing (once per run of failures) and
	// of their recovery. nil means no logging.
	Logger *slog.Logger `json:"-"`
}

func (c Config) withDefaults() Config {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.URL, DefaultURL)
	set(&c.ConnectionName, "antifragile-metering")
	set(&c.Stream, DefaultStream)
	set(&c.Subject, DefaultSubject)
	set(&c.Bucket, DefaultBucket)
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setDur(&c.DuplicateWindow, DefaultDuplicateWindow)
	setDur(&c.MaxAge, DefaultMaxAge)
	setDur(&c.BatchTTL, DefaultBatchTTL)
	setDur(&c.Timeout, DefaultTimeout)
	setDur(&c.FoldInterval, DefaultFoldInterval)
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c
}

// Validate reports every invalid field of c (after defaults) as a
// *ValidationError naming its JSON field, joined; nil when c is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	var p antifragile.Problems
	if len(c.ConnectionName) > MaxConnectionName {
		p.Invalid("connection_name", len(c.ConnectionName), "must be at most %d bytes", MaxConnectionName)
	}
	checkName(&p, "stream", c.Stream)
	checkName(&p, "bucket", c.Bucket)
	if err := checkSubject(c.Subject); err != "" {
		p.Invalid("subject", strconv.Quote(c.Subject), "%s", err)
	}
	antifragile.InRange(&p, "duplicate_window", c.DuplicateWindow, MinDuplicateWindow, MaxDuplicateWindow, "")
	if c.MaxAge > 0 {
		antifragile.InRange(&p, "max_age", c.MaxAge, MinMaxAge, MaxMaxAge, "")
		if c.DuplicateWindow > c.MaxAge {
			p.Invalid("duplicate_window", c.DuplicateWindow, "must not exceed max_age (%s)", c.MaxAge)
		}
	}
	if c.MaxBytes > 0 {
		antifragile.InRange(&p, "max_bytes", c.MaxBytes, MinMaxBytes, MaxMaxBytes, "")
	}
	antifragile.InRange(&p, "replicas", c.Replicas, 1, MaxReplicas, "")
	antifragile.InRange(&p, "batch_ttl", c.BatchTTL, c.DuplicateWindow, MaxBatchTTL, "at least the duplicate window")
	antifragile.InRange(&p, "timeout", c.Timeout, time.Millisecond, MaxTimeout, "")
	antifragile.InRange(&p, "fold_interval", c.FoldInterval, MinFoldInterval, MaxFoldInterval, "")
	return p.Err()
}

const nameChars = "-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func checkName(p *antifragile.Problems, field, v string) {
	if len(v) > MaxName || strings.Trim(v, nameChars) != "" {
		p.Invalid(field, strconv.Quote(v), "must be at most %d letters, digits, '-' or '_'", MaxName)
	}
}

// checkSubject says what is wrong with a subject prefix, or "".
func checkSubject(s string) string {
	if len(s) > MaxSubject {
		return "must be at most " + strconv.Itoa(MaxSubject) + " bytes"
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" {
			return "must be dot-separated tokens, none empty"
		}
		if tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
			return "must not hold spaces or the wildcards '*' and '>'"
		}
	}
	return ""
}

type plainConfig Config

// MarshalJSON writes the Config's JSON form, durations as strings such as
// "2m0s"; Conn and Logger have none.
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Values are checked by Validate, not here.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }
