package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestDecodeStrict(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	type body struct {
		Name  string `json:"name"`
		Inner inner  `json:"inner"`
	}
	tests := []struct {
		name, in string
		field    string // a *ValidationError naming this field
		eof      bool
		fails    bool
	}{
		{name: "object", in: `{"name":"x","inner":{"n":1}}`},
		{name: "white space around", in: " \t\n{\"name\":\"x\"}\r\n "},
		{name: "empty", in: ``, eof: true, fails: true},
		{name: "white space only", in: "  \n", eof: true, fails: true},
		{name: "unknown field", in: `{"name":"x","nick":"y"}`, field: "nick", fails: true},
		{name: "unknown nested field", in: `{"inner":{"m":1}}`, field: "m", fails: true},
		{name: "wrong type", in: `{"name":1}`, field: "name", fails: true},
		{name: "wrong nested type", in: `{"inner":{"n":"one"}}`, field: "inner.n", fails: true},
		{name: "not an object", in: `[1]`, field: "body", fails: true},
		{name: "second value", in: `{"name":"x"}{"name":"y"}`, fails: true},
		{name: "trailing garbage", in: `{"name":"x"} garbage`, fails: true},
		{name: "trailing comma", in: `{"name":"x"},`, fails: true},
		{name: "truncated", in: `{"name":"x"`, fails: true},
		{name: "syntax", in: `{name:"x"}`, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v body
			err := api.DecodeStrict(strings.NewReader(tt.in), &v)
			if (err != nil) != tt.fails {
				t.Fatalf("err = %v, fails = %v", err, tt.fails)
			}
			if errors.Is(err, io.EOF) != tt.eof {
				t.Errorf("errors.Is(err, io.EOF) = %v", !tt.eof)
			}
			var ve *api.ValidationError
			if errors.As(err, &ve) != (tt.field != "") {
				t.Fatalf("err = %v (%T), want a ValidationError for %q", err, err, tt.field)
			}
			if ve != nil {
				if ve.Field != tt.field {
					t.Errorf("field = %q, want %q", ve.Field, tt.field)
				}
				if !errors.Is(err, antifragile.ErrInvalid) {
					t.Error("not ErrInvalid")
				}
			}
		})
	}
	t.Run("a read error wins", func(t *testing.T) {
		rec := httptest.NewRecorder()
		r := http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(`{"name":"`+strings.Repeat("x", 100)+`"}`)), 10)
		var v body
		err := api.DecodeStrict(r, &v)
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			t.Fatalf("err = %v, want *http.MaxBytesError", err)
		}
	})
	t.Run("a read error after the value wins", func(t *testing.T) {
		rec := httptest.NewRecorder()
		r := http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(`{"name":"x"}`+strings.Repeat(" ", 100))), 20)
		var v body
		err := api.DecodeStrict(r, &v)
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			t.Fatalf("err = %v, want *http.MaxBytesError", err)
		}
	})
}

