package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/ops"
)

func TestClient_Events(t *testing.T) {
	s := newSystem(t)
	c := s.client(t, token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var got []string
	for ev, err := range c.Events(ctx) {
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch ev.Kind {
		case api.KindHello:
			h, err := ev.Hello()
			if err != nil || h.ConstitutionalHash != antifragile.ConstitutionalHash || h.Health == nil || ev.ID != 1 {
				t.Fatalf("hello = %+v, %v", h, err)
			}
			got = append(got, "hello")
			// The stream is open: act.
			if _, err := c.ForceOpenBreaker(ctx, "db"); err != nil {
				t.Fatal(err)
			}
		case api.KindBreaker:
			b, err := ev.Breaker()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("breaker %s %s", b.Breaker, b.To))
			if _, err := c.InjectScenario(ctx, chaos.PartitionScenario("validator", time.Minute)); err != nil {
				t.Fatal(err)
			}
		case api.KindChaos:
			e, err := ev.Chaos()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("chaos %s %s", e.Scenario, e.Kind))
		}
		if len(got) == 3 {
			break // ending the loop closes the stream
		}
	}
	want := []string{"hello", "breaker db forced_open", "chaos partition_validator started"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}

	t.Run("ends without error when ctx ends", func(t *testing.T) {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		n := 0
		for _, err := range c.Events(sctx) {
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			n++
			scancel()
		}
		if n != 1 {
			t.Errorf("%d events", n)
		}
	})
	t.Run("refused request", func(t *testing.T) {
		bare := newSystem(t, func(o *ops.Options) { o.Registry = nil })
		n := 0
		for _, err := range bare.client(t, "").Events(ctx) {
			n++
			if !errors.Is(err, client.ErrUnavailable) {
				t.Errorf("err = %v", err)
			}
		}
		if n != 1 {
			t.Errorf("%d yields", n)
		}
	})
}

func TestClient_EventsEnded(t *testing.T) {
	// A server that sends one event and ends the stream.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: breaker\nid: 1\ndata: {\"breaker\":\"db\",\"from\":\"closed\",\"to\":\"open\",\"at\":\"2026-01-02T03:04:05Z\",\"reason\":\"timeout\"}\n\n")
	}))
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var kinds []string
	var last error
	for ev, err := range c.Events(ctx) {
		if err != nil {
			last = err
			continue
		}
		b, _ := ev.Breaker()
		if b.To != breaker.Open {
			t.Errorf("event %+v", b)
		}
		kinds = append(kinds, ev.Kind)
	}
	if len(kinds) != 1 || !errors.Is(last, client.ErrStreamEnded) {
		t.Errorf("kinds %v, last error %v", kinds, last)
	}

	t.Run("not an event stream", func(t *testing.T) {
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "{}")
		}))
		defer plain.Close()
		pc, _ := client.New(client.Config{BaseURL: plain.URL})
		defer pc.CloseIdleConnections()
		n := 0
		for _, err := range pc.Events(ctx) {
			n++
			if err == nil || !strings.Contains(err.Error(), "not an event stream") {
				t.Errorf("err = %v", err)
			}
		}
		if n != 1 {
			t.Errorf("%d yields", n)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		dc, _ := client.New(client.Config{BaseURL: dead.URL})
		n := 0
		for _, err := range dc.Events(ctx) {
			n++
			if !errors.Is(err, client.ErrUnreachable) {
				t.Errorf("err = %v", err)
			}
		}
		if n != 1 {
			t.Errorf("%d yields", n)
		}
	})
}

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string // kind/id/data
		err    bool
	}{
		{"one event", "event: hello\nid: 1\ndata: {}\n\n", []string{"hello/1/{}"}, false},
		{"comments, retry and pings", "retry: 3000\n: ping\n\nevent: a\nid: 2\ndata: 1\n\n: ping\n\n", []string{"a/2/1"}, false},
		{"CRLF", "event: a\r\nid: 3\r\ndata: [1]\r\n\r\n", []string{"a/3/[1]"}, false},
		{"data lines joined", "event: a\ndata: [1,\ndata: 2]\n\n", []string{"a/0/[1,\n2]"}, false},
		{"no space after the colon", "event:a\ndata:true\n\n", []string{"a/0/true"}, false},
		{"default kind", "data: null\n\n", []string{"message/0/null"}, false},
		{"no data: skipped", "event: a\n\nevent: b\ndata: 2\n\n", []string{"b/0/2"}, false},
		{"id persists", "id: 9\ndata: 1\n\ndata: 2\n\n", []string{"message/9/1", "message/9/2"}, false},
		{"unknown field ignored", "event: a\nfoo: bar\ndata: 1\n\n", []string{"a/0/1"}, false},
		{"incomplete last event dropped", "event: a\ndata: 1\n\nevent: b\ndata: 2", []string{"a/0/1"}, false},
		{"non-numeric id ignored", "id: x\ndata: 1\n\n", []string{"message/0/1"}, false},
		{"data not JSON", "event: a\ndata: {oops\n\n", nil, true},
		{"event too large", "data: \"" + strings.Repeat("x", client.DefaultMaxEventBytes) + "\"\n\n", nil, true},
		{"empty", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var gotErr error
			for ev, err := range client.ReadEvents(strings.NewReader(tt.stream)) {
				if err != nil {
					gotErr = err
					break
				}
				got = append(got, fmt.Sprintf("%s/%d/%s", ev.Kind, ev.ID, ev.Data))
			}
			if (gotErr != nil) != tt.err {
				t.Errorf("err = %v", gotErr)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("breaking the loop stops reading", func(t *testing.T) {
		n := 0
		for range client.ReadEvents(strings.NewReader("data: 1\n\ndata: 2\n\n")) {
			n++
			break
		}
		if n != 1 {
			t.Errorf("n = %d", n)
		}
	})
}

func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{
		"event: hello\nid: 1\ndata: {}\n\n",
		"retry: 3000\n: ping\n\ndata: [1,\ndata: 2]\r\n\r\n",
		"id: 18446744073709551615\ndata: null\n\n",
		"data: {\n\n",
		"event\ndata\n\n",
		"\r\r\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		for ev, err := range client.ReadEvents(strings.NewReader(stream)) {
			if err != nil {
				return
			}
			if ev.Kind == "" {
				t.Fatal("event without kind")
			}
			if !json.Valid(ev.Data) {
				t.Fatalf("invalid data %q", ev.Data)
			}
		}
	})
}
