package natssink

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/antifragile-go/antifragile/metering"
)

// MaxFoldMessages bounds the stored messages one Fold reads, so that a
// call after a long pause returns in bounded time; the next call goes on.
const MaxFoldMessages = 10_000

// MaxTenants bounds the tenants Aggregates returns.
const MaxTenants = 100_000

// maxConflicts bounds the retries of one tenant's compare-and-set.
const maxConflicts = 64

// cursorKey holds the stream sequence through which every stored message
// has been folded, by some instance.
const cursorKey = "cursor"

// totals is one tenant's entry in the totals bucket: its sums, and Seq,
// the stream sequence of the last message folded into them. Every message
// below Seq that names the tenant has been folded into it too.
type totals struct {
	Seq              uint64 `json:"seq"`
	Tenant           string `json:"tenant"`
	Count            int64  `json:"count"`
	Tokens           int64  `json:"tokens"`
	LatencyNs        int64  `json:"latency_ns"`
	LatencyMaxNs     int64  `json:"latency_max_ns"`
	ComplianceMicros int64  `json:"compliance_micros"`
	Errors           int64  `json:"errors"`
	Rejected         int64  `json:"rejected"`
	Injected         int64  `json:"injected"`
}

// satAdd adds two non-negative sums, stopping at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// addEvent counts e: its outcome always, its figures when it is billable
// or billAll.
func (t *totals) addEvent(e *metering.Event, billAll bool) {
	switch e.Outcome {
	case metering.OutcomeError:
		t.Errors++
	case metering.OutcomeRejected:
		t.Rejected++
	case metering.OutcomeInjected:
		t.Injected++
	}
	if !billAll && !e.Outcome.Billable() {
		return
	}
	lat := max(int64(e.Latency), 0)
	t.Count++
	t.Tokens = satAdd(t.Tokens, max(e.Tokens, 0))
	t.LatencyNs = satAdd(t.LatencyNs, lat)
	t.LatencyMaxNs = max(t.LatencyMaxNs, lat)
	t.ComplianceMicros = satAdd(t.ComplianceMicros, ComplianceMicros(e.Compliance))
}

// add adds the sums of o to t.
func (t *totals) add(o *totals) {
	t.Count = satAdd(t.Count, o.Count)
	t.Tokens = satAdd(t.Tokens, o.Tokens)
	t.LatencyNs = satAdd(t.LatencyNs, o.LatencyNs)
	t.LatencyMaxNs = max(t.LatencyMaxNs, o.LatencyMaxNs)
	t.ComplianceMicros = satAdd(t.ComplianceMicros, o.ComplianceMicros)
	t.Errors = satAdd(t.Errors, o.Errors)
	t.Rejected = satAdd(t.Rejected, o.Rejected)
	t.Injected = satAdd(t.Injected, o.Injected)
}

// usage converts t to a lifetime metering.Usage.
func (t *totals) usage() metering.Usage {
	u := metering.Usage{
		Tenant: t.Tenant, Count: t.Count, Tokens: t.Tokens,
		LatencySum: time.Duration(t.LatencyNs), LatencyMax: time.Duration(t.LatencyMaxNs),
		Errors: t.Errors, Rejected: t.Rejected, Injected: t.Injected,
	}
	if t.Count > 0 {
		u.ComplianceMean = float64(t.ComplianceMicros) / 1e6 / float64(t.Count)
	}
	return u
}

// ComplianceMicros is how a compliance score is summed: the score clamped
// to [0, 1] (NaN as 0) in millionths, rounded, so that sums are exact
// integers.
func ComplianceMicros(c float64) int64 {
	if !(c > 0) {
		return 0
	}
	return int64(math.Round(min(c, 1) * 1e6))
}

// tenantKey is the tenant's key in the totals bucket: "t." and the tenant
// in unpadded URL-safe base64, since a key allows few characters.
func tenantKey(tenant string) string {
	return "t." + base64.RawURLEncoding.EncodeToString([]byte(tenant))
}

// batchKey is a batch id's marker key: "b." and the id when it is made of
// key characters (as metering.BatchID's are), else its SHA-256 in hex.
func batchKey(id string) string {
	if len(id) <= 128 && strings.Trim(id, nameChars+".=/") == "" && !strings.Contains(id, "..") {
		return "b." + id
	}
	sum := sha256.Sum256([]byte(id))
	return "b.h" + hex.EncodeToString(sum[:])
}

