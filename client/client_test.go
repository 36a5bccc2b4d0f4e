package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "://x", "/ops"} {
		if _, err := client.New(client.Config{BaseURL: bad}); !errors.Is(err, antifragile.ErrInvalid) {
			t.Errorf("New(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	c, err := client.New(client.Config{BaseURL: " http://host:1/ops/?x=1#f "})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://host:1/ops" {
		t.Errorf("BaseURL = %q", c.BaseURL())
	}
}

func TestNew_TypedNilTransport(t *testing.T) {
	t.Run("refuses an HTTPClient whose Transport is a nil *http.Transport", func(t *testing.T) {
		c, err := client.New(client.Config{BaseURL: "http://host:1", HTTPClient: &http.Client{Transport: (*http.Transport)(nil)}})
		var ve *antifragile.ValidationError
		if c != nil || !errors.As(err, &ve) || ve.Field != "http_client.transport" || !errors.Is(err, antifragile.ErrNil) {
			t.Fatalf("New = %v, %v; want a *ValidationError for http_client.transport wrapping ErrNil", c, err)
		}
	})
	t.Run("accepts an HTTPClient without a Transport", func(t *testing.T) {
		if _, err := client.New(client.Config{BaseURL: "http://host:1", HTTPClient: &http.Client{}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClient_Reads(t *testing.T) {
	s := newSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := s.client(t, "")
	s.meter.Record(metering.Event{Tenant: "acme", Tokens: 5})
	if err := s.meter.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.bus.Send(ctx, bus.NewMessage("p", "validator", "x", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.eng.InjectLatency("db", time.Millisecond, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.orch.Schedule("cache", recovery.Manual, 1, nil); err != nil {
		t.Fatal(err)
	}
	s.agg.Collect()

	t.Run("Index", func(t *testing.T) {
		idx, err := c.Index(ctx)
		if err != nil || idx.Version != antifragile.Version || len(idx.Routes) == 0 {
			t.Errorf("Index = %+v, %v", idx, err)
		}
	})
	t.Run("Health", func(t *testing.T) {
		rep, err := c.Health(ctx)
		if err != nil || rep.Status != health.Healthy || rep.Total != 3 || len(rep.Circuits) != 3 {
			t.Errorf("Health = %+v, %v", rep, err)
		}
	})
	t.Run("HealthHistory", func(t *testing.T) {
		h, err := c.HealthHistory(ctx, 5*time.Minute)
		if err != nil || h.Count != 1 || h.Window != api.Duration(5*time.Minute) {
			t.Errorf("HealthHistory = %+v, %v", h, err)
		}
		if h, err = c.HealthHistory(ctx, 0); err != nil || h.Window != 0 {
			t.Errorf("HealthHistory(0) = %+v, %v", h, err)
		}
	})
	t.Run("Breakers", func(t *testing.T) {
		bs, err := c.Breakers(ctx)
		if err != nil || bs.Count != 3 || bs.Breakers[2].Name != "validator" || bs.Breakers[2].Calls != 1 {
			t.Errorf("Breakers = %+v, %v", bs, err)
		}
	})
	t.Run("Recovery", func(t *testing.T) {
		st, err := c.Recovery(ctx)
		if err != nil || st.ActiveCount != 1 || st.Services[0].Service != "cache" || st.Services[0].Strategy != recovery.Manual {
			t.Errorf("Recovery = %+v, %v", st, err)
		}
	})
	t.Run("Scenarios", func(t *testing.T) {
		sc, err := c.Scenarios(ctx)
		if err != nil || sc.Count != 1 || sc.Scenarios[0].Delay != time.Millisecond {
			t.Errorf("Scenarios = %+v, %v", sc, err)
		}
		one, err := c.Scenario(ctx, sc.Scenarios[0].Name)
		if err != nil || one.Target != "db" {
			t.Errorf("Scenario = %+v, %v", one, err)
		}
	})
	t.Run("ChaosMetrics", func(t *testing.T) {
		m, err := c.ChaosMetrics(ctx)
		if err != nil || m.ScenariosRun != 1 || m.ActiveScenarios != 1 {
			t.Errorf("ChaosMetrics = %+v, %v", m, err)
		}
	})
	t.Run("Metering", func(t *testing.T) {
		m, err := c.Metering(ctx)
		if err != nil || m.Metrics.Flushed != 1 || len(m.Usage) != 1 || m.Usage[0].Tenant != "acme" || m.Usage[0].Tokens != 5 {
			t.Errorf("Metering = %+v, %v", m, err)
		}
	})
	t.Run("Bus", func(t *testing.T) {
		st, err := c.Bus(ctx)
		if err != nil || st.Agents != 1 || st.Delivered != 1 {
			t.Errorf("Bus = %+v, %v", st, err)
		}
	})
	t.Run("Live", func(t *testing.T) {
		p, err := c.Live(ctx)
		if err != nil || p.Status != api.ProbeOK {
			t.Errorf("Live = %+v, %v", p, err)
		}
	})
	t.Run("Ready", func(t *testing.T) {
		p, err := c.Ready(ctx)
		if err != nil || p.Status != api.ProbeReady {
			t.Errorf("Ready = %+v, %v", p, err)
		}
		for _, n := range []string{"db", "cache"} {
			b, _ := s.reg.Get(n)
			b.ForceOpen()
			defer b.Release()
		}
		s.agg.Collect()
		defer s.agg.Collect()
		p, err = c.Ready(ctx)
		if err != nil || p.Status != api.ProbeNotReady || p.Health != "CRITICAL" {
			t.Errorf("Ready when critical = %+v, %v", p, err)
		}
	})
	t.Run("Metrics", func(t *testing.T) {
		b, err := c.Metrics(ctx)
		if err != nil || !strings.Contains(string(b), `antifragile_breaker_state{name="db",state="closed"} 1`) {
			t.Errorf("Metrics = %.200s…, %v", b, err)
		}
	})
}

func TestClient_Writes(t *testing.T) {
	s := newSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := s.client(t, token)

	t.Run("breakers", func(t *testing.T) {
		a, err := c.ForceOpenBreaker(ctx, "db")
		if err != nil || !a.Changed || a.State != breaker.ForcedOpen {
			t.Errorf("ForceOpenBreaker = %+v, %v", a, err)
		}
		a, err = c.ReleaseBreaker(ctx, "db")
		if err != nil || !a.Changed || a.State != breaker.Closed {
			t.Errorf("ReleaseBreaker = %+v, %v", a, err)
		}
		a, err = c.ResetBreaker(ctx, "db")
		if err != nil || a.Action != "reset" {
			t.Errorf("ResetBreaker = %+v, %v", a, err)
		}
	})
	t.Run("names are escaped", func(t *testing.T) {
		for _, name := range []string{"team/a b", "ünï?x=1#y", "%2F"} {
			if _, err := s.reg.GetOrCreate(name, breaker.Config{}); err != nil {
				t.Fatal(err)
			}
			a, err := c.ForceOpenBreaker(ctx, name)
			if err != nil || a.Breaker != name || a.State != breaker.ForcedOpen {
				t.Errorf("ForceOpenBreaker(%q) = %+v, %v", name, a, err)
			}
			s.reg.Remove(name)
		}
	})
	t.Run("recovery", func(t *testing.T) {
		a, err := c.ScheduleRecovery(ctx, "db", api.ScheduleRequest{Strategy: "manual", Priority: 2,
			Policy: &api.Policy{MaxRetryAttempts: 2, InitialDelay: "10ms"}})
		if err != nil || a.Task == nil || a.Task.Strategy != recovery.Manual || a.Task.Priority != 2 || a.Task.MaxAttempts != 2 {
			t.Fatalf("ScheduleRecovery = %+v, %v", a, err)
		}
		if err := s.orch.SetPolicy("db", recovery.Policy{HealthCheck: func(context.Context) error { return errors.New("down") }}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ScheduleRecovery(ctx, "db", api.ScheduleRequest{Strategy: "manual"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.orch.Execute(ctx, "db"); err != nil {
			t.Fatal(err)
		}
		if a, err = c.ResumeRecovery(ctx, "db"); err != nil || a.Task == nil || a.Task.State != recovery.Scheduled {
			t.Errorf("ResumeRecovery = %+v, %v", a, err)
		}
		if _, err := s.orch.Execute(ctx, "db"); err != nil {
			t.Fatal(err)
		}
		if a, err = c.ResolveRecovery(ctx, "db"); err != nil || a.Task != nil {
			t.Errorf("ResolveRecovery = %+v, %v", a, err)
		}
		if _, err := c.ScheduleRecovery(ctx, "db", api.ScheduleRequest{}); err != nil {
			t.Fatal(err)
		}
		if a, err = c.CancelRecovery(ctx, "db"); err != nil || a.Action != "cancel" {
			t.Errorf("CancelRecovery = %+v, %v", a, err)
		}
	})
	t.Run("chaos", func(t *testing.T) {
		sc, err := c.InjectScenario(ctx, chaos.LatencyScenario("validator", 5*time.Millisecond, time.Minute))
		if err != nil || !sc.Active || sc.Name != "latency_validator_5ms" {
			t.Fatalf("InjectScenario = %+v, %v", sc, err)
		}
		sc, err = c.InjectScenarioJSON(ctx, []byte(`{"name":"p","type":"network_partition","target":"db"}`))
		if err != nil || sc.Type != chaos.TypeNetworkPartition || sc.Duration != chaos.DefaultDuration {
			t.Fatalf("InjectScenarioJSON = %+v, %v", sc, err)
		}
		a, err := c.StopScenario(ctx, "p")
		if err != nil || !a.Deactivated {
			t.Errorf("StopScenario = %+v, %v", a, err)
		}
		m, err := c.EmergencyStop(ctx)
		if err != nil || !m.EmergencyStop || m.ActiveScenarios != 0 {
			t.Errorf("EmergencyStop = %+v, %v", m, err)
		}
		m, err = c.ResetChaos(ctx)
		if err != nil || m.EmergencyStop {
			t.Errorf("ResetChaos = %+v, %v", m, err)
		}
	})
}

func TestClient_Errors(t *testing.T) {
	s := newSystem(t)
	bare := newSystem(t, func(o *ops.Options) { *o = ops.Options{Registry: o.Registry, Token: token} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	gone, err := client.New(client.Config{BaseURL: closedURL})
	if err != nil {
		t.Fatal(err)
	}
	text := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer text.Close()
	proxy, _ := client.New(client.Config{BaseURL: text.URL})
	defer proxy.CloseIdleConnections()

	stopped := newSystem(t)
	stopped.eng.EmergencyStop()

	tests := []struct {
		name   string
		call   func() error
		is     []error
		status int
		field  string
	}{
		{"no token", func() error { _, err := s.client(t, "").ResetBreaker(ctx, "db"); return err },
			[]error{client.ErrUnauthorized}, 401, ""},
		{"wrong token", func() error { _, err := s.client(t, "nope").ResetBreaker(ctx, "db"); return err },
			[]error{client.ErrForbidden}, 403, ""},
		{"unknown breaker", func() error { _, err := s.client(t, token).ResetBreaker(ctx, "nope"); return err },
			[]error{client.ErrNotFound}, 404, ""},
		{"unknown scenario", func() error { _, err := s.client(t, "").Scenario(ctx, "nope"); return err },
			[]error{client.ErrNotFound}, 404, ""},
		{"invalid request", func() error {
			_, err := s.client(t, token).ScheduleRecovery(ctx, "db", api.ScheduleRequest{Strategy: "soon"})
			return err
		}, []error{client.ErrInvalid, antifragile.ErrInvalid}, 400, "strategy"},
		{"invalid scenario", func() error {
			_, err := s.client(t, token).InjectScenarioJSON(ctx, []byte(`{"name":"x","type":"error","target":"y","error_rate":7}`))
			return err
		}, []error{client.ErrInvalid}, 400, "error_rate"},
		{"hash mismatch", func() error {
			sc := chaos.LatencyScenario("x", time.Millisecond, time.Second)
			sc.ConstitutionalHash = "0000000000000000"
			_, err := s.client(t, token).InjectScenario(ctx, sc)
			return err
		}, []error{client.ErrConflict, antifragile.ErrHashMismatch}, 409, "constitutional_hash"},
		{"emergency stop", func() error {
			_, err := stopped.client(t, token).InjectScenario(ctx, chaos.LatencyScenario("x", time.Millisecond, time.Second))
			return err
		}, []error{client.ErrConflict}, 409, ""},
		{"not awaiting", func() error {
			if err := s.orch.Schedule("cache", recovery.ExponentialBackoff, 0, nil); err != nil {
				t.Fatal(err)
			}
			defer s.orch.Cancel("cache")
			_, err := s.client(t, token).ResumeRecovery(ctx, "cache")
			return err
		}, []error{client.ErrConflict}, 409, ""},
		{"component missing", func() error { _, err := bare.client(t, "").Health(ctx); return err },
			[]error{client.ErrUnavailable}, 503, ""},
		{"readyz without health", func() error { _, err := bare.client(t, "").Ready(ctx); return err },
			[]error{client.ErrUnavailable}, 503, ""},
		{"not an envelope", func() error { _, err := proxy.Breakers(ctx); return err }, nil, 502, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Envelope.Field != tt.field || ae.Envelope.Error == "" {
				t.Errorf("APIError = %+v", ae)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, other := range []error{client.ErrUnauthorized, client.ErrForbidden, client.ErrNotFound, client.ErrInvalid, client.ErrConflict, client.ErrUnavailable, client.ErrUnreachable} {
				match := false
				for _, target := range tt.is {
					match = match || target == other
				}
				if !match && errors.Is(err, other) {
					t.Errorf("errors.Is(%v, %v) = true", err, other)
				}
			}
		})
	}
	t.Run("not an envelope keeps the body", func(t *testing.T) {
		_, err := proxy.Breakers(ctx)
		if err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") || !strings.Contains(err.Error(), "bad gateway</html>") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		_, err := gone.Health(ctx)
		if !errors.Is(err, client.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		var ae *client.APIError
		if errors.As(err, &ae) {
			t.Error("an unreachable server is not an APIError")
		}
		if _, err := gone.Ready(ctx); !errors.Is(err, client.ErrUnreachable) {
			t.Errorf("Ready: %v", err)
		}
	})
	t.Run("a cancelled context is not unreachable", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		_, err := s.client(t, "").Health(cctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrUnreachable) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("the timeout bounds a request", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer hang.Close()
		c, _ := client.New(client.Config{BaseURL: hang.URL, Timeout: 50 * time.Millisecond})
		defer c.CloseIdleConnections()
		_, err := c.Health(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestClient_Prefix(t *testing.T) {
	s := newSystem(t)
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", s.srv.Config.Handler))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL + "/ops/", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	if a, err := c.ForceOpenBreaker(ctx, "db"); err != nil || a.State != breaker.ForcedOpen {
		t.Errorf("ForceOpenBreaker = %+v, %v", a, err)
	}
	_, err = c.ResetBreaker(ctx, "nope")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Path != "/breakers/nope/reset" {
		t.Errorf("err = %v", err)
	}
}