func TestMarshal(t *testing.T) {
	b, err := api.Marshal(map[string]string{"html": "<b>&</b>"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"html":"<b>&</b>"}` {
		t.Errorf("Marshal = %s", b)
	}
}

func TestDuration(t *testing.T) {
	var d api.Duration
	if err := json.Unmarshal([]byte(`"1m30s"`), &d); err != nil || d != api.Duration(90*time.Second) {
		t.Fatalf("d = %v, err = %v", d, err)
	}
	b, _ := json.Marshal(api.Duration(250 * time.Millisecond))
	if string(b) != `"250ms"` {
		t.Errorf("Marshal = %s", b)
	}
	for _, bad := range []string{`"soon"`, `"1"`, `12`, `""`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	if api.Duration(time.Second).String() != "1s" {
		t.Error("String")
	}
}

func TestScheduleRequest_Args(t *testing.T) {
	tests := []struct {
		name     string
		req      api.ScheduleRequest
		dflt     recovery.Strategy
		strategy recovery.Strategy
		priority int
		policy   bool
		fields   []string
	}{
		{name: "zero takes the default", dflt: recovery.LinearBackoff, strategy: recovery.LinearBackoff},
		{name: "strategy and priority", req: api.ScheduleRequest{Strategy: "manual", Priority: -2}, strategy: recovery.Manual, priority: -2},
		{name: "policy strategy", req: api.ScheduleRequest{Policy: &api.Policy{Strategy: "immediate"}}, strategy: recovery.Immediate, policy: true},
		{name: "policy without strategy", req: api.ScheduleRequest{Policy: &api.Policy{MaxRetryAttempts: 2}}, dflt: recovery.Manual, strategy: recovery.Manual, policy: true},
		{name: "request strategy wins", req: api.ScheduleRequest{Strategy: "linear_backoff", Policy: &api.Policy{Strategy: "immediate"}}, strategy: recovery.LinearBackoff, policy: true},
		{name: "unknown strategy", req: api.ScheduleRequest{Strategy: "soon"}, fields: []string{"strategy"}},
		{name: "every problem", req: api.ScheduleRequest{Strategy: "soon", Policy: &api.Policy{InitialDelay: "x", MaxDelay: "y", Strategy: "z"}},
			fields: []string{"strategy", "policy.initial_delay", "policy.max_delay", "policy.strategy"}},
		{name: "invalid policy values", req: api.ScheduleRequest{Policy: &api.Policy{MaxRetryAttempts: -1, Jitter: 3}},
			fields: []string{"policy.max_retry_attempts", "policy.jitter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p, pol, err := tt.req.Args(tt.dflt)
			if len(tt.fields) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				if got := fields(err); !reflect.DeepEqual(got, tt.fields) {
					t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s != tt.strategy || p != tt.priority || (pol != nil) != tt.policy {
				t.Errorf("Args = %v, %d, %v", s, p, pol)
			}
		})
	}
	t.Run("a wrong hash is a hash mismatch", func(t *testing.T) {
		_, _, _, err := api.ScheduleRequest{Policy: &api.Policy{ConstitutionalHash: "bad"}}.Args(0)
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
}

// fields lists the Field of every *ValidationError joined in err.
func fields(err error) []string { return antifragile.InvalidFields(err) }

func TestPolicy(t *testing.T) {
	p := recovery.Policy{
		MaxRetryAttempts: 3, BackoffMultiplier: 1.5, InitialDelay: 250 * time.Millisecond, MaxDelay: time.Minute,
		Jitter: 0.2, ActionTimeout: 2 * time.Second, HealthCheckTimeout: time.Second,
		Strategy: recovery.Learned, Fallback: recovery.LinearBackoff, Priority: 4, ConstitutionalHash: antifragile.ConstitutionalHash,
	}
	t.Run("PolicyFrom and ToPolicy round-trip", func(t *testing.T) {
		got, err := api.PolicyFrom(p).ToPolicy()
		if err != nil {
			t.Fatal(err)
		}
		gb, _ := json.Marshal(got)
		pb, _ := json.Marshal(p)
		if !bytes.Equal(gb, pb) {
			t.Errorf("round trip\n got %s\nwant %s", gb, pb)
		}
	})
	t.Run("recovery.Policy's JSON decodes strictly", func(t *testing.T) {
		b, _ := json.Marshal(p)
		var w api.Policy
		if err := api.DecodeStrict(bytes.NewReader(b), &w); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		got, err := w.ToPolicy()
		if err != nil {
			t.Fatal(err)
		}
		gb, _ := json.Marshal(got)
		if !bytes.Equal(gb, b) {
			t.Errorf("got %s, want %s", gb, b)
		}
	})
	t.Run("the zero policy's JSON decodes", func(t *testing.T) {
		b, _ := json.Marshal(recovery.Policy{})
		var w api.Policy
		if err := api.DecodeStrict(bytes.NewReader(b), &w); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if _, err := w.ToPolicy(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDomainRoundTrip checks that the domain types the API sends as they
// are decode back into themselves.
func TestDomainRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	values := []any{
		&health.Report{
			Snapshot: health.Snapshot{Timestamp: at, Status: health.Degraded, Score: 0.5, Total: 2, Closed: 1, Open: 1,
				Degraded: []string{}, Critical: []string{"db"}, ConstitutionalHash: antifragile.ConstitutionalHash},
			Circuits:     []health.Circuit{{Name: "db", State: breaker.ForcedOpen, Weight: 1, Failures: 3, Since: at}, {Name: "x", State: breaker.Closed, Weight: 1}},
			TopOffenders: []health.Offender{{Name: "db", State: breaker.ForcedOpen, Loss: 0.5}},
		},
		&recovery.Status{Running: true, ActiveCount: 1, QueuedCount: 1,
			Services:      []recovery.Task{{Service: "db", State: recovery.Scheduled, Strategy: recovery.Manual, Priority: 1, ScheduledAt: at, NextAttemptAt: at}},
			RecentResults: []recovery.Result{{Service: "db", AttemptNumber: 1, TotalAttempts: 5, Elapsed: antifragile.Duration(time.Second), State: recovery.Scheduled, Error: "down", Timestamp: at}},
			Timestamp:     at, ConstitutionalHash: antifragile.ConstitutionalHash},
		&[]metering.Usage{{Tenant: "acme", Count: 2, Tokens: 3, LatencySum: time.Millisecond, LatencyMax: time.Millisecond, ComplianceMean: 1, Errors: 1, Rejected: 1}},
		&api.Breakers{Count: 1, Breakers: []breaker.Snapshot{{Name: "db", Metrics: breaker.Metrics{State: breaker.HalfOpen, Calls: 3, LastTransition: at}}}},
		&api.Scenarios{Count: 1, Scenarios: []chaos.Scenario{{Name: "s", Type: chaos.TypeLatency, Target: "t", Delay: time.Millisecond,
			Duration: time.Minute, BlastRadius: []string{"u"}, CreatedAt: at, Active: true, CappedFrom: time.Hour, ConstitutionalHash: antifragile.ConstitutionalHash}}},
		&api.HealthHistory{Window: api.Duration(time.Minute), Count: 1, Snapshots: []health.Snapshot{{Timestamp: at, Status: health.Healthy, Score: 1}}},
		&api.RecoveryAction{Service: "db", Action: api.ActionSchedule, Task: &recovery.Task{Service: "db", State: recovery.AwaitingManual, ScheduledAt: at}},
	}
	for _, v := range values {
		t.Run(reflect.TypeOf(v).Elem().String(), func(t *testing.T) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(reflect.TypeOf(v).Elem())
			if err := api.DecodeStrict(bytes.NewReader(b), back.Interface()); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if !reflect.DeepEqual(back.Interface(), v) {
				t.Errorf("round trip\n got %+v\nwant %+v", back.Elem().Interface(), reflect.ValueOf(v).Elem().Interface())
			}
		})
	}
}

func TestEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(kind string, v any) api.Event {
		b, _ := json.Marshal(v)
		return api.Event{Kind: kind, ID: 7, Data: b}
	}
	t.Run("typed accessors", func(t *testing.T) {
		if h, err := mk(api.KindHello, api.Hello{ConstitutionalHash: "h"}).Hello(); err != nil || h.ConstitutionalHash != "h" || h.Health != nil {
			t.Errorf("Hello = %+v, %v", h, err)
		}
		want := breaker.Event{Breaker: "db", From: breaker.Closed, To: breaker.Open, At: at, Reason: breaker.ReasonConsecutiveFailures}
		if b, err := mk(api.KindBreaker, want).Breaker(); err != nil || b != want {
			t.Errorf("Breaker = %+v, %v", b, err)
		}
		if r, err := mk(api.KindHealth, health.Report{Snapshot: health.Snapshot{Status: health.Critical}}).Health(); err != nil || r.Status != health.Critical {
			t.Errorf("Health = %+v, %v", r, err)
		}
		re := recovery.Event{Service: "db", State: recovery.InProgress, Attempt: 2, At: at}
		if r, err := mk(api.KindRecovery, re).Recovery(); err != nil || r != re {
			t.Errorf("Recovery = %+v, %v", r, err)
		}
		ce := chaos.Event{Scenario: "s", Type: chaos.TypeTimeout, Target: "t", Kind: chaos.EventEnded, Reason: chaos.ReasonExpired, At: at}
		if c, err := mk(api.KindChaos, ce).Chaos(); err != nil || c != ce {
			t.Errorf("Chaos = %+v, %v", c, err)
		}
	})
	t.Run("the wrong kind is an error", func(t *testing.T) {
		if _, err := mk(api.KindChaos, chaos.Event{}).Breaker(); err == nil {
			t.Error("no error")
		}
	})
	t.Run("bad data is an error", func(t *testing.T) {
		if _, err := (api.Event{Kind: api.KindBreaker, Data: json.RawMessage(`{"from":"sideways"}`)}).Breaker(); err == nil {
			t.Error("no error")
		}
	})
	t.Run("JSON form", func(t *testing.T) {
		b, _ := json.Marshal(mk(api.KindHello, api.Hello{ConstitutionalHash: "h"}))
		if string(b) != `{"kind":"hello","id":7,"data":{"health":null,"constitutional_hash":"h"}}` {
			t.Errorf("%s", b)
		}
	})
}

func FuzzDecodeScheduleRequest(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"strategy":"manual","priority":3}`,
		`{"policy":{"max_retry_attempts":2,"initial_delay":"1s","max_delay":"2s","jitter":0.5,"strategy":"immediate"}}`,
		`{"policy":{"initial_delay":"1h","max_delay":"1s"}}`, `{"x":1}`, `[]`, `{"priority":1.5}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var req api.ScheduleRequest
		if err := api.DecodeStrict(strings.NewReader(in), &req); err != nil {
			return
		}
		s, p, pol, err := req.Args(recovery.ExponentialBackoff)
		if err != nil {
			if len(fields(err)) == 0 && !errors.Is(err, antifragile.ErrHashMismatch) {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if pol != nil {
			if err := pol.Validate(); err != nil {
				t.Fatalf("Args returned an invalid policy: %v", err)
			}
		}
		// What decoded re-encodes and decodes to the same arguments.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var again api.ScheduleRequest
		if err := api.DecodeStrict(bytes.NewReader(b), &again); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		s2, p2, pol2, err := again.Args(recovery.ExponentialBackoff)
		if err != nil || s2 != s || p2 != p || (pol2 == nil) != (pol == nil) {
			t.Fatalf("re-decoded Args differ: %v %v %v %v", s2, p2, pol2, err)
		}
	})
}
