package clusternats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// ValidationError is the toolkit's validation error.
type ValidationError = antifragile.ValidationError

// Defaults of Config.
const (
	DefaultURL           = nats.DefaultURL
	DefaultBucketPrefix  = "AF"
	DefaultReconnectWait = 250 * time.Millisecond
	DefaultTimeout       = 2 * time.Second
	DefaultPingInterval  = 2 * time.Second
)

// Bounds of Config, checked by Open.
const (
	MaxReconnectWait = time.Minute
	MaxTimeout       = time.Minute
	MaxPingInterval  = 10 * time.Minute
	MaxReplicas      = 5
	MaxBucketPrefix  = 32 // bytes
)

// ErrClosed is returned by the methods of a closed Store.
var ErrClosed = errors.New("clusternats: store closed")

// Config configures a Store. Its zero value connects to
// nats://127.0.0.1:4222 and keeps the buckets on disk with one replica.
type Config struct {
	// Conn is a connection to use; the Store does not close it, and its
	// reconnect settings are the caller's. nil means a connection to URL
	// made by Open and closed by Close.
	Conn *nats.Conn `json:"-"`
	// URL is the server (or comma-separated servers) to connect to when
	// Conn is nil. Empty means nats://127.0.0.1:4222.
	URL string `json:"url"`
	// ConnectionName names the connection in the server's monitoring.
	// Empty means "antifragile-cluster".
	ConnectionName string `json:"connection_name,omitempty"`
	// BucketPrefix starts the name of every key-value bucket: a space
	// "shop-members" is the bucket "AF_shop-members". Letters, digits, '-'
	// and '_', at most 32 bytes; empty means "AF".
	BucketPrefix string `json:"bucket_prefix,omitempty"`
	// Replicas is the buckets' replication in a clustered JetStream. 0
	// means 1; at most 5.
	Replicas int `json:"replicas,omitempty"`
	// MemoryStorage keeps the buckets in the server's memory instead of on
	// disk: a restarted server forgets the lever.
	MemoryStorage bool `json:"memory_storage,omitempty"`
	// ReconnectWait is the pause between reconnection attempts (and
	// between attempts to watch again). 0 means 250 ms; at most 1 minute.
	ReconnectWait time.Duration `json:"reconnect_wait"`
	// Timeout bounds one operation whose context has no deadline, and the
	// first connection attempt. 0 means 2 s; at most 1 minute.
	Timeout time.Duration `json:"timeout"`
	// PingInterval is how often the connection pings the server; two
	// unanswered pings count as a lost connection (which a dead server's
	// closed socket shows at once, and a partition only this way). 0 means
	// 2 s; at most 10 minutes.
	PingInterval time.Duration `json:"ping_interval"`
}

// WithDefaults returns c with every zero field set to the default Open
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.ConnectionName == "" {
		c.ConnectionName = "antifragile-cluster"
	}
	if c.BucketPrefix == "" {
		c.BucketPrefix = DefaultBucketPrefix
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	return c
}

// Validate reports every invalid field of c (after defaults) as a
// *ValidationError, joined with errors.Join; nil when c is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	var p antifragile.Problems
	if len(c.BucketPrefix) > MaxBucketPrefix || strings.Trim(c.BucketPrefix, "-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		p.Invalid("bucket_prefix", strconv.Quote(c.BucketPrefix), "must be at most %d letters, digits, '-' or '_'", MaxBucketPrefix)
	}
	antifragile.InRange(&p, "replicas", c.Replicas, 1, MaxReplicas, "")
	antifragile.InRange(&p, "reconnect_wait", c.ReconnectWait, time.Millisecond, MaxReconnectWait, "")
	antifragile.InRange(&p, "timeout", c.Timeout, time.Millisecond, MaxTimeout, "")
	antifragile.InRange(&p, "ping_interval", c.PingInterval, 100*time.Millisecond, MaxPingInterval, "")
	return p.Err()
}

type plainConfig Config

// MarshalJSON writes the config's JSON form, durations as strings such as
// "250ms"; Conn has none.
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }

// Store is the cluster.Store on NATS JetStream: each cluster.Space is a
// key-value bucket (a stream) whose MaxAge is the space's TTL and whose
// per-key history is the space's. It is safe for concurrent use.
type Store struct {
	cfg   Config
	nc    *nats.Conn
	owned bool
	js    jetstream.JetStream

	watchRestarts atomic.Uint64
	closed        atomic.Bool

	mu      sync.Mutex
	buckets map[string]jetstream.KeyValue // guarded by mu: by space name
}

var _ cluster.Store = (*Store)(nil)

// Open validates cfg and returns a Store on cfg.Conn or on a new
// connection to cfg.URL. A new connection reconnects for ever
// (ReconnectWait apart) and refuses writes while it is not connected
// instead of buffering them, so that a write either reaches the server or
// fails; Open returns even when the server cannot be reached yet (the
// connection keeps trying), since a member must start and carry on
// locally without it. Close closes the connection Open made.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Store{cfg: cfg, nc: cfg.Conn, buckets: map[string]jetstream.KeyValue{}}
	if s.nc == nil {
		nc, err := nats.Connect(cfg.URL,
			nats.Name(cfg.ConnectionName),
			nats.RetryOnFailedConnect(true),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(cfg.ReconnectWait),
			nats.ReconnectJitter(cfg.ReconnectWait/10, cfg.ReconnectWait/10),
			nats.ReconnectBufSize(-1),
			nats.Timeout(cfg.Timeout),
			nats.PingInterval(cfg.PingInterval),
			nats.MaxPingsOutstanding(2),
		)
		if err != nil {
			return nil, fmt.Errorf("clusternats: connect %s: %w", cfg.URL, err)
		}
		s.nc, s.owned = nc, true
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		s.closeConn()
		return nil, fmt.Errorf("clusternats: %w", err)
	}
	s.js = js
	return s, nil
}

// Config returns the store's configuration with defaults applied.
func (s *Store) Config() Config { return s.cfg }

// Conn returns the store's NATS connection.
func (s *Store) Conn() *nats.Conn { return s.nc }

// Close closes the connection Open made (not a Config.Conn); watches end
// as their connection closes. Close the members first. It is idempotent.
func (s *Store) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.closeConn()
	return nil
}

func (s *Store) closeConn() {
	if s.owned {
		s.nc.Close()
	}
}

// Metrics are a Store's counters.
type Metrics struct {
	// Connected reports the connection's state; Reconnects counts its
	// reconnections.
	Connected  bool   `json:"connected"`
	Reconnects uint64 `json:"reconnects"`
	// WatchRestarts counts the watches made anew after a reconnection or a
	// failure.
	WatchRestarts uint64 `json:"watch_restarts"`
	// InMsgs and OutMsgs count the messages the connection received and
	// sent.
	InMsgs  uint64 `json:"in_msgs"`
	OutMsgs uint64 `json:"out_msgs"`
}

// Metrics returns the store's counters.
func (s *Store) Metrics() Metrics {
	st := s.nc.Stats()
	return Metrics{
		Connected:     s.nc.IsConnected(),
		Reconnects:    st.Reconnects,
		WatchRestarts: s.watchRestarts.Load(),
		InMsgs:        st.InMsgs,
		OutMsgs:       st.OutMsgs,
	}
}

// op bounds ctx by the configured timeout when it has no deadline.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// bucket returns the bucket of sp, creating it with sp's settings if it
// does not exist. An existing bucket keeps the settings it has.
func (s *Store) bucket(ctx context.Context, sp cluster.Space) (jetstream.KeyValue, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.Lock()
	kv := s.buckets[sp.Name]
	s.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	name := s.cfg.BucketPrefix + "_" + sp.Name
	kv, err := s.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.js.CreateKeyValue(ctx, s.bucketConfig(name, sp))
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = s.js.KeyValue(ctx, name) // created meanwhile, or with other settings
		}
	}
	if err != nil {
		return nil, fmt.Errorf("clusternats: bucket %s: %w", name, err)
	}
	s.mu.Lock()
	s.buckets[sp.Name] = kv
	s.mu.Unlock()
	return kv, nil
}

func (s *Store) bucketConfig(name string, sp cluster.Space) jetstream.KeyValueConfig {
	storage := jetstream.FileStorage
	if s.cfg.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	return jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "antifragile cluster space " + sp.Name,
		History:     uint8(min(max(sp.History, 1), jetstream.KeyValueMaxHistory)),
		TTL:         sp.TTL,
		Storage:     storage,
		Replicas:    s.cfg.Replicas,
	}
}

// forget drops the cached bucket of sp after an error that says it may be
// gone (a server that lost its store), so that the next call makes it anew.
func (s *Store) forget(sp cluster.Space, err error) {
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) {
		s.mu.Lock()
		delete(s.buckets, sp.Name)
		s.mu.Unlock()
	}
}

// Put writes value under key.
func (s *Store) Put(ctx context.Context, sp cluster.Space, key string, value []byte) (uint64, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	kv, err := s.bucket(ctx, sp)
	if err != nil {
		return 0, err
	}
	rev, err := kv.Put(ctx, key, value)
	if err != nil {
		s.forget(sp, err)
		return 0, fmt.Errorf("clusternats: put %s: %w", key, err)
	}
	return rev, nil
}

// Update writes value under key if its latest revision is rev (0: if it
// has no value); otherwise the error matches cluster.ErrConflict.
func (s *Store) Update(ctx context.Context, sp cluster.Space, key string, value []byte, rev uint64) (uint64, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	kv, err := s.bucket(ctx, sp)
	if err != nil {
		return 0, err
	}
	var n uint64
	if rev == 0 {
		n, err = kv.Create(ctx, key, value)
	} else {
		n, err = kv.Update(ctx, key, value, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, fmt.Errorf("clusternats: update %s at revision %d: %w", key, rev, cluster.ErrConflict)
	case err != nil:
		s.forget(sp, err)
		return 0, fmt.Errorf("clusternats: update %s: %w", key, err)
	}
	return n, nil
}

// Get returns the latest value of key; a key without one is
// cluster.ErrNotFound.
func (s *Store) Get(ctx context.Context, sp cluster.Space, key string) (cluster.Entry, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	kv, err := s.bucket(ctx, sp)
	if err != nil {
		return cluster.Entry{}, err
	}
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return cluster.Entry{}, fmt.Errorf("clusternats: get %s: %w", key, cluster.ErrNotFound)
	case err != nil:
		s.forget(sp, err)
		return cluster.Entry{}, fmt.Errorf("clusternats: get %s: %w", key, err)
	}
	return entry(e), nil
}

// Delete removes key's value (a delete marker: watchers see it).
func (s *Store) Delete(ctx context.Context, sp cluster.Space, key string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	kv, err := s.bucket(ctx, sp)
	if err != nil {
		return err
	}
	if err := kv.Delete(ctx, key); err != nil {
		s.forget(sp, err)
		return fmt.Errorf("clusternats: delete %s: %w", key, err)
	}
	return nil
}

// List returns the latest value of every key match selects. It reads them
// through one short-lived ordered consumer: one round trip to create it and
// one message per key, whatever the number of keys.
func (s *Store) List(ctx context.Context, sp cluster.Space, match string) ([]cluster.Entry, error) {
	subject, err := subjectOf(match)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	kv, err := s.bucket(ctx, sp)
	if err != nil {
		return nil, err
	}
	w, err := kv.Watch(ctx, subject, jetstream.IgnoreDeletes())
	if err != nil {
		s.forget(sp, err)
		return nil, fmt.Errorf("clusternats: list %s: %w", subject, err)
	}
	defer w.Stop()
	var out []cluster.Entry
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("clusternats: list %s: %w", subject, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("clusternats: list %s: the connection closed", subject)
			}
			if e == nil {
				return out, nil // every current value delivered
			}
			out = append(out, entry(e))
		}
	}
}

// Watch calls fn with the latest value of every key match selects, then
// with every change, until ctx ends. After a reconnection, or when the
// watch fails, it waits ReconnectWait and watches anew (delivering the
// latest values again).
func (s *Store) Watch(ctx context.Context, sp cluster.Space, match string, fn func(cluster.Entry)) error {
	subject, err := subjectOf(match)
	if err != nil {
		return err
	}
	reconnected := s.nc.StatusChanged(nats.CONNECTED)
	defer s.nc.RemoveStatusListener(reconnected)
	for {
		s.watchOnce(ctx, sp, subject, fn, reconnected)
		t := time.NewTimer(s.cfg.ReconnectWait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		for drained := false; !drained; { // one new watch serves every reconnection so far
			select {
			case <-reconnected:
			default:
				drained = true
			}
		}
		if s.closed.Load() {
			<-ctx.Done()
			return nil
		}
		s.watchRestarts.Add(1)
	}
}

// watchOnce runs one watch until ctx ends, the connection reconnects or
// the watch ends.
func (s *Store) watchOnce(ctx context.Context, sp cluster.Space, subject string, fn func(cluster.Entry), reconnected <-chan nats.Status) {
	kv, err := s.bucket(ctx, sp)
	if err != nil {
		return
	}
	w, err := kv.Watch(ctx, subject)
	if err != nil {
		s.forget(sp, err)
		return
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reconnected:
			return // the server may have lost the consumer: watch anew
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				fn(entry(e))
			}
		}
	}
}

// subjectOf maps a cluster match onto a key-value watch subject.
func subjectOf(match string) (string, error) {
	switch {
	case match == "":
		return ">", nil
	case strings.HasSuffix(match, "."):
		if len(match) == 1 {
			return "", antifragile.Invalid("match", match, "must not be only a dot")
		}
		return match + ">", nil
	}
	return match, nil
}

func entry(e jetstream.KeyValueEntry) cluster.Entry {
	op := e.Operation()
	return cluster.Entry{
		Key:      e.Key(),
		Value:    e.Value(),
		Revision: e.Revision(),
		Created:  e.Created(),
		Deleted:  op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge,
	}
}
