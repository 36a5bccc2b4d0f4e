package gameday_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/ops"
)

const testToken = "s3cret-token"

// remoteSystem runs a Local system behind an in-process ops server and
// returns it with a client of that server.
func remoteSystem(t testing.TB, scale float64) (*local, *client.Client) {
	t.Helper()
	l := newLocal(t, scale, 11, agentsim.GeneratorConfig{})
	opts := l.OpsOptions()
	opts.Token, opts.PingInterval = testToken, time.Second
	srv := httptest.NewServer(ops.Handler(opts))
	stop := l.start(t)
	cl, err := client.New(client.Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.CloseIdleConnections()
		srv.Close()
		_ = stop()
	})
	return l, cl
}

func TestRemoteTarget_Run(t *testing.T) {
	t.Parallel()
	t.Run("the default game day passes against an ops server", func(t *testing.T) {
		t.Parallel()
		sc, f := scenario.Default().Scaled(3 * time.Second)
		_, cl := remoteSystem(t, f)
		res, err := gameday.Run(context.Background(), gameday.Config{Scenario: sc, Target: gameday.NewRemoteTarget(cl), Scale: f})
		if err != nil {
			t.Fatal(err)
		}
		var sum bytes.Buffer
		_ = report.WriteSummary(&sum, res)
		if err := res.Err(); err != nil {
			t.Fatalf("%v\n%s", err, sum.String())
		}
		if res.LatencyKind != gameday.LatencyMean {
			t.Errorf("latency kind %q", res.LatencyKind)
		}
		if storm := res.Phases[2]; !storm.Detected || !storm.Recovered {
			t.Errorf("storm phase: %+v\n%s", storm, sum.String())
		}
		var metered int64 // over the phases: a 300 ms phase may end before the server's meter flushes
		for _, ph := range res.Phases {
			for _, n := range ph.Metered {
				metered += n
			}
		}
		if len(res.Tenants) != 3 || metered == 0 {
			t.Errorf("tenants %v, metered %d", res.Tenants, metered)
		}
		kinds := map[string]bool{}
		for _, e := range res.Events {
			kinds[e.Kind] = true
		}
		for _, k := range []string{"breaker", "chaos", "recovery"} {
			if !kinds[k] {
				t.Errorf("no %s event followed over /events (events: %d)", k, len(res.Events))
			}
		}
	})
	t.Run("an interruption stops the remote chaos engine and ends every fault", func(t *testing.T) {
		sc, err := scenario.Parse([]byte(`{"name":"interrupted","phases":[
			{"name":"storm","duration":"100ms","faults":[{"name":"long-storm","type":"error","target":"policy_engine","error_rate":1,"duration":"10m"}]},
			{"name":"partition","duration":"10m","faults":[{"name":"long-partition","type":"network_partition","target":"validator"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		l, cl := remoteSystem(t, 0.05)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		target := &cancelAfterRemote{RemoteTarget: gameday.NewRemoteTarget(cl), n: 2, cancel: cancel}
		res, err := gameday.Run(ctx, gameday.Config{Scenario: sc, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		eng := l.Chaos()
		if active := eng.Active(); len(active) != 0 {
			t.Errorf("active scenarios after the interruption: %v", active)
		}
		if !eng.Stopped() {
			t.Error("the remote chaos engine was not emergency-stopped")
		}
		if !res.Interrupted || res.Err() == nil {
			t.Errorf("interrupted %v, Err() %v", res.Interrupted, res.Err())
		}
	})
	t.Run("a wrong token fails every injection", func(t *testing.T) {
		_, cl := remoteSystem(t, 0.05)
		bad, err := client.New(client.Config{BaseURL: cl.BaseURL(), Token: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		defer bad.CloseIdleConnections()
		sc, err := scenario.Parse([]byte(`{"name":"x","phases":[{"name":"a","duration":"100ms","faults":[{"type":"network_partition","target":"validator"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		res, err := gameday.Run(context.Background(), gameday.Config{Scenario: sc, Target: gameday.NewRemoteTarget(bad)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Err() == nil || !strings.Contains(res.Verdict.Reasons[0], "403") {
			t.Errorf("verdict = %+v", res.Verdict)
		}
	})
}

type cancelAfterRemote struct {
	*gameday.RemoteTarget
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfterRemote) Inject(ctx context.Context, s chaos.Scenario) error {
	err := c.RemoteTarget.Inject(ctx, s)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return err
}
