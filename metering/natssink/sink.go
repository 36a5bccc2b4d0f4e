package natssink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/antifragile-go/antifragile/metering"
)

// ErrClosed is returned by the methods of a closed Sink.
var ErrClosed = errors.New("natssink: sink closed")

// ErrStreamReset is returned by Fold when the stream holds fewer batches
// than the totals have folded: it was deleted and made anew, and the
// totals in the bucket belong to its earlier life (use a new Bucket).
var ErrStreamReset = errors.New("natssink: stream reset below the folded position")

// payloadSlack is left of the server's max payload for the headers.
const payloadSlack = 1024

// Sink is the JetStream metering.Sink: Write stores each batch in a stream
// once, Fold and Run fold the stored batches into per-tenant totals in a
// key-value bucket, exactly once per batch id however many instances
// write and fold (see the package doc). It is safe for concurrent use;
// every method but Config and Metrics blocks on JetStream round trips.
type Sink struct {
	cfg   Config
	nc    *nats.Conn
	owned bool
	js    jetstream.JetStream

	setupMu sync.Mutex
	stream  jetstream.Stream   // guarded by setupMu; nil until made
	totals  jetstream.KeyValue // guarded by setupMu
	batches jetstream.KeyValue // guarded by setupMu

	wmu sync.Mutex // guards buf between concurrent Writes
	buf []byte

	foldMu sync.Mutex // one Fold at a time
	next   uint64     // guarded by foldMu: the next stream sequence to fold

	published, duplicates, folded, foldDuplicates atomic.Uint64
	skipped, malformed, conflicts, foldErrors     atomic.Uint64
	closed                                        atomic.Bool
}

var _ metering.Sink = (*Sink)(nil)

// New validates cfg and returns a Sink on cfg.Conn or on a new connection
// to cfg.URL. A new connection reconnects for ever and refuses publishes
// while it is disconnected instead of buffering them, so that a Write
// either reaches the server or fails (and the Meter re-sends the batch);
// New returns even when the server cannot be reached yet. It creates no
// stream: the first Write or Fold does.
func New(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Sink{cfg: cfg, nc: cfg.Conn}
	if s.nc == nil {
		nc, err := nats.Connect(cfg.URL,
			nats.Name(cfg.ConnectionName),
			nats.RetryOnFailedConnect(true),
			nats.MaxReconnects(-1),
			nats.ReconnectBufSize(-1),
			nats.Timeout(cfg.Timeout),
		)
		if err != nil {
			return nil, fmt.Errorf("natssink: connect %s: %w", cfg.URL, err)
		}
		s.nc, s.owned = nc, true
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		s.closeConn()
		return nil, fmt.Errorf("natssink: %w", err)
	}
	s.js = js
	return s, nil
}

// Config returns the sink's configuration with defaults applied.
func (s *Sink) Config() Config { return s.cfg }

// Conn returns the sink's NATS connection.
func (s *Sink) Conn() *nats.Conn { return s.nc }

// Subject is the subject batches are published on.
func (s *Sink) Subject() string { return s.cfg.Subject + ".batch" }

// op bounds ctx by the configured timeout when it has no deadline.
func (s *Sink) op(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// setup returns the stream and buckets, creating them (or updating their
// limits to the Config's) on the first call and after a call that found
// them gone.
func (s *Sink) setup(ctx context.Context) (jetstream.Stream, jetstream.KeyValue, jetstream.KeyValue, error) {
	if s.closed.Load() {
		return nil, nil, nil, ErrClosed
	}
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	if s.stream != nil {
		return s.stream, s.totals, s.batches, nil
	}
	storage := jetstream.FileStorage
	if s.cfg.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	st, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: s.cfg.Stream, Description: "antifragile metering batches",
		Subjects: []string{s.cfg.Subject + ".>"}, Duplicates: s.cfg.DuplicateWindow,
		MaxAge: max(s.cfg.MaxAge, 0), MaxBytes: max(s.cfg.MaxBytes, -1), Discard: jetstream.DiscardOld,
		Replicas: s.cfg.Replicas, Storage: storage,
		AllowDirect: true, // Fold reads by sequence without the JSON and base64 of the API
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("natssink: stream %s: %w", s.cfg.Stream, err)
	}
	kvs := [2]jetstream.KeyValue{}
	for i, kc := range []jetstream.KeyValueConfig{
		{Bucket: s.cfg.Bucket, Description: "antifragile metering totals per tenant"},
		{Bucket: s.cfg.Bucket + "_BATCHES", Description: "antifragile metering batches folded", TTL: s.cfg.BatchTTL},
	} {
		kc.History, kc.Replicas, kc.Storage = 1, s.cfg.Replicas, storage
		if kvs[i], err = s.js.CreateOrUpdateKeyValue(ctx, kc); err != nil {
			return nil, nil, nil, fmt.Errorf("natssink: bucket %s: %w", kc.Bucket, err)
		}
	}
	s.stream, s.totals, s.batches = st, kvs[0], kvs[1]
	return st, kvs[0], kvs[1], nil
}

// forget drops the stream and buckets after an error that says they may be
// gone (a server that lost its store), so that the next call makes them
// anew.
func (s *Sink) forget(err error) {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, nats.ErrNoResponders) {
		s.setupMu.Lock()
		s.stream, s.totals, s.batches = nil, nil, nil
		s.setupMu.Unlock()
	}
}

