package ops_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
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
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestHandler_ReadRoutes(t *testing.T) {
	s := newSystem(t)
	s.meter.Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage, Tokens: 7})
	if err := s.meter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.eng.InjectLatency("validator", time.Millisecond, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.bus.Send(context.Background(), bus.NewMessage("proposer", "validator", "validate", nil)); err != nil {
		t.Fatal(err)
	}
	s.agg.Collect()

	t.Run("health returns the current report", func(t *testing.T) {
		var rep health.Report
		decode(t, do(t, s.h, "GET", "/health", ""), 200, &rep)
		if rep.Status != health.Healthy || rep.Total != 3 || len(rep.Circuits) != 3 {
			t.Errorf("report = %+v", rep)
		}
		if rep.ConstitutionalHash != antifragile.ConstitutionalHash {
			t.Errorf("hash = %q", rep.ConstitutionalHash)
		}
	})
	t.Run("health follows a new collection", func(t *testing.T) {
		b, _ := s.reg.Get("db")
		b.ForceOpen()
		s.agg.Collect()
		var rep health.Report
		decode(t, do(t, s.h, "GET", "/health", ""), 200, &rep)
		if rep.Open != 1 || rep.Status != health.Degraded || len(rep.TopOffenders) != 1 {
			t.Errorf("report after force-open: open=%d status=%v", rep.Open, rep.Status)
		}
		b.Release()
		s.agg.Collect()
	})
	t.Run("health history lists snapshots", func(t *testing.T) {
		var hist api.HealthHistory
		decode(t, do(t, s.h, "GET", "/health/history?window=5m", ""), 200, &hist)
		if hist.Count == 0 || hist.Count != len(hist.Snapshots) || hist.Window != api.Duration(5*time.Minute) {
			t.Errorf("history = %+v", hist)
		}
		decode(t, do(t, s.h, "GET", "/health/history", ""), 200, &hist)
		if hist.Count == 0 || hist.Window != 0 {
			t.Errorf("history without window = %+v", hist)
		}
	})
	t.Run("breakers lists every breaker", func(t *testing.T) {
		var bs api.Breakers
		decode(t, do(t, s.h, "GET", "/breakers", ""), 200, &bs)
		names := []string{}
		for _, b := range bs.Breakers {
			names = append(names, b.Name)
		}
		if bs.Count != 3 || strings.Join(names, ",") != "cache,db,validator" {
			t.Errorf("breakers = %v (count %d)", names, bs.Count)
		}
		for _, b := range bs.Breakers {
			if b.Name == "validator" && (b.Calls != 1 || b.Successes != 1) {
				t.Errorf("validator metrics = %+v", b.Metrics)
			}
		}
	})
	t.Run("recovery returns the status", func(t *testing.T) {
		if err := s.orch.Schedule("db", recovery.Manual, 2, nil); err != nil {
			t.Fatal(err)
		}
		defer s.orch.Cancel("db")
		var st recovery.Status
		decode(t, do(t, s.h, "GET", "/recovery", ""), 200, &st)
		if st.ActiveCount != 1 || len(st.Services) != 1 || st.Services[0].Service != "db" || st.Services[0].Priority != 2 {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("chaos scenarios lists the active ones", func(t *testing.T) {
		var sc api.Scenarios
		decode(t, do(t, s.h, "GET", "/chaos/scenarios", ""), 200, &sc)
		if sc.Count != 1 || sc.Scenarios[0].Name != "latency_validator_1ms" || sc.Scenarios[0].Delay != time.Millisecond || !sc.Scenarios[0].Active {
			t.Errorf("scenarios = %+v", sc)
		}
	})
	t.Run("chaos scenario by name", func(t *testing.T) {
		var sc struct {
			Name   string `json:"name"`
			Target string `json:"target"`
		}
		decode(t, do(t, s.h, "GET", "/chaos/scenarios/latency_validator_1ms", ""), 200, &sc)
		if sc.Target != "validator" {
			t.Errorf("scenario = %+v", sc)
		}
	})
	t.Run("chaos metrics decode into the wire form", func(t *testing.T) {
		var m chaos.Metrics
		decode(t, do(t, s.h, "GET", "/chaos/metrics", ""), 200, &m)
		if m.ScenariosRun != 1 || m.ActiveScenarios != 1 || m.LatencyInjections != 1 || m.LatencyInjected != time.Millisecond {
			t.Errorf("metrics = %+v", m)
		}
	})
	t.Run("metering returns metrics and usage", func(t *testing.T) {
		var m api.Metering
		decode(t, do(t, s.h, "GET", "/metering", ""), 200, &m)
		if m.Metrics.Queued < 2 || len(m.Usage) == 0 {
			t.Fatalf("metering = %+v", m)
		}
		found := false
		for _, u := range m.Usage {
			if u.Tenant == "acme" && u.Tokens == 7 {
				found = true
			}
		}
		if !found {
			t.Errorf("usage lacks acme: %+v", m.Usage)
		}
	})
	t.Run("bus returns the stats", func(t *testing.T) {
		var st bus.Metrics
		decode(t, do(t, s.h, "GET", "/bus", ""), 200, &st)
		if st.Agents != 1 || st.Sent != 1 || st.Delivered != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("livez is ok", func(t *testing.T) {
		var p api.Probe
		decode(t, do(t, s.h, "GET", "/livez", ""), 200, &p)
		if p.Status != api.ProbeOK {
			t.Errorf("probe = %+v", p)
		}
	})
	t.Run("readyz is ready when healthy", func(t *testing.T) {
		var p api.Probe
		decode(t, do(t, s.h, "GET", "/readyz", ""), 200, &p)
		if p.Status != api.ProbeReady || p.Health != "HEALTHY" {
			t.Errorf("probe = %+v", p)
		}
	})
	t.Run("index lists the routes", func(t *testing.T) {
		var idx api.Index
		decode(t, do(t, s.h, "GET", "/", ""), 200, &idx)
		if idx.Version != antifragile.Version || len(idx.Routes) < 20 {
			t.Errorf("index = %+v", idx)
		}
		auth := 0
		for _, r := range idx.Routes {
			if r.Auth {
				auth++
				if r.Method == "GET" {
					t.Errorf("read route %s needs auth", r.Path)
				}
			} else if r.Method != "GET" {
				t.Errorf("write route %s %s without auth", r.Method, r.Path)
			}
		}
		if want := len(writeRoutes()) + len(clusterWriteRoutes); auth != want {
			t.Errorf("%d auth routes, want %d", auth, want)
		}
	})
}

func TestHandler_ReadBadInput(t *testing.T) {
	s := newSystem(t)
	tests := []struct {
		name, method, target string
		status               int
		field                string
	}{
		{"history window not a duration", "GET", "/health/history?window=soon", 400, "window"},
		{"history window negative", "GET", "/health/history?window=-1m", 400, "window"},
		{"unknown scenario", "GET", "/chaos/scenarios/none", 404, ""},
		{"unknown route", "GET", "/nope", 404, ""},
		{"unknown nested route", "GET", "/breakers/db/state", 404, ""},
		{"wrong method", "PUT", "/health", 405, ""},
		{"wrong method on a write route", "GET", "/chaos/emergency-stop", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s.h, tt.method, tt.target, "")
			env := envelope(t, rec, tt.status)
			if env.Field != tt.field {
				t.Errorf("field = %q, want %q (%+v)", env.Field, tt.field, env)
			}
			if tt.status == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestHandler_MissingComponents(t *testing.T) {
	t.Run("only a registry: the other components answer 503", func(t *testing.T) {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		h := ops.Handler(ops.Options{Registry: reg, Token: token})
		for _, target := range []string{"/health", "/health/history", "/readyz", "/recovery", "/chaos/scenarios", "/chaos/scenarios/x", "/chaos/metrics", "/metering", "/bus"} {
			envelope(t, do(t, h, "GET", target, ""), 503)
		}
		for _, r := range writeRoutes() {
			if strings.HasPrefix(r.target, "/breakers/") {
				continue
			}
			envelope(t, do(t, h, r.method, r.target, r.body, auth()...), 503)
		}
		// What needs only the registry works.
		decode(t, do(t, h, "GET", "/breakers", ""), 200, &api.Breakers{})
		decode(t, do(t, h, "GET", "/livez", ""), 200, &api.Probe{})
		if rec := do(t, h, "GET", "/metrics", ""); rec.Code != 200 {
			t.Errorf("/metrics = %d", rec.Code)
		}
	})
	t.Run("no registry: every route answers 503", func(t *testing.T) {
		h := ops.Handler(ops.Options{Token: token})
		for _, target := range []string{"/", "/health", "/breakers", "/livez", "/metrics", "/events"} {
			env := envelope(t, do(t, h, "GET", target, ""), 503)
			if !strings.Contains(env.Error, "registry") {
				t.Errorf("%s: %+v", target, env)
			}
		}
		envelope(t, do(t, h, "POST", "/chaos/reset", "", auth()...), 503)
	})
}

func TestHandler_Readyz(t *testing.T) {
	tests := []struct {
		name     string
		statuses []health.Status
		forced   int // breakers forced open out of 3 (db, cache, validator)
		want     int
		health   string
	}{
		{"healthy is ready by default", nil, 0, 200, "HEALTHY"},
		{"degraded is ready by default", nil, 1, 200, "DEGRADED"},
		{"critical is not ready by default", nil, 2, 503, "CRITICAL"},
		{"healthy only: degraded is not ready", []health.Status{health.Healthy}, 1, 503, "DEGRADED"},
		{"critical listed: ready", []health.Status{health.Critical}, 2, 200, "CRITICAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSystem(t, func(o *ops.Options) { o.ReadyStatuses = tt.statuses })
			for i, name := range []string{"db", "cache"} {
				if i < tt.forced {
					b, _ := s.reg.Get(name)
					b.ForceOpen()
				}
			}
			rec := do(t, s.h, "GET", "/readyz", "")
			var p api.Probe
			decode(t, rec, tt.want, &p)
			if p.Health != tt.health {
				t.Errorf("health = %q, want %q", p.Health, tt.health)
			}
			if (p.Status == api.ProbeReady) != (tt.want == 200) {
				t.Errorf("status = %q", p.Status)
			}
		})
	}
}

func TestHandler_Mount(t *testing.T) {
	s := newSystem(t)
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", s.h))
	var p api.Probe
	decode(t, do(t, mux, "GET", "/ops/livez", ""), 200, &p)
	rec := do(t, mux, "POST", "/ops/breakers/db/force-open", "", auth()...)
	var a api.BreakerAction
	decode(t, rec, 200, &a)
	if a.State != breaker.ForcedOpen {
		t.Errorf("action = %+v", a)
	}
}

func TestHandler_Dashboard(t *testing.T) {
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("dashboard " + r.URL.Path))
	})
	s := newSystem(t, func(o *ops.Options) { o.Dashboard = dash })
	for _, path := range []string{"/", "/app.js"} {
		rec := do(t, s.h, "GET", path, "")
		if rec.Code != 200 || rec.Body.String() != "dashboard "+path {
			t.Errorf("GET %s = %d %q", path, rec.Code, rec.Body)
		}
	}
	// API routes still win.
	decode(t, do(t, s.h, "GET", "/livez", ""), 200, &api.Probe{})
}

func TestHandler_Metrics(t *testing.T) {
	s := newSystem(t)
	b, _ := s.reg.Get("db")
	b.ForceOpen()
	if _, err := s.eng.InjectErrors("cache", 1, nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	s.meter.Record(metering.Event{Tenant: "acme"})
	if _, err := s.bus.Send(context.Background(), bus.NewMessage("p", "validator", "x", nil)); err != nil {
		t.Fatal(err)
	}
	s.agg.Collect()

	rec := do(t, s.h, "GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`antifragile_info{constitutional_hash="` + antifragile.ConstitutionalHash + `",version="` + antifragile.Version + `"} 1`,
		`antifragile_breakers 3`,
		`antifragile_breaker_state{name="db",state="forced_open"} 1`,
		`antifragile_breaker_state{name="db",state="closed"} 0`,
		`antifragile_breaker_state{name="cache",state="closed"} 1`,
		`antifragile_breaker_state_value{name="db"} 3`,
		`antifragile_breaker_calls_total{name="validator"} 1`,
		`antifragile_breaker_successes_total{name="validator"} 1`,
		`antifragile_health_status{status="CRITICAL"} 0`,
		`antifragile_health_status{status="DEGRADED"} 1`,
		`antifragile_health_score 0.6666666666666666`,
		`antifragile_health_breakers{state="open"} 1`,
		`antifragile_recovery_active_tasks 0`,
		`antifragile_chaos_active_scenarios 1`,
		`antifragile_chaos_scenarios_run_total 1`,
		`antifragile_chaos_injections_total{kind="error"} 0`,
		`antifragile_chaos_emergency_stop 0`,
		`antifragile_meter_queued_total 2`,
		`antifragile_meter_queue_size 2`,
		`antifragile_meter_dropped_total 0`,
		`antifragile_bus_agents 1`,
		`antifragile_bus_messages_total{result="delivered"} 1`,
	} {
		if !containsLine(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	// Scrapes read the components now: a change shows on the next scrape.
	b.Release()
	if body := do(t, s.h, "GET", "/metrics", "").Body.String(); !containsLine(body, `antifragile_breaker_state{name="db",state="closed"} 1`) {
		t.Error("second scrape does not see the release")
	}
}

func containsLine(body, line string) bool {
	for l := range strings.Lines(body) {
		if strings.TrimSuffix(l, "\n") == line {
			return true
		}
	}
	return false
}

func TestHandler_HealthCache(t *testing.T) {
	t.Run("a collected report is encoded once", func(t *testing.T) {
		s := newSystem(t)
		s.agg.Collect()
		a := do(t, s.h, "GET", "/health", "").Body.Bytes()
		b := do(t, s.h, "GET", "/health", "").Body.Bytes()
		if !bytes.Equal(a, b) {
			t.Error("two reads of one report differ")
		}
	})
	t.Run("gzip when the client accepts it", func(t *testing.T) {
		s := newSystem(t)
		s.agg.Collect()
		plain := do(t, s.h, "GET", "/health", "")
		if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("identity headers: %v", plain.Header())
		}
		tests := []struct {
			accept string
			gzip   bool
		}{
			{"gzip", true},
			{"br, gzip;q=0.5", true},
			{"*", true},
			{"GZIP", true},
			{"gzip;q=0", false},
			{"gzip; q=0.0", false},
			{"br, deflate", false},
			{"", false},
		}
		for _, tt := range tests {
			rec := do(t, s.h, "GET", "/health", "", "Accept-Encoding", tt.accept)
			if rec.Code != 200 {
				t.Fatalf("%q: status %d", tt.accept, rec.Code)
			}
			got := rec.Body.Bytes()
			if enc := rec.Header().Get("Content-Encoding"); (enc == "gzip") != tt.gzip {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q", tt.accept, enc)
			} else if tt.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				if got, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, plain.Body.Bytes()) {
				t.Errorf("Accept-Encoding %q: body differs from the identity one", tt.accept)
			}
		}
	})
	t.Run("before any collection the report is fresh", func(t *testing.T) {
		s := newSystem(t)
		var rep health.Report
		rec := do(t, s.h, "GET", "/health", "", "Accept-Encoding", "gzip")
		if rec.Header().Get("Content-Encoding") != "" {
			t.Error("a fresh report is gzipped")
		}
		decode(t, rec, 200, &rep)
		if rep.Status != health.Healthy || rep.Timestamp.IsZero() {
			t.Errorf("report = %+v", rep.Snapshot)
		}
		b, _ := s.reg.Get("db")
		b.ForceOpen()
		decode(t, do(t, s.h, "GET", "/health", ""), 200, &rep)
		if rep.Open != 1 {
			t.Errorf("fresh report missed the forced breaker: %+v", rep.Snapshot)
		}
	})
}

// TestHandler_Concurrent hits read and write routes from several goroutines
// (run with -race).
func TestHandler_Concurrent(t *testing.T) {
	s := newSystem(t)
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			c := srv.Client()
			for i := range 20 {
				var req *http.Request
				if (g+i)%3 == 0 {
					req, _ = http.NewRequest("POST", srv.URL+"/breakers/db/force-open", nil)
					req.Header.Set("Authorization", "Bearer "+token)
				} else {
					path := []string{"/health", "/breakers", "/metrics", "/readyz"}[(g+i)%4]
					req, _ = http.NewRequest("GET", srv.URL+path, nil)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode >= 500 && resp.StatusCode != 503 {
					t.Errorf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
				}
				if i%5 == 0 {
					s.agg.Collect()
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