// Fold folds the messages stored since the last Fold (of this sink, or of
// any instance: it starts after the bucket's cursor when that is ahead)
// into the per-tenant totals, at most MaxFoldMessages of them, in stream
// order, and returns how many it read. It blocks on two round trips per
// message (foldParallel in flight) and two per tenant; concurrent calls
// run one at a time. Each
// message is folded exactly once however many instances fold at the same
// time (see the package doc).
func (s *Sink) Fold(ctx context.Context) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	st, tot, bat, err := s.setup(ctx)
	if err != nil {
		return 0, err
	}
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	info, err := st.Info(ctx)
	if err != nil {
		s.forget(err)
		return 0, fmt.Errorf("natssink: stream %s: %w", s.cfg.Stream, err)
	}
	cursor, curRev, err := readCursor(ctx, tot)
	if err != nil {
		return 0, err
	}
	last := info.State.LastSeq
	if cursor > last || s.next > last+1 {
		return 0, fmt.Errorf("%w: the stream's last sequence is %d, the totals' cursor %d", ErrStreamReset, last, max(cursor, s.next-1))
	}
	from := max(s.next, cursor+1, 1)
	if first := info.State.FirstSeq; from < first {
		s.skipped.Add(first - from)
		from = first
	}
	s.next = from // everything before is folded, by this sink or the cursor's
	to := min(last, from+MaxFoldMessages-1)
	if from > to {
		return 0, nil
	}
	grp, n, readErr := s.readRange(ctx, st, bat, from, to)
	for _, tenant := range slices.Sorted(maps.Keys(grp)) {
		if err := s.apply(ctx, tot, tenant, grp[tenant]); err != nil {
			return 0, err // s.next stays: the next Fold reads these again
		}
	}
	s.folded.Add(uint64(n))
	s.next = from + uint64(n)
	if s.next > cursor+1 {
		s.advanceCursor(ctx, tot, s.next-1, curRev)
	}
	return n, readErr
}

// seqTotals are one tenant's sums in the message at Seq.
type seqTotals struct {
	seq uint64
	t   *totals
}

// foldParallel bounds the messages a Fold reads and marks at once.
const foldParallel = 32

// What reading one stored message found.
const (
	readBatch = iota
	readGone
	readDuplicate
	readMalformed
)

// readResult is what reading the message at one sequence gave: its sums
// per tenant when it is the counted copy of a batch, or why not.
type readResult struct {
	kind int
	aggs map[string]*totals
	err  error
}

// readRange reads and marks the messages from..to, foldParallel at a time
// (the marks need no order: whichever copy of a batch is marked first is
// the one every folder counts), and returns the sums per tenant of the
// messages before the first that failed, in stream order, with how many
// those are and the failure.
func (s *Sink) readRange(ctx context.Context, st jetstream.Stream, bat jetstream.KeyValue, from, to uint64) (map[string][]seqTotals, int, error) {
	res := make([]readResult, to-from+1)
	sem := make(chan struct{}, foldParallel)
	var wg sync.WaitGroup
	for i := range res {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res[i] = s.readSeq(ctx, st, bat, from+uint64(i))
		})
	}
	wg.Wait()
	grp := map[string][]seqTotals{}
	for i, r := range res {
		if r.err != nil {
			return grp, i, r.err
		}
		switch r.kind {
		case readGone:
			s.skipped.Add(1)
		case readDuplicate:
			s.foldDuplicates.Add(1)
		case readMalformed:
			s.malformed.Add(1)
		}
		for tenant, t := range r.aggs {
			grp[tenant] = append(grp[tenant], seqTotals{from + uint64(i), t})
		}
	}
	return grp, len(res), nil
}

// readSeq reads the message at seq and, if it is still stored, marks its
// batch id.
func (s *Sink) readSeq(ctx context.Context, st jetstream.Stream, bat jetstream.KeyValue, seq uint64) readResult {
	msg, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return readResult{kind: readGone}
	}
	if err != nil {
		s.forget(err)
		return readResult{err: fmt.Errorf("natssink: read message %d: %w", seq, err)}
	}
	if id := msg.Header.Get(jetstream.MsgIDHeader); id != "" {
		first, err := s.mark(ctx, bat, id, seq)
		if err != nil {
			return readResult{err: err}
		}
		if first != seq {
			return readResult{kind: readDuplicate}
		}
	}
	aggs, ok := s.aggregate(msg.Data)
	if !ok {
		return readResult{kind: readMalformed}
	}
	return readResult{aggs: aggs}
}

