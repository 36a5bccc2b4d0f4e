package busnats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// Defaults of Config.
const (
	DefaultURL            = nats.DefaultURL
	DefaultPrefix         = "af.bus"
	DefaultRequestTimeout = 30 * time.Second
	DefaultPublishTimeout = 30 * time.Second
	DefaultConcurrency    = 16
	DefaultPendingLimit   = 65536
	DefaultReconnectWait  = 250 * time.Millisecond
	DefaultPingInterval   = 2 * time.Second
)

// Bounds of Config, checked by Validate.
const (
	MaxPrefix         = 64 // bytes
	MaxProcess        = 64 // bytes
	MaxRequestTimeout = time.Hour
	MaxPublishTimeout = time.Hour
	MaxConcurrency    = 1024
	MaxPendingLimit   = 1 << 20
	MaxReconnectWait  = time.Minute
	MaxPingInterval   = 10 * time.Minute
)

// Config configures a Transport. Its zero value connects to
// nats://127.0.0.1:4222 under the subject prefix "af.bus", naming the
// process after its host and pid.
type Config struct {
	// Conn is a connection to use; the Transport does not close it and
	// does not set its handlers (slow consumers are then counted from the
	// subscriptions alone). nil means a connection to URL made by New,
	// reconnecting for ever, and closed by Close.
	Conn *nats.Conn `json:"-"`
	// URL is the server (or comma-separated servers) when Conn is nil.
	// Empty means nats://127.0.0.1:4222.
	URL string `json:"url"`
	// Prefix starts every agent's subject: the agent "validator" is served
	// on "af.bus.validator". Dot-separated tokens of letters, digits, '-'
	// and '_', at most 64 bytes; empty means "af.bus".
	Prefix string `json:"prefix,omitempty"`
	// Process names this process on the wire (the Af-Process header) and
	// in chaos targets of its links ("link:<process>-><agent>"). Letters,
	// digits, '-', '_' and '.', at most 64 bytes; empty means
	// "<hostname>-<pid>".
	Process string `json:"process,omitempty"`
	// RequestTimeout bounds a Send whose context has no deadline (the
	// deadline is carried to the receiver either way), and, at the
	// receiver, a request that arrived without one. 0 means 30 s; negative
	// or above 1 h is invalid.
	RequestTimeout time.Duration `json:"request_timeout"`
	// PublishTimeout bounds, at the receiver, the handling of a published
	// message. 0 means 30 s; negative or above 1 h is invalid.
	PublishTimeout time.Duration `json:"publish_timeout"`
	// Concurrency is the number of workers Serve starts per agent: each
	// takes the next message of the agent's subscription (one of them
	// waiting for it at a time) and delivers it in its own goroutine (no
	// hand-off per message), so at most Concurrency messages of an agent
	// run at once in this process; the others wait in the subscription's
	// buffer. Handlers that wait on I/O want many; for handlers that only
	// compute, fewer (down to the number of CPUs) cost less CPU a message.
	// 0 means 16; negative or above 1,024 is invalid.
	Concurrency int `json:"concurrency"`
	// PendingLimit bounds the messages buffered per served agent before
	// NATS declares a slow consumer and drops them (counted in
	// Metrics.Dropped and Metrics.SlowConsumer); on a Config.Conn the
	// connection's SyncQueueLen (65,536 unless set) bounds them too. 0
	// means 65,536; negative or above 1,048,576 is invalid.
	PendingLimit int `json:"pending_limit"`
	// ReconnectWait is the pause between reconnection attempts of a
	// connection New makes. 0 means 250 ms; at most 1 minute.
	ReconnectWait time.Duration `json:"reconnect_wait"`
	// PingInterval is how often a connection New makes pings the server;
	// two unanswered pings count as a lost connection. 0 means 2 s; at
	// least 100 ms and at most 10 minutes.
	PingInterval time.Duration `json:"ping_interval"`
	// Logger receives a line per slow-consumer report of a connection New
	// made (Warn) and per request it could not read (Warn). nil means no
	// logging.
	Logger *slog.Logger `json:"-"`
}

