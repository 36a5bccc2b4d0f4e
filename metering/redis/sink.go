package redissink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/redis/go-redis/v9"
)

// ValidationError is the toolkit's validation error.
type ValidationError = antifragile.ValidationError

// Defaults of Config.
const (
	DefaultAddr      = "127.0.0.1:6379"
	DefaultStream    = "antifragile:metering:events"
	DefaultKeyPrefix = "antifragile:metering:"
	DefaultMaxLen    = 1_000_000
	DefaultBatchTTL  = 24 * time.Hour
	// MaxBatchTTL bounds Config.BatchTTL.
	MaxBatchTTL = 30 * 24 * time.Hour
)

// Config configures a Sink. Its zero value connects to DefaultAddr.
type Config struct {
	// Client is the Redis client to use; the Sink does not close it. nil
	// means a new client for Addr, closed by Close. A typed nil (such as a
	// nil *redis.Client) is invalid.
	Client redis.UniversalClient `json:"-"`
	// Addr is the "host:port" of Redis when Client is nil. Empty means
	// 127.0.0.1:6379.
	Addr string `json:"addr,omitempty"`
	// Stream is the stream key events are appended to. Empty means
	// "antifragile:metering:events".
	Stream string `json:"stream,omitempty"`
	// KeyPrefix prefixes the guard, usage and tenants keys. Empty means
	// "antifragile:metering:".
	KeyPrefix string `json:"key_prefix,omitempty"`
	// MaxLen trims the stream approximately (XADD MAXLEN ~) to this many
	// entries. 0 means 1,000,000; negative means never trim.
	MaxLen int64 `json:"max_len,omitempty"`
	// BatchTTL is how long a batch's guard key is kept, i.e. how late a
	// re-sent batch is still recognized. 0 means 24 h; negative, below 1 ms
	// or above MaxBatchTTL (30 days) is invalid.
	BatchTTL time.Duration `json:"batch_ttl,omitempty"`
	// BillAll counts rejected and injected events in count, tokens,
	// latency and compliance like ok and error ones (as
	// metering.MemoryConfig.BillAll).
	BillAll bool `json:"bill_all,omitempty"`
}

// Sink is the Redis metering.Sink. It is safe for concurrent use; Write
// and the readers block on Redis round trips.
type Sink struct {
	cfg    Config
	client redis.UniversalClient
	owned  bool
	script *redis.Script

	mu  sync.Mutex // guards buf and args between concurrent Writes
	buf []byte
	arg []any

	applied, duplicates atomic.Uint64
	closeOnce           sync.Once
	closeErr            error
}

var _ metering.Sink = (*Sink)(nil)

// New returns a Sink for cfg, or the *ValidationError(s) of cfg. It does not
// contact Redis (the first Write does).
func New(cfg Config) (*Sink, error) {
	var errs []error
	if cfg.BatchTTL < 0 || (cfg.BatchTTL > 0 && cfg.BatchTTL < time.Millisecond) {
		errs = append(errs, antifragile.Invalid("batch_ttl", cfg.BatchTTL, "must be 0 or at least 1ms"))
	} else if cfg.BatchTTL > MaxBatchTTL {
		errs = append(errs, antifragile.Invalid("batch_ttl", cfg.BatchTTL, "must not exceed %s", MaxBatchTTL))
	}
	if err := nilcheck.Optional("client", cfg.Client); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.MaxLen == 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	if cfg.BatchTTL == 0 {
		cfg.BatchTTL = DefaultBatchTTL
	}
	s := &Sink{cfg: cfg, client: cfg.Client, script: redis.NewScript(applyScript)}
	if s.client == nil {
		s.client = redis.NewClient(&redis.Options{Addr: cfg.Addr})
		s.owned = true
	}
	return s, nil
}

// Config returns the sink's configuration with defaults applied.
func (s *Sink) Config() Config { return s.cfg }