// aggregate sums a stored batch (JSON Lines of events) per tenant; false
// when it is not one.
func (s *Sink) aggregate(data []byte) (map[string]*totals, bool) {
	aggs := map[string]*totals{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		var e metering.Event
		if err := e.UnmarshalJSON([]byte(line)); err != nil || e.Validate() != nil {
			return nil, false
		}
		tenant := cmp.Or(e.Tenant, metering.DefaultTenant)
		t := aggs[tenant]
		if t == nil {
			t = &totals{Tenant: tenant}
			aggs[tenant] = t
		}
		t.addEvent(&e, s.cfg.BillAll)
	}
	return aggs, len(aggs) > 0
}

// mark records seq as the counted copy of batch id, unless one is
// recorded already, and returns the counted copy's sequence.
func (s *Sink) mark(ctx context.Context, bat jetstream.KeyValue, id string, seq uint64) (uint64, error) {
	key := batchKey(id)
	_, err := bat.Create(ctx, key, strconv.AppendUint(nil, seq, 10))
	if err == nil {
		return seq, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		s.forget(err)
		return 0, fmt.Errorf("natssink: mark batch %s: %w", id, err)
	}
	e, err := bat.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("natssink: read batch mark %s: %w", id, err)
	}
	first, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("natssink: batch mark %s holds %q: %w", id, e.Value(), err)
	}
	return first, nil
}

// apply adds to the tenant's totals the sums of the messages in inc (in
// stream order) that they have not folded yet — those after the entry's
// Seq — by compare-and-set on the entry's revision, and moves its Seq to
// the last of them.
func (s *Sink) apply(ctx context.Context, tot jetstream.KeyValue, tenant string, inc []seqTotals) error {
	key := tenantKey(tenant)
	for range maxConflicts {
		cur, rev, err := readTotals(ctx, tot, key)
		if err != nil {
			return err
		}
		i, _ := slices.BinarySearchFunc(inc, cur.Seq+1, func(e seqTotals, seq uint64) int { return cmp.Compare(e.seq, seq) })
		if i == len(inc) {
			return nil // folded by another instance
		}
		for _, e := range inc[i:] {
			cur.add(e.t)
		}
		cur.Tenant, cur.Seq = tenant, inc[len(inc)-1].seq
		data, _ := json.Marshal(cur)
		if rev == 0 {
			_, err = tot.Create(ctx, key, data)
		} else {
			_, err = tot.Update(ctx, key, data, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			s.forget(err)
			return fmt.Errorf("natssink: update totals of %q: %w", tenant, err)
		}
		s.conflicts.Add(1)
	}
	return fmt.Errorf("natssink: update totals of %q: %d conflicting updates in a row", tenant, maxConflicts)
}

// readTotals reads a tenant's entry: zero totals and revision 0 when
// there is none.
func readTotals(ctx context.Context, tot jetstream.KeyValue, key string) (totals, uint64, error) {
	e, err := tot.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return totals{}, 0, nil
	}
	if err != nil {
		return totals{}, 0, fmt.Errorf("natssink: read %s: %w", key, err)
	}
	var t totals
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return totals{}, 0, fmt.Errorf("natssink: %s holds no totals: %w", key, err)
	}
	return t, e.Revision(), nil
}

// readCursor reads the bucket's cursor and its revision (0, 0 when unset).
func readCursor(ctx context.Context, tot jetstream.KeyValue) (uint64, uint64, error) {
	e, err := tot.Get(ctx, cursorKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("natssink: read the cursor: %w", err)
	}
	c, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("natssink: the cursor holds %q: %w", e.Value(), err)
	}
	return c, e.Revision(), nil
}

// advanceCursor moves the cursor to seq if nobody moved it since it was
// read at rev. Losing the race is harmless: the winner is ahead or the
// next Fold moves it; a fold that starts behind skips what was folded.
func (s *Sink) advanceCursor(ctx context.Context, tot jetstream.KeyValue, seq, rev uint64) {
	data := strconv.AppendUint(nil, seq, 10)
	if rev == 0 {
		_, _ = tot.Create(ctx, cursorKey, data)
		return
	}
	_, _ = tot.Update(ctx, cursorKey, data, rev)
}

