package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
)

// usageFunc adapts a function to ops.ClusterUsageSource. The real source,
// the JetStream sink's totals, is served in system/sink_test.go.
type usageFunc func(context.Context) (api.ClusterUsage, error)

func (f usageFunc) ClusterUsage(ctx context.Context) (api.ClusterUsage, error) { return f(ctx) }

func TestHandler_ClusterUsage(t *testing.T) {
	t.Run("503 without a source", func(t *testing.T) {
		s := newSystem(t)
		if e := envelope(t, do(t, s.h, "GET", "/cluster/usage", ""), 503); !strings.Contains(e.Error, "nats://") {
			t.Fatalf("error %q does not say what is missing", e.Error)
		}
	})
	t.Run("serves the source's usage", func(t *testing.T) {
		want := api.ClusterUsage{Stream: "S", Usage: []metering.Usage{{Tenant: "acme", Count: 3, Tokens: 7}}, FoldedThrough: 4, LastSeq: 5}
		s := newSystem(t, func(o *ops.Options) {
			o.ClusterUsage = usageFunc(func(context.Context) (api.ClusterUsage, error) { return want, nil })
		})
		var got api.ClusterUsage
		decode(t, do(t, s.h, "GET", "/cluster/usage", ""), 200, &got)
		if got.Stream != "S" || len(got.Usage) != 1 || got.Usage[0].Tokens != 7 || got.FoldedThrough != 4 || got.LastSeq != 5 {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("503 with the cause when the source fails", func(t *testing.T) {
		s := newSystem(t, func(o *ops.Options) {
			o.ClusterUsage = usageFunc(func(context.Context) (api.ClusterUsage, error) {
				return api.ClusterUsage{}, errors.New("nats: no servers available")
			})
		})
		if e := envelope(t, do(t, s.h, "GET", "/cluster/usage", ""), 503); !strings.Contains(e.Error, "no servers available") {
			t.Fatalf("error %q", e.Error)
		}
	})
	t.Run("refuses a typed-nil source", func(t *testing.T) {
		var nilFunc usageFunc
		if err := (ops.Options{ClusterUsage: nilFunc}).Validate(); err == nil {
			t.Fatal("a typed-nil source was accepted")
		}
	})
}
