package metering

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives batches of events from a Meter. Write is called by one
// goroutine at a time per Meter; it must not retain the slice after it
// returns. A non-nil error makes the Meter re-send the same batch (same
// events, same IDs, same order) after a backoff, so a sink that may have
// partly applied a failed batch must be idempotent under re-send.
type Sink interface {
	Write(ctx context.Context, events []Event) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, events []Event) error

// Write calls f(ctx, events).
func (f SinkFunc) Write(ctx context.Context, events []Event) error { return f(ctx, events) }

var (
	// ErrRunning is returned by Run when the meter is already running.
	ErrRunning = errors.New("metering: meter already running")
	// ErrClosed is returned by Run and Flush once Close has been called.
	ErrClosed = errors.New("metering: meter closed")
	// ErrUndelivered is matched (errors.Is) by every *UndeliveredError.
	ErrUndelivered = errors.New("metering: events undelivered")
)

// UndeliveredError reports the events Close could not deliver before its
// context ended. They are counted in Metrics.Failed; nothing else is lost.
type UndeliveredError struct {
	// Events is how many accepted events were not delivered.
	Events int
	// Err is why: the context's error.
	Err error
}

// Error reads like `metering: 12 events undelivered: context deadline exceeded`.
func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("metering: %d events undelivered: %v", e.Events, e.Err)
}