// WithDefaults returns c with every zero field set to the default New
// applies. It does not validate.
func (c Config) WithDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Process == "" {
		host, _ := os.Hostname()
		c.Process = sanitize(host) + "-" + strconv.Itoa(os.Getpid())
	}
	c.RequestTimeout = orDefault(c.RequestTimeout, DefaultRequestTimeout)
	c.PublishTimeout = orDefault(c.PublishTimeout, DefaultPublishTimeout)
	c.ReconnectWait = orDefault(c.ReconnectWait, DefaultReconnectWait)
	c.PingInterval = orDefault(c.PingInterval, DefaultPingInterval)
	c.Concurrency = orDefault(c.Concurrency, DefaultConcurrency)
	c.PendingLimit = orDefault(c.PendingLimit, DefaultPendingLimit)
	return c
}

func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// sanitize keeps the characters a process name may hold.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if validNameRune(r) {
			return r
		}
		return '-'
	}, s)
}

func validNameRune(r rune) bool {
	return r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// validToken reports whether s is a non-empty subject token of letters,
// digits, '-' and '_'.
func validToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r == '.' || !validNameRune(r) })
}

// Validate reports every invalid field of c (after defaults) as a
// *ValidationError, joined; nil when c is valid.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var p antifragile.Problems
	if len(c.Prefix) > MaxPrefix || !validPrefix(c.Prefix) {
		p.Invalid("prefix", strconv.Quote(c.Prefix), "must be at most %d bytes of dot-separated tokens of letters, digits, '-' or '_'", MaxPrefix)
	}
	if len(c.Process) > MaxProcess || c.Process != sanitize(c.Process) {
		p.Invalid("process", strconv.Quote(c.Process), "must be at most %d letters, digits, '-', '_' or '.'", MaxProcess)
	}
	antifragile.InRange(&p, "request_timeout", c.RequestTimeout, time.Millisecond, MaxRequestTimeout, "")
	antifragile.InRange(&p, "publish_timeout", c.PublishTimeout, time.Millisecond, MaxPublishTimeout, "")
	antifragile.InRange(&p, "concurrency", c.Concurrency, 1, MaxConcurrency, "")
	antifragile.InRange(&p, "pending_limit", c.PendingLimit, 1, MaxPendingLimit, "")
	antifragile.InRange(&p, "reconnect_wait", c.ReconnectWait, time.Millisecond, MaxReconnectWait, "")
	antifragile.InRange(&p, "ping_interval", c.PingInterval, 100*time.Millisecond, MaxPingInterval, "")
	return p.Err()
}

func validPrefix(s string) bool {
	for tok := range strings.SplitSeq(s, ".") {
		if !validToken(tok) {
			return false
		}
	}
	return true
}

type plainConfig Config

// MarshalJSON writes the config's JSON form, durations as strings such as
// "30s"; Conn and Logger have none.
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }

// Transport is the bus.Transport on NATS core request/reply. On the
// sending side a bus calls it; on the receiving side Serve subscribes an
// agent of a bus and delivers what arrives with bus.Deliver. It is safe for
// concurrent use.
type Transport struct {
	cfg   Config
	nc    *nats.Conn
	owned bool

	base   context.Context // parent of deliveries; cancelled by Close once its ctx ends
	cancel context.CancelFunc

	mu     sync.RWMutex
	subs   map[string]*nats.Subscription // guarded by mu: by agent
	closed bool                          // guarded by mu
	wg     sync.WaitGroup                // the workers of Serve

	sent, published, undelivered, timedOut atomic.Uint64
	received, probes, malformed            atomic.Uint64
	publishFailed, slowConsumer            atomic.Uint64
	replyFailed                            atomic.Uint64
	droppedGone                            atomic.Uint64 // Dropped of subscriptions since removed
	shut                                   atomic.Bool   // set by Close: Send and Publish refuse
	inFlight                               atomic.Int64

	subjects   atomic.Pointer[map[string]string] // agent → subject, copied on write; see subject
	subjectsMu sync.Mutex                        // serialises the writers of subjects
}

var _ bus.Transport = (*Transport)(nil)