// applyScript applies one batch atomically, once.
//
//	KEYS[1] guard key, KEYS[2] stream
//	ARGV[1] guard TTL in ms, ARGV[2] MAXLEN (<= 0: no trim), ARGV[3] key prefix,
//	ARGV[4] n, ARGV[5 .. 4+n] event JSON,
//	then per tenant: tenant, field count k, k × (field, value);
//	the field "latency_max_ns" is a maximum, every other field a sum.
//
// It returns 1 when applied, 0 when the batch had been applied before, and
// an error — having written nothing — when a key has the wrong type or an
// aggregate is not an integer or would pass aggregateLimit. Redis does not
// roll a script back, so every check that could fail comes before the
// first write, and the guard is set last: a script that failed midway for
// any other reason leaves no guard, and the retry applies the batch again
// rather than skipping it as a duplicate.
const applyScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local prefix = ARGV[3]
local n = tonumber(ARGV[4])
local limit = tonumber(ARGV[#ARGV])
local function kind(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then
    return redis.error_reply('ANTIFRAGILE key ' .. key .. ' holds a ' .. t .. ', not a ' .. want .. '; nothing written')
  end
end
local err = kind(KEYS[2], 'stream') or kind(prefix .. 'tenants', 'set')
if err then return err end
-- Check every aggregate before writing anything.
local i = 5 + n
while i < #ARGV do
  local key = prefix .. 'usage:' .. ARGV[i]
  err = kind(key, 'hash')
  if err then return err end
  local k = tonumber(ARGV[i + 1])
  for j = 0, k - 1 do
    local f = ARGV[i + 2 + 2 * j]
    local raw = redis.call('HGET', key, f)
    local cur = tonumber(raw or '0')
    if cur == nil or cur ~= math.floor(cur) then
      return redis.error_reply('ANTIFRAGILE ' .. key .. ' field ' .. f .. ' is not an integer; nothing written')
    end
    if f ~= 'latency_max_ns' and cur + tonumber(ARGV[i + 3 + 2 * j]) > limit then
      return redis.error_reply('ANTIFRAGILE ' .. key .. ' field ' .. f .. ' would pass ' .. ARGV[#ARGV] .. '; nothing written')
    end
  end
  i = i + 2 + 2 * k
end
for e = 5, 4 + n do
  redis.call('XADD', KEYS[2], '*', 'event', ARGV[e])
end
if tonumber(ARGV[2]) > 0 then
  redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[2])
end
i = 5 + n
while i < #ARGV do
  local tenant = ARGV[i]
  local k = tonumber(ARGV[i + 1])
  local key = prefix .. 'usage:' .. tenant
  redis.call('SADD', prefix .. 'tenants', tenant)
  for j = 0, k - 1 do
    local f = ARGV[i + 2 + 2 * j]
    local v = ARGV[i + 3 + 2 * j]
    if f == 'latency_max_ns' then
      local cur = tonumber(redis.call('HGET', key, f) or '0')
      if tonumber(v) > cur then
        redis.call('HSET', key, f, v)
      end
    else
      redis.call('HINCRBY', key, f, v)
    end
  end
  i = i + 2 + 2 * k
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
`

// AggregateLimit is the largest value the script lets an aggregate reach:
// a batch that would take a tenant's sum past it is refused whole, with an
// error, before anything is written. It is below 2^63 by a margin wider
// than the rounding of Lua's float64 numbers (2^63 − 2^62/32), so that
// HINCRBY can never overflow after the check passed.
const AggregateLimit int64 = 9_000_000_000_000_000_000

// BatchID returns the idempotency id of a batch: metering.BatchID, the
// hex of the first 128 bits of SHA-256 over the count and each event's ID
// (its JSON when the ID is empty), length-prefixed. Re-sending the same
// events in the same order gives the same id.
func BatchID(events []metering.Event) string { return metering.BatchID(events) }

// tenantAgg is one tenant's increments in a batch.
type tenantAgg struct {
	count, tokens, latNs, latMax, compMicros, errs, rejected, injected int64
	ops                                                                map[metering.Operation][2]int64 // count, tokens
	tiers                                                              map[metering.Tier]int64
}

// add counts e in a: its outcome always, its figures (count, tokens,
// latency, compliance, operation, tier) when it is billable or billAll. It
// reports false when a sum would pass AggregateLimit (e is valid, so no
// single figure does).
func (a *tenantAgg) add(e *metering.Event, billAll bool) bool {
	switch e.Outcome {
	case metering.OutcomeError:
		a.errs++
	case metering.OutcomeRejected:
		a.rejected++
	case metering.OutcomeInjected:
		a.injected++
	}
	if !billAll && !e.Outcome.Billable() {
		return true
	}
	lat := max(int64(e.Latency), 0)
	tokens := max(e.Tokens, 0)
	if a.tokens > AggregateLimit-tokens || a.latNs > AggregateLimit-lat {
		return false
	}
	a.count++
	a.tokens += tokens
	a.latNs += lat
	a.latMax = max(a.latMax, lat)
	a.compMicros += ComplianceMicros(e.Compliance)
	op := a.ops[e.Operation]
	a.ops[e.Operation] = [2]int64{op[0] + 1, op[1] + tokens}
	a.tiers[cmp.Or(e.Tier, metering.TierStandard)]++
	return true
}

// appendFields appends a's increments to the script's ARGV args: the
// number of (field, value) pairs, then the pairs — count always, the other
// sums when not 0, then the operations and the tiers, sorted.
func (a *tenantAgg) appendFields(args []any) []any {
	at := len(args)
	args = append(args, 0, "count", a.count) // the one field always written
	for _, f := range [...]struct {
		name string
		v    int64
	}{
		{"tokens", a.tokens}, {"latency_ns", a.latNs}, {"latency_max_ns", a.latMax},
		{"compliance_micros", a.compMicros}, {"errors", a.errs}, {"rejected", a.rejected}, {"injected", a.injected},
	} {
		if f.v != 0 {
			args = append(args, f.name, f.v)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(a.ops)) {
		v := a.ops[op]
		args = append(args, "op:"+string(op)+":count", v[0], "op:"+string(op)+":tokens", v[1])
	}
	for _, tier := range slices.Sorted(maps.Keys(a.tiers)) {
		args = append(args, "tier:"+string(tier)+":count", a.tiers[tier])
	}
	args[at] = (len(args) - at - 1) / 2
	return args
}

// Write applies events to Redis once (see the package doc). It returns nil
// when the batch is applied or had already been applied, and the Redis
// error otherwise; the Meter then re-sends the same batch. An empty batch
// is a no-op.
func (s *Sink) Write(ctx context.Context, events []metering.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := validateEvents(events); err != nil {
		return err
	}
	id := BatchID(events)
	s.mu.Lock()
	defer s.mu.Unlock()

	var err error
	if s.arg, err = s.appendArgs(s.arg[:0], events); err != nil {
		clear(s.arg)
		return err
	}
	res, err := s.script.Run(ctx, s.client, []string{s.cfg.KeyPrefix + "batch:" + id, s.cfg.Stream}, s.arg...).Int()
	clear(s.arg)
	if cap(s.buf) > 4<<20 {
		s.buf, s.arg = nil, nil
	}
	if err != nil {
		return fmt.Errorf("redissink: apply batch %s of %d events: %w", id, len(events), err)
	}
	if res == 0 {
		s.duplicates.Add(1)
	} else {
		s.applied.Add(1)
	}
	return nil
}

// validateEvents checks the batch (metering.ValidateEvents) before
// anything is written.
func validateEvents(events []metering.Event) error {
	if err := metering.ValidateEvents(events); err != nil {
		return fmt.Errorf("redissink: batch refused, nothing written:\n%w", err)
	}
	return nil
}

// appendArgs appends the script's ARGV for events to args (see
// applyScript): the settings, each event's JSON, each tenant's increments
// (the tenants in the order they first appear; an empty tenant is the
// default one), then AggregateLimit. It runs under s.mu, encoding the
// events into s.buf. It fails, appending nothing usable, when a tenant's
// sums over the batch would pass AggregateLimit.
func (s *Sink) appendArgs(args []any, events []metering.Event) ([]any, error) {
	args = append(args, s.cfg.BatchTTL.Milliseconds(), s.cfg.MaxLen, s.cfg.KeyPrefix, len(events))
	args = s.appendEvents(args, events)
	aggs := make(map[string]*tenantAgg, 4)
	var tenants []string
	for i := range events {
		tenant := cmp.Or(events[i].Tenant, metering.DefaultTenant)
		a := aggs[tenant]
		if a == nil {
			a = &tenantAgg{ops: map[metering.Operation][2]int64{}, tiers: map[metering.Tier]int64{}}
			aggs[tenant] = a
			tenants = append(tenants, tenant)
		}
		if !a.add(&events[i], s.cfg.BillAll) {
			return args, fmt.Errorf("redissink: batch refused, nothing written: tenant %q's sums over %d events pass %d", tenant, len(events), AggregateLimit)
		}
	}
	for _, t := range tenants {
		args = aggs[t].appendFields(append(args, t))
	}
	return append(args, AggregateLimit), nil
}

// appendEvents appends the JSON of each event to args, as strings sharing
// one allocation. It runs under s.mu, encoding into s.buf.
func (s *Sink) appendEvents(args []any, events []metering.Event) []any {
	s.buf = s.buf[:0]
	ends := make([]int, 0, len(events))
	for i := range events {
		s.buf = events[i].AppendJSON(s.buf)
		ends = append(ends, len(s.buf))
	}
	all := string(s.buf)
	start := 0
	for _, end := range ends {
		args = append(args, all[start:end])
		start = end
	}
	return args
}

// ComplianceMicros is how a compliance score is summed in Redis: the score
// clamped to [0, 1] (NaN as 0) in millionths, rounded, so that sums are
// exact integers.
func ComplianceMicros(c float64) int64 {
	if !(c > 0) {
		return 0
	}
	return int64(math.Round(min(c, 1) * 1e6))
}

// Metrics counts the batches a Sink applied and those Redis recognized as
// already applied (re-sends).
type Metrics struct {
	Applied    uint64 `json:"applied"`
	Duplicates uint64 `json:"duplicates"`
}

// Metrics returns the sink's counters. Safe for concurrent use.
func (s *Sink) Metrics() Metrics {
	return Metrics{Applied: s.applied.Load(), Duplicates: s.duplicates.Load()}
}

// Usage reads tenant's aggregates from Redis (an empty tenant means
// "default"): Count, Tokens, LatencySum, LatencyMax, ComplianceMean,
// Errors, Rejected and Injected; Operation, Tier, Start and End are empty.
// A tenant never seen gives a zero Usage.
func (s *Sink) Usage(ctx context.Context, tenant string) (metering.Usage, error) {
	tenant = cmp.Or(tenant, metering.DefaultTenant)
	h, err := s.client.HGetAll(ctx, s.cfg.KeyPrefix+"usage:"+tenant).Result()
	if err != nil {
		return metering.Usage{}, fmt.Errorf("redissink: usage of %q: %w", tenant, err)
	}
	num := func(f string) int64 { v, _ := strconv.ParseInt(h[f], 10, 64); return v }
	u := metering.Usage{
		Tenant: tenant, Count: num("count"), Tokens: num("tokens"),
		LatencySum: time.Duration(num("latency_ns")), LatencyMax: time.Duration(num("latency_max_ns")),
		Errors: num("errors"), Rejected: num("rejected"), Injected: num("injected"),
	}
	if u.Count > 0 {
		u.ComplianceMean = float64(num("compliance_micros")) / 1e6 / float64(u.Count)
	}
	return u, nil
}

// Fields returns tenant's raw aggregate hash: count, tokens, latency_ns,
// latency_max_ns, compliance_micros, errors, rejected, injected, and
// "op:<operation>:count", "op:<operation>:tokens", "tier:<tier>:count".
// A field that would only ever have been incremented by 0 is absent.
func (s *Sink) Fields(ctx context.Context, tenant string) (map[string]int64, error) {
	tenant = cmp.Or(tenant, metering.DefaultTenant)
	h, err := s.client.HGetAll(ctx, s.cfg.KeyPrefix+"usage:"+tenant).Result()
	if err != nil {
		return nil, fmt.Errorf("redissink: usage of %q: %w", tenant, err)
	}
	out := make(map[string]int64, len(h))
	for k, v := range h {
		out[k], _ = strconv.ParseInt(v, 10, 64)
	}
	return out, nil
}

// Tenants returns the tenants seen, sorted.
func (s *Sink) Tenants(ctx context.Context) ([]string, error) {
	ts, err := s.client.SMembers(ctx, s.cfg.KeyPrefix+"tenants").Result()
	if err != nil {
		return nil, fmt.Errorf("redissink: tenants: %w", err)
	}
	slices.Sort(ts)
	return ts, nil
}

// Close closes the client if the Sink created it. It is idempotent.
func (s *Sink) Close(context.Context) error {
	s.closeOnce.Do(func() {
		if s.owned {
			s.closeErr = s.client.Close()
		}
	})
	return s.closeErr
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the Config's JSON form, durations as strings such as
// "30s".
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }
