package redissink_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/redistest"
	"github.com/antifragile-go/antifragile/metering"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
)

// TestIssue13_RedisSinkAtomicWhenTheScriptFails: Redis does not roll a
// script back, and the script used to set its guard key first — so when an
// aggregate overflowed after the guard and the stream entries were
// written, the retry found the guard and skipped the batch as a duplicate,
// leaving the aggregates short by the batch. Now every check comes before
// the first write and the guard is set last: the failing batch writes
// nothing, and its retry applies it exactly once.
func TestIssue13_RedisSinkAtomicWhenTheScriptFails(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := newClient(t, srv.Addr())
	s := newSink(t, redissink.Config{Client: c, Stream: "a:events", KeyPrefix: "a:"})
	batch := events(5, "acme")
	for i := range batch {
		batch[i].Tokens = 1000 // well past the float64 rounding of Lua near the limit
	}

	// An aggregate at its limit makes the script refuse the batch midway
	// through its tenants (beta is fine, acme's tokens would overflow).
	batch = append(events(3, "beta"), batch...)
	if err := c.HSet(ctx, "a:usage:acme", "tokens", int64(math.MaxInt64-1)).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, batch)
	if err == nil || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("Write() = %v, want the batch refused with nothing written", err)
	}
	if n := len(streamEvents(t, c, "a:events")); n != 0 {
		t.Fatalf("the refused batch left %d stream entries", n)
	}
	if u, _ := s.Usage(ctx, "beta"); u.Count != 0 {
		t.Fatalf("the refused batch counted %d events for beta", u.Count)
	}
	if keys, _ := c.Keys(ctx, "a:batch:*").Result(); len(keys) != 0 {
		t.Fatalf("the refused batch left its guard: %v", keys)
	}

	// The operator fixes the aggregate; the meter's retry of the same batch
	// applies it once, and a further re-send is a duplicate.
	if err := c.HSet(ctx, "a:usage:acme", "tokens", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Write(ctx, batch); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	if n := len(streamEvents(t, c, "a:events")); n != 8 {
		t.Fatalf("stream holds %d entries, want 8", n)
	}
	acme, _ := s.Usage(ctx, "acme")
	beta, _ := s.Usage(ctx, "beta")
	if acme.Count != 5 || acme.Tokens != 5000 || beta.Count != 3 || beta.Tokens != 6 {
		t.Fatalf("acme %+v, beta %+v: want 5 events / 5000 tokens and 3 / 6", acme, beta)
	}
	if m := s.Metrics(); m.Applied != 1 || m.Duplicates != 1 {
		t.Fatalf("Metrics = %+v, want 1 applied, 1 duplicate", m)
	}

	t.Run("a key of the wrong type refuses the batch before writing", func(t *testing.T) {
		if err := c.Set(ctx, "b:usage:acme", "not a hash", 0).Err(); err != nil {
			t.Fatal(err)
		}
		s := newSink(t, redissink.Config{Client: c, Stream: "b:events", KeyPrefix: "b:"})
		if err := s.Write(ctx, append(events(2, "beta"), events(2, "acme")...)); err == nil {
			t.Fatal("Write() = nil error")
		}
		if n, _ := c.Exists(ctx, "b:events", "b:usage:beta", "b:tenants").Result(); n != 0 {
			t.Fatalf("%d keys written by a refused batch", n)
		}
	})
}

// TestIssue13_RedisSinkValidatesEvents: tokens, latency and compliance out
// of bounds are refused with typed errors naming the event and field, and
// nothing is written; the Go-side sums over a batch cannot wrap.
func TestIssue13_RedisSinkValidatesEvents(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := newClient(t, srv.Addr())
	s := newSink(t, redissink.Config{Client: c, Stream: "v:events", KeyPrefix: "v:"})
	for _, tc := range []struct {
		field string
		bad   func(*metering.Event)
	}{
		{"events[1].tokens_processed", func(e *metering.Event) { e.Tokens = metering.MaxEventTokens + 1 }},
		{"events[1].tokens_processed", func(e *metering.Event) { e.Tokens = -1 }},
		{"events[1].latency_ms", func(e *metering.Event) { e.Latency = metering.MaxEventLatency + time.Nanosecond }},
		{"events[1].compliance_score", func(e *metering.Event) { e.Compliance = math.NaN() }},
		{"events[1].compliance_score", func(e *metering.Event) { e.Compliance = 1.5 }},
	} {
		batch := events(3, "acme")
		tc.bad(&batch[1])
		err := s.Write(ctx, batch)
		var ve *antifragile.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("Write() = %v, want a ValidationError on %s", err, tc.field)
		}
	}
	// Valid events whose latency sum over one batch would pass the limit:
	// more than MaxBatchSize of them, as only a direct caller can send.
	n := int(redissink.AggregateLimit/int64(metering.MaxEventLatency)) + 1
	big := make([]metering.Event, n)
	for i := range big {
		big[i] = metering.Event{ID: strconv.Itoa(i), Tenant: "acme", Operation: metering.OpAgentMessage, Latency: metering.MaxEventLatency}
	}
	if err := s.Write(ctx, big); err == nil || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("Write(a batch whose sum passes the limit) = %v", err)
	}
	if n, _ := c.Exists(ctx, "v:events", "v:usage:acme").Result(); n != 0 {
		t.Fatalf("%d keys written by refused batches", n)
	}
}