// Unwrap returns Err.
func (e *UndeliveredError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUndelivered.
func (e *UndeliveredError) Is(target error) bool { return target == ErrUndelivered }

// closedBit marks the tail closed: no further claims succeed.
const closedBit = uint64(1) << 63

// clockIdleTicks is how many idle milliseconds stop the coarse clock.
const clockIdleTicks = 1000

// errHandover makes Run's flush give up the held batch to Close.
var errHandover = errors.New("metering: handing over to Close")

type slot struct {
	seq atomic.Uint64 // t+1 once the event claimed at position t is written
	ev  Event
}

type pad [64]byte

// Meter is a bounded, lock-free queue of
// events that Record fills without blocking and Run drains into a Sink in
// batches.
//
// Record, Metrics and Sink are safe for concurrent use from any number of
// goroutines; Run, Flush and Close may be called concurrently with them and
// with each other (one goroutine delivers at a time). Build one with New.
type Meter struct {
	// Read-only after New.
	enabled bool
	max     uint64
	batch   uint64
	mask    uint64
	slots   []slot
	hash    string
	_       pad

	tail    atomic.Uint64 // next position to claim; closedBit once closed
	_       pad
	head    atomic.Uint64 // first position not yet taken by the consumer
	_       pad
	dropped atomic.Uint64
	_       pad
	clockMs atomic.Int64 // coarse unix millis; 0 when the clock is stopped
	idle    atomic.Bool  // Run waits for a kick
	_       pad

	cfg      Config
	sink     Sink
	idPrefix string
	kick     chan struct{} // a full batch is waiting
	wake     chan struct{} // restart the coarse clock
	sem      chan struct{} // held by the goroutine delivering
	closing  chan struct{}
	closeMu  sync.Once
	running  atomic.Bool

	pending  []Event // guarded by sem: the batch being delivered
	pendingN atomic.Int64
	idBuf    []byte // guarded by sem
	idEnd    []int  // guarded by sem

	flushed, failed, errs, retries, clamped atomic.Uint64
	warnedDropped, warnedFailed             uint64    // guarded by sem
	lastWarn                                time.Time // guarded by sem
}

// New returns a Meter for cfg, or the *ValidationError(s) of cfg. It starts
// no goroutine: Record works at once (events wait in the queue), Run
// delivers them.
func New(cfg Config) (*Meter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Meter{
		enabled: !cfg.Disabled,
		max:     uint64(cfg.MaxQueueSize),
		batch:   uint64(cfg.BatchSize),
		hash:    cfg.ConstitutionalHash,
		cfg:     cfg,
		sink:    cfg.Sink,
		kick:    make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		sem:     make(chan struct{}, 1),
		closing: make(chan struct{}),
	}
	if m.sink == nil {
		ms, err := NewMemorySink(MemoryConfig{Window: cfg.AggregationInterval})
		if err != nil {
			return nil, err
		}
		m.sink = ms
	}
	if m.enabled {
		n := uint64(1)
		for n < m.max {
			n <<= 1
		}
		m.slots = make([]slot, n)
		m.mask = n - 1
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	m.idPrefix = hex.EncodeToString(b[:]) + "-"
	return m, nil
}

// Sink returns the sink the meter delivers to (the MemorySink it created
// when Config.Sink was nil).
func (m *Meter) Sink() Sink { return m.sink }

// Record queues e for delivery and reports whether it was accepted. It never
// blocks and never panics (a nil *Meter returns false). A zero e.Time is set
// to now, in UTC, from a millisecond clock that Run keeps (time.Now before
// Run). It returns false without counting anything when the meter is
// disabled, and false counting a drop when the queue is full or the meter is
// closed. Recording an event without metadata allocates nothing.
//
// Record is safe for concurrent use.
func (m *Meter) Record(e Event) bool {
	if m == nil || !m.enabled {
		return false
	}
	h := m.head.Load()
	t := m.tail.Load()
	if t&closedBit != 0 || t-h >= m.max {
		m.dropped.Add(1)
		return false
	}
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	for !m.tail.CompareAndSwap(t, t+1) {
		h = m.head.Load()
		t = m.tail.Load()
		if t&closedBit != 0 || t-h >= m.max {
			m.dropped.Add(1)
			return false
		}
	}
	s := &m.slots[t&m.mask]
	s.ev = e
	s.seq.Store(t + 1)
	if t+1-h >= m.batch && m.idle.Load() && m.idle.CompareAndSwap(true, false) {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// now returns the coarse clock's time, or time.Now when it is stopped (and
// asks Run's clock to restart).
func (m *Meter) now() time.Time {
	if ms := m.clockMs.Load(); ms != 0 {
		return time.UnixMilli(ms).UTC()
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return time.Now().UTC()
}

// Run delivers queued events until ctx ends or Close is called: a full batch
// as soon as BatchSize events are queued (and then as fast as the sink
// accepts), and whatever is queued every FlushInterval. A failed write is
// retried with Config.Retry's backoff while the batch is held. Run also
// keeps the millisecond clock that Record stamps events with.
//
// Run blocks, returns nil when ctx ends or Close is called, and returns only
// after every goroutine it started has exited. It does not flush on return:
// call Close for that. It returns ErrRunning if the meter is already running
// and ErrClosed after Close.
func (m *Meter) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	select {
	case <-m.closing:
		return ErrClosed
	default:
	}
	if !m.enabled {
		select {
		case <-ctx.Done():
		case <-m.closing:
		}
		return nil
	}
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { m.runClock(cctx) })
	defer wg.Wait()
	defer cancel()

	ticker := time.NewTicker(m.cfg.FlushInterval)
	defer ticker.Stop()
	defer m.idle.Store(false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.closing:
			return nil
		default:
		}
		m.idle.Store(true)
		if m.available() >= m.batch && m.idle.CompareAndSwap(true, false) {
			if !m.step(ctx, true) {
				runtime.Gosched() // the next event is still being written
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.closing:
			return nil
		case <-m.kick:
			_ = m.step(ctx, true)
		case <-ticker.C:
			m.idle.Store(false)
			_ = m.step(ctx, false)
		}
	}
}

// runClock refreshes the coarse clock every millisecond while events are
// being recorded; after a second without any it stops until Record wakes
// it.
func (m *Meter) runClock(ctx context.Context) {
	defer m.clockMs.Store(0)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	m.clockMs.Store(time.Now().UnixMilli())
	last, idle := m.tail.Load(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.clockMs.Store(time.Now().UnixMilli())
		if t := m.tail.Load(); t != last {
			last, idle = t, 0
			continue
		}
		if idle++; idle < clockIdleTicks {
			continue
		}
		tick.Stop()
		select {
		case <-m.wake:
		default:
		}
		m.clockMs.Store(0)
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		m.clockMs.Store(time.Now().UnixMilli())
		tick.Reset(time.Millisecond)
		last, idle = m.tail.Load(), 0
	}
}

// available is the number of claimed positions not yet taken.
func (m *Meter) available() uint64 {
	h := m.head.Load()
	return m.tail.Load()&^closedBit - h
}

// step is one pass of Run: deliver full batches (full) or everything queued
// now. It waits while Flush is delivering. It reports whether any event
// was taken from the queue.
func (m *Meter) step(ctx context.Context, full bool) bool {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	case <-m.closing:
		return false
	}
	defer m.release()
	h := m.head.Load()
	limit := ^uint64(0)
	if !full {
		limit = m.tail.Load() &^ closedBit
	}
	_ = m.drain(ctx, limit, full, false)
	m.warn()
	return m.head.Load() != h
}

func (m *Meter) acquire(ctx context.Context) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Meter) release() { <-m.sem }

// Flush delivers everything queued when it is called (and a batch held from
// an earlier failure), in batches of at most BatchSize, retrying failures
// per Config.Retry. It is the step that Run's ticker performs; tests may
// call it directly. It blocks until done or ctx ends, in which case it
// returns ctx's error and keeps the undelivered events queued. After Close
// it returns ErrClosed. Safe for concurrent use.
func (m *Meter) Flush(ctx context.Context) error {
	if !m.enabled {
		return nil
	}
	if err := m.acquire(ctx); err != nil {
		return err
	}
	defer m.release()
	select {
	case <-m.closing:
		return ErrClosed
	default:
	}
	err := m.drain(ctx, m.tail.Load()&^closedBit, false, false)
	if errors.Is(err, errHandover) {
		return ErrClosed
	}
	return err
}

// drain delivers events at positions below limit; with full, only while a
// whole batch is available. With final (Close) it waits for claimed events
// still being written. The caller holds sem.
func (m *Meter) drain(ctx context.Context, limit uint64, full, final bool) error {
	for {
		if len(m.pending) == 0 {
			if !final {
				select {
				case <-m.closing:
					return errHandover
				default:
				}
			}
			h := m.head.Load()
			lim := min(limit, m.tail.Load()&^closedBit)
			if h >= lim || (full && lim-h < m.batch) {
				return nil
			}
			m.take(int(m.batch), lim)
			if len(m.pending) == 0 {
				if !final {
					return nil // the next event is still being written; next pass
				}
				runtime.Gosched()
				continue
			}
		}
		if err := m.deliver(ctx, final); err != nil {
			return err
		}
	}
}

// take moves up to n written events below limit from the ring into
// m.pending, filling in IDs and defaults. The IDs of one batch share one
// string allocation. The caller holds sem.
func (m *Meter) take(n int, limit uint64) {
	h := m.head.Load()
	first := len(m.pending)
	m.idBuf = m.idBuf[:0]
	for len(m.pending) < n && h < limit {
		s := &m.slots[h&m.mask]
		if s.seq.Load() != h+1 {
			break
		}
		m.pending = append(m.pending, s.ev)
		s.ev = Event{}
		e := &m.pending[len(m.pending)-1]
		if e.ID == "" {
			m.idBuf = strconv.AppendUint(append(m.idBuf, m.idPrefix...), h, 10)
			m.idEnd = append(m.idEnd, len(m.idBuf))
		}
		if e.normalize(m.hash) {
			m.clamped.Add(1)
		}
		h++
	}
	if len(m.idEnd) > 0 {
		ids, start, j := string(m.idBuf), 0, 0
		for i := first; i < len(m.pending); i++ {
			if e := &m.pending[i]; e.ID == "" {
				e.ID = ids[start:m.idEnd[j]]
				start = m.idEnd[j]
				j++
			}
		}
		m.idEnd = m.idEnd[:0]
	}
	m.pendingN.Store(int64(len(m.pending)))
	m.head.Store(h)
}

// deliver writes m.pending until the sink accepts it, the retry policy gives
// up (counting the events failed), ctx ends, or Close takes over.
func (m *Meter) deliver(ctx context.Context, final bool) error {
	var closing <-chan struct{}
	if !final {
		closing = m.closing
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := m.write(ctx)
		if err == nil {
			m.flushed.Add(uint64(len(m.pending)))
			m.clearPending()
			return nil
		}
		m.errs.Add(1)
		if p := m.cfg.Retry.MaxAttempts; p > 0 && attempt >= p {
			m.failed.Add(uint64(len(m.pending)))
			m.clearPending()
			m.warn()
			return nil
		}
		m.warn()
		timer := time.NewTimer(m.cfg.Retry.delay(attempt))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-closing:
			timer.Stop()
			return errHandover
		}
		m.retries.Add(1)
	}
}

func (m *Meter) write(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("metering: sink panicked: %v", r)
		}
	}()
	return m.sink.Write(ctx, m.pending)
}

func (m *Meter) clearPending() {
	clear(m.pending)
	m.pending = m.pending[:0]
	m.pendingN.Store(0)
}

// warn logs, at most once per flush interval, drops and abandoned events
// since the last warning. The caller holds sem.
func (m *Meter) warn() {
	if m.cfg.Logger == nil {
		return
	}
	now := time.Now()
	if !m.lastWarn.IsZero() && now.Sub(m.lastWarn) < m.cfg.FlushInterval {
		return
	}
	m.lastWarn = now
	if d := m.dropped.Load(); d != m.warnedDropped {
		m.cfg.Logger.Warn("metering: queue full, events dropped",
			slog.Uint64("dropped", d-m.warnedDropped), slog.Uint64("dropped_total", d))
		m.warnedDropped = d
	}
	if f := m.failed.Load(); f != m.warnedFailed {
		m.cfg.Logger.Warn("metering: sink refused events, abandoned after retries",
			slog.Uint64("failed", f-m.warnedFailed), slog.Uint64("failed_total", f))
		m.warnedFailed = f
	}
}

// Close stops accepting events (Record returns false and counts a drop) and
// delivers everything still queued, including a batch held for retry,
// retrying failures until ctx ends. Events it could not deliver by then are
// counted in Metrics.Failed and reported as an *UndeliveredError (errors.Is
// ErrUndelivered); nothing is silently lost. Run returns once Close has
// been called.
//
// Close blocks until done or ctx ends. It is idempotent: a later call
// delivers nothing new and returns nil. Safe for concurrent use.
func (m *Meter) Close(ctx context.Context) error {
	m.closeMu.Do(func() {
		close(m.closing)
		for {
			t := m.tail.Load()
			if m.tail.CompareAndSwap(t, t|closedBit) {
				break
			}
		}
	})
	if !m.enabled {
		return nil
	}
	if err := m.acquire(ctx); err != nil {
		if n := m.queueSize(); n > 0 {
			return &UndeliveredError{Events: n, Err: err}
		}
		return nil
	}
	defer m.release()
	end := m.tail.Load() &^ closedBit
	err := m.drain(ctx, end, false, true)
	if err == nil {
		return nil
	}
	// Abandon the rest, counted.
	n := len(m.pending)
	m.clearPending()
	for m.head.Load() < end {
		m.take(int(m.batch), end)
		n += len(m.pending)
		m.clearPending()
		runtime.Gosched()
	}
	m.failed.Add(uint64(n))
	return &UndeliveredError{Events: n, Err: err}
}