// Aggregates are the per-tenant totals across every instance writing to
// the stream.
type Aggregates struct {
	// Usage holds each tenant's lifetime totals, by tenant: Count, Tokens,
	// LatencySum, LatencyMax, ComplianceMean, Errors, Rejected, Injected.
	Usage []metering.Usage `json:"usage"`
	// FoldedThrough is the stream sequence through which every stored
	// batch is in Usage; LastSeq is the stream's last. Batches stored
	// after FoldedThrough may be in it already (another instance folded
	// them) or not yet.
	FoldedThrough uint64 `json:"folded_through"`
	LastSeq       uint64 `json:"last_seq"`
}

// Aggregates folds what is new (Fold) and reads every tenant's totals (at
// most MaxTenants). It blocks on JetStream round trips.
func (s *Sink) Aggregates(ctx context.Context) (Aggregates, error) {
	if _, err := s.Fold(ctx); err != nil {
		return Aggregates{}, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	st, tot, _, err := s.setup(ctx)
	if err != nil {
		return Aggregates{}, err
	}
	s.foldMu.Lock()
	through := s.next - min(s.next, 1)
	s.foldMu.Unlock()
	info, err := st.Info(ctx)
	if err != nil {
		return Aggregates{}, fmt.Errorf("natssink: stream %s: %w", s.cfg.Stream, err)
	}
	usage, err := readAll(ctx, tot)
	if err != nil {
		return Aggregates{}, err
	}
	return Aggregates{Usage: usage, FoldedThrough: through, LastSeq: info.State.LastSeq}, nil
}

// readAll reads every tenant's entry by watching the bucket until its
// current values are delivered.
func readAll(ctx context.Context, tot jetstream.KeyValue) ([]metering.Usage, error) {
	w, err := tot.Watch(ctx, "t.*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("natssink: read the totals: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := []metering.Usage{}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("natssink: read the totals: watch ended")
			}
			if e == nil { // the current values are all delivered
				slices.SortFunc(out, func(a, b metering.Usage) int { return strings.Compare(a.Tenant, b.Tenant) })
				return out, nil
			}
			var t totals
			if err := json.Unmarshal(e.Value(), &t); err != nil {
				return nil, fmt.Errorf("natssink: %s holds no totals: %w", e.Key(), err)
			}
			if len(out) == MaxTenants {
				return nil, fmt.Errorf("natssink: more than %d tenants", MaxTenants)
			}
			out = append(out, t.usage())
		case <-ctx.Done():
			return nil, fmt.Errorf("natssink: read the totals: %w", ctx.Err())
		}
	}
}

// Usage folds what is new and returns tenant's totals (an empty tenant
// means "default"); a tenant never seen gives a zero Usage.
func (s *Sink) Usage(ctx context.Context, tenant string) (metering.Usage, error) {
	tenant = cmp.Or(tenant, metering.DefaultTenant)
	if _, err := s.Fold(ctx); err != nil {
		return metering.Usage{}, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, tot, _, err := s.setup(ctx)
	if err != nil {
		return metering.Usage{}, err
	}
	t, _, err := readTotals(ctx, tot, tenantKey(tenant))
	if err != nil {
		return metering.Usage{}, err
	}
	t.Tenant = tenant
	return t.usage(), nil
}

// Run folds every FoldInterval (Fold, repeated while a call reads
// MaxFoldMessages) until ctx ends, then returns nil. A failed fold is
// counted in Metrics.FoldErrors and tried again at the next tick; the
// Logger hears of the first failure of a run of them and of the recovery,
// not of every tick.
func (s *Sink) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.FoldInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.Fold(ctx)
			if err != nil && ctx.Err() == nil {
				s.foldErrors.Add(1)
				if !failing && s.cfg.Logger != nil {
					s.cfg.Logger.Warn("natssink: fold failed; retrying every fold interval", slog.Any("err", err))
				}
				failing = true
			} else if err == nil && failing {
				failing = false
				if s.cfg.Logger != nil {
					s.cfg.Logger.Info("natssink: folding again")
				}
			}
			if err != nil || n < MaxFoldMessages {
				break
			}
		}
	}
}
