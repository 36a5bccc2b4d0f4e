package ops_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

// sseEvent is one parsed event, kept apart from the client package's parser
// so that the wire format is checked independently.
type sseEvent struct {
	kind string
	id   uint64
	data string
}

// readSSE parses events from r in exactly the framing the handler writes
// (event, id, data, blank line), sending them on out until r fails.
func readSSE(t *testing.T, sc *bufio.Scanner, out chan<- sseEvent) {
	defer close(out)
	var ev sseEvent
	var fields []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(fields) > 0 {
				if strings.Join(fields, ",") != "event,id,data" {
					t.Errorf("event fields %v, want event,id,data", fields)
				}
				out <- ev
			}
			ev, fields = sseEvent{}, nil
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry: "):
		case strings.HasPrefix(line, "event: "):
			ev.kind = strings.TrimPrefix(line, "event: ")
			fields = append(fields, "event")
		case strings.HasPrefix(line, "id: "):
			n, err := strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
			if err != nil {
				t.Errorf("bad id line %q", line)
			}
			ev.id = n
			fields = append(fields, "id")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
			fields = append(fields, "data")
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
}

func TestHandler_Events(t *testing.T) {
	s := newSystem(t)
	srv := httptest.NewServer(s.h)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Run the aggregator so that health changes are delivered, and wait
	// for its first collection.
	first := make(chan struct{}, 1)
	removeFirst := s.agg.OnChange(func(health.Report) {
		select {
		case first <- struct{}{}:
		default:
		}
	})
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.agg.Run(runCtx) }()
	defer func() {
		stopRun()
		if err := <-ran; err != nil {
			t.Errorf("aggregator Run: %v", err)
		}
	}()
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("the aggregator never collected")
	}
	removeFirst()

	streamCtx, closeStream := context.WithCancel(ctx)
	defer closeStream()
	req, _ := http.NewRequestWithContext(streamCtx, "GET", srv.URL+"/events", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("stream without nosniff")
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	events := make(chan sseEvent, 64)
	go readSSE(t, sc, events)

	next := func(t *testing.T, what string) sseEvent {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended while waiting for %s", what)
			}
			return ev
		case <-ctx.Done():
			t.Fatalf("no %s event before the deadline", what)
		}
		return sseEvent{}
	}

	hello := next(t, "hello")
	if hello.kind != "hello" || hello.id != 1 {
		t.Fatalf("first event = %+v", hello)
	}
	var h api.Hello
	if err := json.Unmarshal([]byte(hello.data), &h); err != nil {
		t.Fatal(err)
	}
	if h.ConstitutionalHash != antifragile.ConstitutionalHash || h.Health == nil || h.Health.Status != health.Healthy {
		t.Errorf("hello = %+v", h)
	}

	lastID := hello.id
	// seen keeps every event read so far: events that travel on different
	// subscriptions (a breaker transition and the health change it causes)
	// may arrive in either order.
	var seen []sseEvent
	// waitFor finds an event of kind that satisfies ok among those seen, or
	// reads events until one comes.
	waitFor := func(t *testing.T, kind string, ok func(data []byte) bool) {
		t.Helper()
		for _, ev := range seen {
			if ev.kind == kind && ok([]byte(ev.data)) {
				return
			}
		}
		for {
			ev := next(t, kind)
			if ev.id != lastID+1 {
				t.Errorf("id %d after %d", ev.id, lastID)
			}
			lastID = ev.id
			seen = append(seen, ev)
			if ev.kind == kind && ok([]byte(ev.data)) {
				return
			}
		}
	}

	t.Run("a forced breaker sends a breaker event", func(t *testing.T) {
		b, _ := s.reg.Get("db")
		b.ForceOpen()
		waitFor(t, api.KindBreaker, func(data []byte) bool {
			var ev breaker.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			return ev.Breaker == "db" && ev.To == breaker.ForcedOpen && ev.Reason == breaker.ReasonForced
		})
	})
	t.Run("the health change follows", func(t *testing.T) {
		waitFor(t, api.KindHealth, func(data []byte) bool {
			var rep health.Report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			return rep.Status == health.Degraded
		})
	})
	t.Run("an injected scenario sends a chaos event", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/chaos/scenarios",
			strings.NewReader(`{"name":"slow","type":"latency","target":"validator","delay":"1ms"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("inject: %d", resp.StatusCode)
		}
		waitFor(t, api.KindChaos, func(data []byte) bool {
			var ev chaos.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			return ev.Scenario == "slow" && ev.Kind == chaos.EventStarted && ev.Target == "validator"
		})
	})
	t.Run("a scheduled recovery sends a recovery event", func(t *testing.T) {
		if err := s.orch.Schedule("db", recovery.Manual, 0, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, api.KindRecovery, func(data []byte) bool {
			var ev recovery.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			return ev.Service == "db" && ev.State == recovery.Scheduled
		})
	})

	// Closing the stream ends the handler; srv.Close (deferred) would
	// block otherwise, and goleak would find its goroutine.
	closeStream()
	for range events {
	}
}

// flushRecorder is a ResponseWriter and Flusher safe for concurrent reads.
type flushRecorder struct {
	mu      sync.Mutex
	header  http.Header
	buf     bytes.Buffer
	status  int
	flushes int
}

func (f *flushRecorder) Header() http.Header { return f.header }
func (f *flushRecorder) WriteHeader(s int) {
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
}
func (f *flushRecorder) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(b)
}
func (f *flushRecorder) Flush() {
	f.mu.Lock()
	f.flushes++
	f.mu.Unlock()
}
func (f *flushRecorder) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

func TestHandler_EventsStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := reg.GetOrCreate("db", breaker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		h := ops.Handler(ops.Options{Registry: reg})
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, "GET", "/events", nil)
		w := &flushRecorder{header: make(http.Header)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(w, req)
		}()
		synctest.Wait()
		if !strings.Contains(w.String(), "event: hello\nid: 1\ndata: {\"health\":null,") {
			t.Fatalf("no hello without a health aggregator: %q", w.String())
		}

		{ // a ping every 15 s
			time.Sleep(15*time.Second - time.Millisecond)
			synctest.Wait()
			if strings.Contains(w.String(), ": ping") {
				t.Fatal("ping before 15 s")
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			if n := strings.Count(w.String(), ": ping\n\n"); n != 1 {
				t.Fatalf("%d pings after 15 s", n)
			}
			time.Sleep(15 * time.Second)
			synctest.Wait()
			if n := strings.Count(w.String(), ": ping\n\n"); n != 2 {
				t.Fatalf("%d pings after 30 s", n)
			}
		}
		{ // each event is flushed
			w.mu.Lock()
			before := w.flushes
			w.mu.Unlock()
			b.ForceOpen()
			synctest.Wait()
			if !strings.Contains(w.String(), "event: breaker\nid: 2\ndata: {\"breaker\":\"db\",\"from\":\"closed\",\"to\":\"forced_open\"") {
				t.Fatalf("no breaker event: %q", w.String())
			}
			w.mu.Lock()
			after := w.flushes
			w.mu.Unlock()
			if after != before+1 {
				t.Errorf("flushes %d → %d", before, after)
			}
		}
		{ // the stream ends with its request
			cancel()
			synctest.Wait()
			select {
			case <-done:
			default:
				t.Fatal("handler still running after the request ended")
			}
			// The subscription is closed: later events go nowhere.
			n := len(w.String())
			b.Release()
			synctest.Wait()
			if len(w.String()) != n {
				t.Error("an event was written after the stream ended")
			}
		}
	})
}