func (m *Meter) queueSize() int {
	h := m.head.Load()
	return int(m.tail.Load()&^closedBit-h) + int(m.pendingN.Load())
}

// Metrics is a snapshot of a Meter's counters.
// Once the meter is quiet, Queued = Flushed + Failed + QueueSize.
type Metrics struct {
	// Queued counts events accepted by Record since New.
	Queued uint64 `json:"queued"`
	// Flushed counts events the sink accepted.
	Flushed uint64 `json:"flushed"`
	// Dropped counts events Record refused because the queue was full or
	// the meter closed.
	Dropped uint64 `json:"dropped"`
	// Failed counts accepted events abandoned undelivered: by
	// RetryPolicy.MaxAttempts or when Close's context ended.
	Failed uint64 `json:"failed"`
	// Errors counts sink writes that failed.
	Errors uint64 `json:"errors"`
	// Retries counts re-sent batches.
	Retries uint64 `json:"retries"`
	// Clamped counts events whose tokens or latency were above their
	// bounds (MaxEventTokens, MaxEventLatency) and were lowered to them.
	Clamped uint64 `json:"clamped"`
	// QueueSize is the number of accepted events not yet delivered or
	// abandoned, including a batch held for retry.
	QueueSize int `json:"queue_size"`
	// MaxQueueSize is the configured bound.
	MaxQueueSize int `json:"max_queue_size"`
	// Running reports whether Run is running.
	Running bool `json:"running"`
	// Enabled reports whether the meter records events.
	Enabled bool `json:"enabled"`
	// ConstitutionalHash is the meter's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Metrics returns a snapshot of the counters. It does not block, does not
// allocate, and is safe for concurrent use.
func (m *Meter) Metrics() Metrics {
	return Metrics{
		Queued:             m.tail.Load() &^ closedBit,
		Flushed:            m.flushed.Load(),
		Dropped:            m.dropped.Load(),
		Failed:             m.failed.Load(),
		Errors:             m.errs.Load(),
		Retries:            m.retries.Load(),
		Clamped:            m.clamped.Load(),
		QueueSize:          m.queueSize(),
		MaxQueueSize:       m.cfg.MaxQueueSize,
		Running:            m.running.Load(),
		Enabled:            m.enabled,
		ConstitutionalHash: m.hash,
	}
}