// New validates cfg and returns a Transport on cfg.Conn or on a new
// connection to cfg.URL (which reconnects for ever; New returns even when
// the server cannot be reached yet). It subscribes nothing: call Serve.
func New(cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	t := &Transport{cfg: cfg, nc: cfg.Conn, subs: map[string]*nats.Subscription{}}
	t.base, t.cancel = context.WithCancel(context.Background())
	if t.nc == nil {
		nc, err := nats.Connect(cfg.URL,
			nats.Name("antifragile-bus-"+cfg.Process),
			nats.RetryOnFailedConnect(true),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(cfg.ReconnectWait),
			nats.ReconnectJitter(cfg.ReconnectWait/10, cfg.ReconnectWait/10),
			nats.PingInterval(cfg.PingInterval),
			nats.MaxPingsOutstanding(2),
			nats.ErrorHandler(t.asyncError),
			nats.SyncQueueLen(cfg.PendingLimit),
		)
		if err != nil {
			t.cancel()
			return nil, fmt.Errorf("busnats: connect %s: %w", cfg.URL, err)
		}
		t.nc, t.owned = nc, true
	}
	return t, nil
}

// Config returns the transport's configuration with defaults applied.
func (t *Transport) Config() Config { return t.cfg }

// Conn returns the transport's NATS connection.
func (t *Transport) Conn() *nats.Conn { return t.nc }

// Subject returns the subject agent is served on: Prefix + "." + agent.
func (t *Transport) Subject(agent string) string { return t.cfg.Prefix + "." + agent }

// maxCachedSubjects bounds the subjects subject remembers.
const maxCachedSubjects = 4096

// subject is Subject, remembered for the agents sent to (at most
// maxCachedSubjects of them), so that a send does not build it again: a
// lookup in a map that is copied when an agent is added.
func (t *Transport) subject(agent string) string {
	if m := t.subjects.Load(); m != nil {
		if s, ok := (*m)[agent]; ok {
			return s
		}
	}
	s := t.Subject(agent)
	t.subjectsMu.Lock()
	defer t.subjectsMu.Unlock()
	var cur map[string]string
	if m := t.subjects.Load(); m != nil {
		cur = *m
	}
	if _, ok := cur[agent]; !ok && len(cur) < maxCachedSubjects {
		next := make(map[string]string, len(cur)+1)
		maps.Copy(next, cur)
		next[agent] = s
		t.subjects.Store(&next)
	}
	return s
}

// Link returns the chaos target of the link from this process to agent,
// "link:<process>-><agent>" (see LinkTarget).
func (t *Transport) Link(agent string) string { return LinkTarget(t.cfg.Process, agent) }

// LinkTarget returns the chaos target "link:<process>-><agent>" that the
// bus of process applies to every message it sends to the remote agent:
// a latency, error, timeout or network_partition scenario on it delays or
// fails that link at the sender.
func LinkTarget(process, agent string) string { return "link:" + process + "->" + agent }

// PartitionScenario returns the network_partition scenario
// "partition_<from>_<to>" that cuts every link from process from to the
// agents of process to, for duration: its targets are LinkTarget(from, a)
// for each of agents. Activated in the engine of from's bus, every message
// from from to those agents fails at once with chaos.ErrPartitioned
// (metered at the sender, counted by its breakers); activate
// PartitionScenario(to, from, agentsOfFrom, d) in to's engine too for a
// partition both ways. agents must not be empty.
func PartitionScenario(from, to string, agents []string, duration time.Duration) chaos.Scenario {
	links := make([]string, len(agents))
	for i, a := range agents {
		links[i] = LinkTarget(from, a)
	}
	var first string
	if len(links) > 0 {
		first = links[0]
	}
	s := chaos.PartitionScenario(first, duration, links...)
	s.Name = "partition_" + from + "_" + to
	return s
}

// checkAgent refuses an agent name that cannot be a subject token.
func checkAgent(agent string) error {
	if !validToken(agent) {
		return &ValidationError{Field: "agent", Value: strconv.Quote(agent), Err: errors.New("must be letters, digits, '-' or '_' to be carried on NATS")}
	}
	return nil
}

// asyncError logs the slow-consumer reports of the connection (the
// workers count them).
func (t *Transport) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if !errors.Is(err, nats.ErrSlowConsumer) {
		return
	}
	if t.cfg.Logger != nil {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		t.cfg.Logger.Warn("busnats: slow consumer: messages dropped", slog.String("subject", subject))
	}
}
