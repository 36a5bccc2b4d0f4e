package metering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/flock"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
)

// Defaults and bounds of a SpoolConfig.
const (
	DefaultSpoolMaxBytes antifragile.ByteSize = 256 << 20
	MaxSpoolMaxBytes     antifragile.ByteSize = 64 << 30
	// SpoolFlushInterval is the flush interval a meter should use in front of
	// a spool: what a crash may lose is what the meter held since its last
	// flush into the spool.
	SpoolFlushInterval = 100 * time.Millisecond
)

// ErrSpoolFull is returned by Spool.Write when the spool holds MaxBytes of
// undelivered batches: the meter keeps the batch and retries, and drops what
// its own queue cannot hold (counted in its Metrics).
var ErrSpoolFull = errors.New("metering: spool full")

// SpoolConfig configures a Spool.
type SpoolConfig struct {
	// Dir holds the spooled batches, one file each; it is created if
	// missing and locked by one Spool at a time. Required.
	Dir string
	// Sink receives the batches, in the order they were spooled. Required.
	Sink Sink
	// MaxBytes bounds the undelivered batches on disk. 0 means 256 MiB;
	// negative or above MaxSpoolMaxBytes (64 GiB) is invalid.
	MaxBytes antifragile.ByteSize
	// Retry governs re-sending a batch Sink refused. Its zero value retries
	// from 100 ms doubling up to 30 s; MaxAttempts is ignored (a spooled
	// batch is kept until delivered).
	Retry RetryPolicy
	// Logger receives a line when a batch is recovered at start and when
	// delivery fails. nil means no logging.
	Logger *slog.Logger
}

// Spool is a crash-safe queue of batches on local disk between a Meter and
// its sink, like the file-backed sending queue of the OpenTelemetry
// collector. Put it in the meter's Config.Sink (with a FlushInterval of
// SpoolFlushInterval): Write makes each batch durable — written, fsynced and
// renamed into place — and returns, and Run delivers the spooled batches to
// the real sink in order, retrying with backoff, removing each once
// delivered. A process killed with kill -9 loses only what its meter had
// not yet flushed into the spool; the next Spool on the same directory
// delivers what the dead one had spooled. Delivery is at least once: a batch
// delivered just before a crash, but not yet removed, is delivered again,
// with the same event ids — once for a sink idempotent per batch (the Redis
// sink), twice for a plain file. Its methods are safe for concurrent use.
type Spool struct {
	cfg  SpoolConfig
	lock *os.File

	wake chan struct{} // a batch was spooled

	mu      sync.Mutex
	pending []spooled // guarded by mu: oldest first
	bytes   int64     // guarded by mu
	seq     uint64    // guarded by mu: the last batch number
	closed  bool      // guarded by mu

	sendMu sync.Mutex // serialises delivery (Run and Close)

	spooledN, delivered, recovered, retries, errors atomic.Uint64
}

// spooled is one batch file.
type spooled struct {
	path  string
	size  int64
	count int
}

var _ Sink = (*Spool)(nil)

// NewSpool opens (creating it if needed) and locks cfg.Dir, and finds the
// batches a previous process left there, which Run delivers first. It
// starts nothing. Close it when done.
func NewSpool(cfg SpoolConfig) (*Spool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultSpoolMaxBytes
	}
	cfg.Retry = cfg.Retry.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("metering: spool: %w", err)
	}
	lock, err := flock.Lock(filepath.Join(cfg.Dir, "spool.lock"))
	if err != nil {
		return nil, fmt.Errorf("metering: spool: %s is in use (%w)", cfg.Dir, err)
	}
	s := &Spool{cfg: cfg, lock: lock, wake: make(chan struct{}, 1)}
	if err := s.recover(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

func (c SpoolConfig) validate() error {
	var p antifragile.Problems
	if c.Dir == "" {
		p.Invalid("dir", c.Dir, "is required")
	}
	p.Add(nilcheck.Required("sink", c.Sink))
	antifragile.InRange(&p, "max_bytes", c.MaxBytes, 0, MaxSpoolMaxBytes, "")
	for _, err := range c.Retry.withDefaults().validate() {
		p.Add(err)
	}
	return p.Err()
}

// batchFile names batch number n; the names sort in spooling order.
func batchFile(n uint64) string { return fmt.Sprintf("batch-%020d.jsonl", n) }

// recover lists the batch files a previous spool left, oldest first, and
// removes the temporary files of writes it did not finish.
func (s *Spool) recover() error {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("metering: spool: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".tmp"):
			_ = os.Remove(filepath.Join(s.cfg.Dir, name))
		case strings.HasPrefix(name, "batch-") && strings.HasSuffix(name, ".jsonl"):
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "batch-"), ".jsonl"), 10, 64)
			if err != nil {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			s.pending = append(s.pending, spooled{path: filepath.Join(s.cfg.Dir, name), size: info.Size(), count: -1})
			s.bytes += info.Size()
			s.seq = max(s.seq, n)
		}
	}
	slices.SortFunc(s.pending, func(a, b spooled) int { return strings.Compare(a.path, b.path) })
	if n := len(s.pending); n > 0 {
		s.recovered.Store(uint64(n))
		if s.cfg.Logger != nil {
			s.cfg.Logger.Info("metering: spool: delivering batches left by a previous process", "dir", s.cfg.Dir, "batches", n)
		}
	}
	return nil
}

