package daemon_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/internal/redistest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

func TestNew(t *testing.T) {
	t.Run("refuses an invalid config with every field path", func(t *testing.T) {
		f := system.Default()
		f.Ops.Listen = "nowhere"
		f.Breakers.Named = map[string]breaker.Config{"validator": {FailureRate: 2}}
		f.Recovery.Policies = map[string]recovery.Policy{"ledger": {Jitter: -1}}
		f.Metering.Sink = "ftp://x"
		_, err := daemon.New(f)
		if !errors.Is(err, antifragile.ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		for _, field := range []string{"ops.listen", "breakers.named.validator.failure_rate", "recovery.policies.ledger.jitter", "metering.sink"} {
			if !strings.Contains(err.Error(), "invalid "+field+" ") {
				t.Errorf("the error does not name %s:\n%v", field, err)
			}
		}
		var ve *system.ValidationError
		if !errors.As(err, &ve) {
			t.Error("errors.As(*ValidationError) = false")
		}
	})
	t.Run("nil means the defaults", func(t *testing.T) {
		f := system.Default()
		f.Getenv = func(string) string { return "" }
		d, err := daemon.New(f)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(context.Background())
		if got := d.Config().ListenAddr(); got != "127.0.0.1:8080" {
			t.Errorf("listen = %q", got)
		}
		if d.HasToken() {
			t.Error("a token out of nowhere")
		}
		if d.Addr() != "" || d.URL() != "" {
			t.Error("an address before Run")
		}
	})
	t.Run("builds every component from the config", func(t *testing.T) {
		f := parse(t, `{
			"breakers": {"default": {"open_timeout": "7s"}, "named": {"validator": {"consecutive_failures": 2}}},
			"recovery": {"policies": {"validator": {"strategy": "immediate", "max_retry_attempts": 9}}},
			"health": {"weights": {"validator": 4}}
		}`)
		d, err := daemon.New(f)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(context.Background())
		b, ok := d.Registry().Get("validator")
		if !ok {
			t.Fatal("the named breaker was not created")
		}
		if c := b.Config(); c.ConsecutiveFailures != 2 || c.OpenTimeout != 7*time.Second {
			t.Errorf("validator breaker = %+v", c)
		}
		if p := d.Recovery().Policy("validator"); p.Strategy != recovery.Immediate || p.MaxRetryAttempts != 9 {
			t.Errorf("validator policy = %+v", p)
		}
		if w := d.Health().Weight("validator"); w != 4 {
			t.Errorf("weight = %v", w)
		}
		if d.Chaos() == nil || d.Meter() == nil || d.Bus() == nil || d.Usage() == nil || d.Handler() == nil {
			t.Error("a component is missing")
		}
		if err := d.Bus().Register("ledger", echo); err != nil {
			t.Fatal(err)
		}
		lb, _ := d.Registry().Get("ledger")
		if lb.Config().OpenTimeout != 7*time.Second {
			t.Errorf("an agent's breaker does not use breakers.default: %+v", lb.Config())
		}
	})
	t.Run("reads the token from the configured variable", func(t *testing.T) {
		f := system.Default()
		f.Ops.TokenEnv = "MY_TOKEN"
		f.Getenv = func(k string) string {
			if k == "MY_TOKEN" {
				return "s3cret-long-enough"
			}
			return ""
		}
		d, err := daemon.New(f)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(context.Background())
		if !d.HasToken() {
			t.Fatal("no token")
		}
	})
	t.Run("refuses a typed-nil dashboard naming it", func(t *testing.T) {
		for _, h := range []http.Handler{http.HandlerFunc(nil), (*http.ServeMux)(nil)} {
			f := system.Default()
			f.Dashboard, f.Getenv = h, func(string) string { return "" }
			d, err := daemon.New(f)
			var ve *antifragile.ValidationError
			if d != nil || !errors.As(err, &ve) || ve.Field != "dashboard" || !errors.Is(err, antifragile.ErrNil) {
				t.Fatalf("New(WithDashboard(%T nil)) = %v, %v; want a *ValidationError for dashboard wrapping ErrNil", h, d, err)
			}
		}
	})
	t.Run("a nil dashboard means the route index", func(t *testing.T) {
		f := system.Default()
		f.Getenv = func(string) string { return "" }
		d, err := daemon.New(f)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(context.Background())
		rec := httptest.NewRecorder()
		d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"routes"`) {
			t.Fatalf("GET / = %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("fails when the file sink cannot be opened", func(t *testing.T) {
		f := system.Default()
		f.Metering.Sink = "file:" + filepath.Join(t.TempDir(), "missing", "dir", "usage.jsonl")
		if _, err := daemon.New(f); err == nil {
			t.Fatal("New succeeded")
		}
	})
}

func TestDaemon_Run(t *testing.T) {
	t.Run("serves the ops API on a free port", func(t *testing.T) {
		r := start(t, parse(t, `{"breakers":{"named":{"validator":{}}}}`))
		if r.Addr() == "" || !strings.HasPrefix(r.URL(), "http://127.0.0.1:") || strings.HasSuffix(r.Addr(), ":0") {
			t.Fatalf("Addr = %q, URL = %q", r.Addr(), r.URL())
		}
		if code, body := get(t, r.URL()+"/livez"); code != http.StatusOK {
			t.Errorf("GET /livez = %d %s", code, body)
		}
		code, body := get(t, r.URL()+"/health")
		if code != http.StatusOK || !strings.Contains(body, antifragile.ConstitutionalHash) {
			t.Errorf("GET /health = %d %s", code, body)
		}
		if code, body := get(t, r.URL()+"/breakers"); code != http.StatusOK || !strings.Contains(body, "validator") {
			t.Errorf("GET /breakers = %d %s", code, body)
		}
		if err := r.stop(t); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if _, err := net.Dial("tcp", r.Addr()); err == nil {
			t.Error("still listening after Run returned")
		}
	})
	t.Run("runs once", func(t *testing.T) {
		r := start(t, parse(t, `{}`))
		if err := r.Run(context.Background()); !errors.Is(err, daemon.ErrRunning) {
			t.Errorf("a second Run = %v, want ErrRunning", err)
		}
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		if err := r.Run(context.Background()); !errors.Is(err, daemon.ErrClosed) {
			t.Errorf("Run after Run = %v, want ErrClosed", err)
		}
	})
	t.Run("write routes need the configured token", func(t *testing.T) {
		f := parse(t, `{"ops":{"token":"s3cret-long-enough"},"breakers":{"named":{"validator":{}}}}`)
		r := start(t, f)
		if code, _ := do(t, http.MethodPost, r.URL()+"/breakers/validator/force-open", ""); code != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", code)
		}
		if code, _ := do(t, http.MethodPost, r.URL()+"/breakers/validator/force-open", "wrong"); code != http.StatusForbidden {
			t.Errorf("with a wrong token: %d, want 403", code)
		}
		if code, body := do(t, http.MethodPost, r.URL()+"/breakers/validator/force-open", "s3cret-long-enough"); code != http.StatusOK {
			t.Errorf("with the token: %d %s", code, body)
		}
		if b, _ := r.Registry().Get("validator"); b.State() != breaker.ForcedOpen {
			t.Errorf("state = %v, want forced_open", b.State())
		}
	})
	t.Run("without a token the write routes are disabled", func(t *testing.T) {
		f := parse(t, `{"breakers":{"named":{"validator":{}}}}`)
		f.Getenv = func(string) string { return "" }
		r := start(t, f)
		if code, body := do(t, http.MethodPost, r.URL()+"/breakers/validator/reset", "anything"); code != http.StatusForbidden || !strings.Contains(body, "no token") {
			t.Errorf("POST = %d %s, want 403 writes disabled", code, body)
		}
	})
	t.Run("fails when it cannot listen, releasing everything", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		f := system.Default()
		f.Ops.Listen = ln.Addr().String()
		f.Metering.Sink = "file:" + filepath.Join(t.TempDir(), "usage.jsonl")
		d, err := daemon.New(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
			t.Fatalf("Run = %v, want a listen error", err)
		}
		select {
		case <-d.Ready():
			t.Error("Ready closed without a listener")
		default:
		}
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("Close after a failed Run = %v", err)
		}
	})
	t.Run("Close stops a running daemon", func(t *testing.T) {
		r := start(t, parse(t, `{}`))
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Run has released everything when Close returns; its result
		// reaches the channel a moment later (the watchdog only guards
		// against a hang).
		select {
		case err := <-r.result:
			r.result <- err
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
		case <-time.After(watchdog):
			t.Fatal("Run did not return after Close")
		}
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("a second Close = %v", err)
		}
	})
	t.Run("an open event stream does not hold up the shutdown", func(t *testing.T) {
		r := start(t, parse(t, `{"ops":{"shutdown_timeout":"1h"}}`))
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		resp, err := client.Get(r.URL() + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("the stream ended before its hello: %v", err)
			}
			if strings.HasPrefix(line, "event: hello") {
				break
			}
		}
		// With a one-hour shutdown timeout, only ending the stream lets
		// Run return before the watchdog.
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDaemon_Run_shutdown(t *testing.T) {
	const n = 250
	// flush_interval 1h and a batch bigger than n: nothing is delivered
	// before the shutdown, which must deliver everything.
	const metering = `"batch_size": 1000, "flush_interval": "1h", "aggregation_interval": "1h"`

	t.Run("memory sink loses no metering event", func(t *testing.T) {
		r := start(t, parse(t, `{"metering":{`+metering+`}}`))
		if err := r.Bus().Register("validator", echo); err != nil {
			t.Fatal(err)
		}
		sendN(t, r.Bus(), n)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		u, ok := r.Usage().Total("acme")
		if !ok || u.Count != n {
			t.Fatalf("usage of acme = %+v, want %d events", u, n)
		}
		if m := r.Meter().Metrics(); m.Flushed != n || m.Dropped != 0 || m.Failed != 0 {
			t.Fatalf("meter = %+v", m)
		}
	})
	t.Run("file sink loses no metering event", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "usage.jsonl")
		r := start(t, parse(t, `{"metering":{"sink":"file:`+path+`",`+metering+`}}`))
		if err := r.Bus().Register("validator", echo); err != nil {
			t.Fatal(err)
		}
		sendN(t, r.Bus(), n)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		events, err := readEvents(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != n {
			t.Fatalf("the file holds %d events, want %d", len(events), n)
		}
		for _, e := range events {
			if e.Tenant != "acme" || e.Operation != "agent_message" || e.Outcome.String() != "ok" {
				t.Fatalf("event %+v", e)
			}
		}
		if u, _ := r.Usage().Total("acme"); u.Count != n {
			t.Fatalf("in-memory usage = %+v, want %d events as well", u, n)
		}
	})
	t.Run("redis sink loses no metering event", func(t *testing.T) {
		srv := redistest.Start(t)
		r := start(t, parse(t, `{"metering":{"sink":"redis://`+srv.Addr()+`/3","redis":{"stream":"usage"},`+metering+`}}`))
		if err := r.Bus().Register("validator", echo); err != nil {
			t.Fatal(err)
		}
		sendN(t, r.Bus(), n)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(&redis.Options{Addr: srv.Addr(), DB: 3})
		defer client.Close()
		got, err := client.XLen(context.Background(), "usage").Result()
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Fatalf("the stream holds %d events, want %d", got, n)
		}
		if u, _ := r.Usage().Total("acme"); u.Count != n {
			t.Fatalf("in-memory usage = %+v", u)
		}
	})
	t.Run("ends chaos and releases forced breakers", func(t *testing.T) {
		r := start(t, parse(t, `{"breakers":{"named":{"validator":{}}}}`))
		if _, err := r.Chaos().ForceBreakerOpen("validator", time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Chaos().InjectLatency("ledger", time.Second, time.Minute); err != nil {
			t.Fatal(err)
		}
		b, _ := r.Registry().Get("validator")
		if b.State() != breaker.ForcedOpen {
			t.Fatalf("state = %v before the shutdown", b.State())
		}
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		if b.State() == breaker.ForcedOpen {
			t.Error("the breaker chaos forced open is still forced open")
		}
		if a := r.Chaos().Active(); len(a) != 0 {
			t.Errorf("scenarios still active: %v", a)
		}
	})
}

func TestDaemon_Close(t *testing.T) {
	t.Run("a daemon never run delivers what was recorded", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "usage.jsonl")
		f := system.Default()
		f.Metering.Sink = "file:" + path
		d, err := daemon.New(f)
		if err != nil {
			t.Fatal(err)
		}
		d.Meter().Record(metering.Event{Tenant: "acme", Operation: metering.OpAgentMessage})
		if err := d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if events, err := readEvents(path); err != nil || len(events) != 1 {
			t.Fatalf("file holds %d events, %v", len(events), err)
		}
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("a second Close = %v", err)
		}
		if err := d.Run(context.Background()); !errors.Is(err, daemon.ErrClosed) {
			t.Errorf("Run after Close = %v, want ErrClosed", err)
		}
	})
}

func TestDaemon_stopOnCritical(t *testing.T) {
	f := parse(t, `{"chaos":{"stop_on_critical":true},"breakers":{"named":{"validator":{}}}}`)
	r := start(t, f)
	if _, err := r.Chaos().InjectLatency("ledger", time.Millisecond, time.Minute); err != nil {
		t.Fatal(err)
	}
	if r.Chaos().CheckStopConditions() {
		t.Fatal("aborted while healthy")
	}
	b, _ := r.Registry().Get("validator")
	b.ForceOpen()
	if rep := r.Health().Collect(); rep.Status != health.Critical {
		t.Fatalf("status = %v, want CRITICAL", rep.Status)
	}
	if !r.Chaos().CheckStopConditions() {
		t.Fatal("CRITICAL health did not abort the experiments")
	}
	if _, err := r.Chaos().InjectLatency("ledger", time.Millisecond, time.Minute); !errors.Is(err, chaos.ErrEmergencyStop) {
		t.Errorf("Inject after the abort = %v, want ErrEmergencyStop", err)
	}
}

func readEvents(path string) ([]metering.Event, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return metering.ReadFile(path)
}

func TestDaemon_Run_componentFailure(t *testing.T) {
	d, err := daemon.New(parse(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else runs the chaos engine: the daemon's own Run of it fails.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other := make(chan error, 1)
	go func() { other <- d.Chaos().Run(ctx) }()
	for !d.Chaos().Running() {
		runtime.Gosched()
	}
	err = d.Run(context.Background()) // never cancelled: the failure ends it
	if !errors.Is(err, chaos.ErrRunning) || !strings.Contains(err.Error(), "chaos") {
		t.Fatalf("Run = %v, want the chaos engine's ErrRunning", err)
	}
	if err := <-other; err != nil {
		t.Fatalf("the other chaos Run = %v", err)
	}
}
