package natssink_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
)

// connect returns a connection to url, closed when the test ends.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// newSink returns a sink on its own connection to url whose stream,
// subject and buckets are named after name, closed when the test ends.
func newSink(t testing.TB, url, name string, edit ...func(*natssink.Config)) *natssink.Sink {
	t.Helper()
	cfg := natssink.Config{URL: url, Stream: name, Subject: "m." + name, Bucket: name + "_USAGE"}
	for _, f := range edit {
		f(&cfg)
	}
	s, err := natssink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// streamMsgs returns how many messages the stream holds.
func streamMsgs(t testing.TB, nc *nats.Conn, stream string) uint64 {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func events(n int, tenant string) []metering.Event {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := make([]metering.Event, n)
	for i := range ev {
		ev[i] = metering.Event{
			ID: fmt.Sprintf("%s-%d", tenant, i), Tenant: tenant, Operation: metering.OpAgentMessage,
			Tier: metering.TierStandard, Tokens: int64(i + 1), Latency: time.Duration(i+1) * time.Millisecond,
			Compliance: 0.5, Time: base.Add(time.Duration(i) * time.Second), ConstitutionalHash: antifragile.ConstitutionalHash,
		}
	}
	return ev
}

// usageOf returns the tenant's entry of agg, or a zero Usage.
func usageOf(agg natssink.Aggregates, tenant string) metering.Usage {
	for _, u := range agg.Usage {
		if u.Tenant == tenant {
			return u
		}
	}
	return metering.Usage{}
}