// Write stores events in the stream as one message (or, above the
// server's max payload, as several parts split at event boundaries) whose
// Nats-Msg-Id is metering.BatchID(events) (a part's is "<id>-<i>-<n>"), so
// that a re-send within the DuplicateWindow is not stored again. It
// returns nil once every part is stored or recognized as a duplicate, and
// the error otherwise (the Meter then re-sends the same batch). A batch
// with an invalid event is refused whole with *ValidationErrors naming
// "events[i].<field>". The totals are updated by Fold, not here. An empty
// batch is a no-op.
func (s *Sink) Write(ctx context.Context, events []metering.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := validateEvents(events); err != nil {
		return err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	if _, _, _, err := s.setup(ctx); err != nil {
		return err
	}
	id := metering.BatchID(events)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	parts, err := s.encode(events)
	if err != nil {
		return err
	}
	for i, data := range parts {
		msgID := id
		if len(parts) > 1 {
			msgID = id + "-" + strconv.Itoa(i) + "-" + strconv.Itoa(len(parts))
		}
		if err := s.publish(ctx, msgID, data); err != nil {
			return fmt.Errorf("natssink: store batch %s of %d events: %w", msgID, len(events), err)
		}
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	return nil
}

func (s *Sink) publish(ctx context.Context, msgID string, data []byte) error {
	ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: s.Subject(), Data: data},
		jetstream.WithMsgID(msgID), jetstream.WithExpectStream(s.cfg.Stream))
	if err != nil {
		s.forget(err)
		return err
	}
	if ack.Duplicate {
		s.duplicates.Add(1)
	} else {
		s.published.Add(1)
	}
	return nil
}

// encode writes events as JSON Lines into s.buf and returns it cut into
// parts of at most the server's max payload (less payloadSlack), each
// ending at an event's end. It runs under s.wmu.
func (s *Sink) encode(events []metering.Event) ([][]byte, error) {
	// The split must be the same on every re-send, so that the parts keep
	// their ids: without a connection the max payload is unknown.
	limit := int(s.nc.MaxPayload()) - payloadSlack
	if limit <= 0 {
		return nil, fmt.Errorf("natssink: %w", nats.ErrDisconnected)
	}
	s.buf = s.buf[:0]
	var parts [][]byte
	start := 0
	for i := range events {
		at := len(s.buf)
		s.buf = append(events[i].AppendJSON(s.buf), '\n')
		if len(s.buf)-at > limit {
			return nil, fmt.Errorf("natssink: batch refused, nothing written: event %d is %d bytes of JSON, above the server's max payload less %d", i, len(s.buf)-at, payloadSlack)
		}
		if len(s.buf)-start > limit {
			parts = append(parts, s.buf[start:at])
			start = at
		}
	}
	return append(parts, s.buf[start:]), nil
}

// validateEvents checks the batch (metering.ValidateEvents) before
// anything is written.
func validateEvents(events []metering.Event) error {
	if err := metering.ValidateEvents(events); err != nil {
		return fmt.Errorf("natssink: batch refused, nothing written:\n%w", err)
	}
	return nil
}

// Metrics are a Sink's counters since New.
type Metrics struct {
	// Published counts the messages (batches, or parts of large ones) the
	// stream stored; Duplicates those it recognized as stored before (a
	// re-send within the DuplicateWindow) and did not store again.
	Published  uint64 `json:"published"`
	Duplicates uint64 `json:"duplicates"`
	// Folded counts the stored messages this sink folded into the totals
	// (or found already folded by another instance); FoldDuplicates those
	// whose batch id had been folded before from an earlier copy (a
	// re-send after the DuplicateWindow), which changed nothing.
	Folded         uint64 `json:"folded"`
	FoldDuplicates uint64 `json:"fold_duplicates"`
	// Skipped counts stream sequences gone (MaxAge, MaxBytes, deleted)
	// before this sink folded them; Malformed messages on the subject that
	// were not event batches. Neither is in the totals.
	Skipped   uint64 `json:"skipped"`
	Malformed uint64 `json:"malformed"`
	// Conflicts counts totals updates retried because another instance
	// updated the tenant first; FoldErrors failed folds of Run.
	Conflicts  uint64 `json:"conflicts"`
	FoldErrors uint64 `json:"fold_errors"`
	// Connected reports the connection's state.
	Connected bool `json:"connected"`
}

// Metrics returns the sink's counters. It does not block.
func (s *Sink) Metrics() Metrics {
	return Metrics{
		Published: s.published.Load(), Duplicates: s.duplicates.Load(),
		Folded: s.folded.Load(), FoldDuplicates: s.foldDuplicates.Load(),
		Skipped: s.skipped.Load(), Malformed: s.malformed.Load(),
		Conflicts: s.conflicts.Load(), FoldErrors: s.foldErrors.Load(),
		Connected: s.nc.IsConnected(),
	}
}

// Close closes the connection New made (not a Config.Conn). It does not
// fold what is stored but not folded: another instance's fold, or this
// one's next life, does. It is idempotent.
func (s *Sink) Close(context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.closeConn()
	return nil
}

func (s *Sink) closeConn() {
	if s.owned {
		s.nc.Close()
	}
}