// Write spools one batch durably and returns; it does not deliver it. It
// returns ErrSpoolFull when MaxBytes are already waiting, and an error when
// the disk refuses the write (the meter then retries the batch).
func (s *Spool) Write(_ context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	var buf []byte
	for i := range events {
		buf = events[i].AppendJSON(buf)
		buf = append(buf, '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("metering: spool closed")
	case s.bytes+int64(len(buf)) > int64(s.cfg.MaxBytes):
		return ErrSpoolFull
	}
	n := s.seq + 1
	path := filepath.Join(s.cfg.Dir, batchFile(n))
	if err := writeDurably(path, buf); err != nil {
		return fmt.Errorf("metering: spool: %w", err)
	}
	s.seq = n
	s.pending = append(s.pending, spooled{path: path, size: int64(len(buf)), count: len(events)})
	s.bytes += int64(len(buf))
	s.spooledN.Add(uint64(len(events)))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeDurably writes data to path so that after a crash path holds all of
// data or does not exist: a temporary file, fsynced, renamed, then the
// directory fsynced.
func writeDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Run delivers the spooled batches in order until ctx ends, waiting for
// new ones in between and retrying a refused batch with backoff. It blocks
// and returns nil once ctx ends (the batch being delivered then is kept for
// later).
func (s *Spool) Run(ctx context.Context) error {
	for {
		if err := s.deliverAll(ctx); err != nil {
			return nil // ctx ended
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
	}
}

// deliverAll delivers every pending batch, retrying each until it is
// delivered or ctx ends (then it returns ctx's error).
func (s *Spool) deliverAll(ctx context.Context) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return nil
		}
		b := s.pending[0]
		s.mu.Unlock()
		if err := s.deliver(ctx, b); err != nil {
			return err
		}
	}
}

// deliver sends batch b until the sink takes it, then removes its file.
func (s *Spool) deliver(ctx context.Context, b spooled) error {
	events, err := readBatch(b.path)
	if err != nil {
		// A batch that cannot be read back cannot be delivered: it is
		// dropped, counted and logged, so that it does not block the rest.
		s.errors.Add(1)
		if s.cfg.Logger != nil {
			s.cfg.Logger.Error("metering: spool: an unreadable batch is dropped", "file", b.path, "err", err)
		}
		s.remove(b)
		return nil
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.cfg.Sink.Write(ctx, events)
		if err == nil {
			s.delivered.Add(uint64(len(events)))
			s.remove(b)
			return nil
		}
		s.retries.Add(1)
		if s.cfg.Logger != nil && attempt == 1 {
			s.cfg.Logger.Warn("metering: spool: the sink refused a batch; retrying with backoff", "err", err)
		}
		t := time.NewTimer(s.cfg.Retry.delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// remove forgets batch b, the oldest pending one, and deletes its file.
func (s *Spool) remove(b spooled) {
	_ = os.Remove(b.path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 && s.pending[0].path == b.path {
		s.pending = s.pending[1:]
		s.bytes -= b.size
	}
}

// readBatch reads the events of one batch file.
func readBatch(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var events []Event
	r := NewReader(f)
	for {
		e, err := r.Next()
		switch {
		case errors.Is(err, io.EOF):
			if r.Torn() {
				return nil, errors.New("the batch file is torn")
			}
			return events, nil
		case err != nil:
			return nil, err
		}
		events = append(events, e)
	}
}

// Close refuses further writes, delivers what is pending until ctx ends
// (what is left stays on disk for the next spool), and releases the
// directory. It is idempotent; it returns ctx's error when batches were
// left.
func (s *Spool) Close(ctx context.Context) error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	err := s.deliverAll(ctx)
	if cerr := s.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// SpoolMetrics are a Spool's counters.
type SpoolMetrics struct {
	// Spooled counts the events written to disk, Delivered those the sink
	// took; Pending is the batches waiting and PendingBytes their size.
	Spooled      uint64 `json:"spooled"`
	Delivered    uint64 `json:"delivered"`
	Pending      int    `json:"pending_batches"`
	PendingBytes int64  `json:"pending_bytes"`
	// Recovered counts the batches found at start, left by a previous
	// process; Retries the refused deliveries; Errors the batches dropped
	// because they could not be read back.
	Recovered uint64 `json:"recovered_batches"`
	Retries   uint64 `json:"retries"`
	Errors    uint64 `json:"errors"`
}

// Metrics returns the spool's counters.
func (s *Spool) Metrics() SpoolMetrics {
	s.mu.Lock()
	pending, bytes := len(s.pending), s.bytes
	s.mu.Unlock()
	return SpoolMetrics{
		Spooled: s.spooledN.Load(), Delivered: s.delivered.Load(), Pending: pending, PendingBytes: bytes,
		Recovered: s.recovered.Load(), Retries: s.retries.Load(), Errors: s.errors.Load(),
	}
}
