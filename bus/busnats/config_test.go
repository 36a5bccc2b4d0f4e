package busnats_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/bus/busnats"
)

func TestConfig_Validate(t *testing.T) {
	if err := (busnats.Config{}).Validate(); err != nil {
		t.Fatalf("the zero config: %v", err)
	}
	d := busnats.Config{}.WithDefaults()
	if d.Prefix != "af.bus" || d.Concurrency != 16 || d.PendingLimit != 65536 || d.RequestTimeout != 30*time.Second || d.Process == "" {
		t.Errorf("defaults %+v", d)
	}
	bad := busnats.Config{Prefix: "af.*", Process: "a b", RequestTimeout: -time.Second, PublishTimeout: 2 * time.Hour,
		Concurrency: -1, PendingLimit: busnats.MaxPendingLimit + 1, ReconnectWait: -1, PingInterval: time.Millisecond}
	err := bad.Validate()
	for _, field := range []string{"prefix", "process", "request_timeout", "publish_timeout", "concurrency", "pending_limit", "reconnect_wait", "ping_interval"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("no problem reported for %s in %v", field, err)
		}
	}
	var ve *antifragile.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("%T is not a *ValidationError", err)
	}
	if _, err := busnats.New(bad); err == nil {
		t.Error("New accepted an invalid config")
	}
}

func TestConfig_JSON(t *testing.T) {
	in := busnats.Config{URL: "nats://127.0.0.1:1", Prefix: "x.y", Process: "p1", RequestTimeout: 3 * time.Second, Concurrency: 2}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"request_timeout":"3s"`) {
		t.Errorf("durations are not strings: %s", b)
	}
	var out busnats.Config
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"nosuch":1}`), &out); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestTransport_RefusesBadAgentNames(t *testing.T) {
	tr, err := busnats.New(busnats.Config{URL: "nats://127.0.0.1:1", Process: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(t.Context())
	if err := tr.Serve(nil, "validator"); !errors.Is(err, antifragile.ErrNil) {
		t.Errorf("Serve of a nil bus: %v, want antifragile.ErrNil", err)
	}
	for _, name := range []string{"", "a.b", "a*", "a b", ">"} {
		if err := tr.Serve(nil, name); err == nil {
			t.Errorf("Serve(%q) accepted", name)
		}
		if _, err := tr.Send(t.Context(), bus.NewMessage("x", name, "t", nil)); !errors.Is(err, bus.ErrNotDelivered) {
			t.Errorf("Send to %q: %v, want a not-delivered error", name, err)
		}
	}
}
