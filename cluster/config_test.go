package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/cluster"
)

func TestConfig_Validate(t *testing.T) {
	t.Run("the zero value is valid", func(t *testing.T) {
		if err := (cluster.Config{}).Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		m, err := cluster.New(cluster.Config{}, cluster.Sources{}, newBackend().client())
		if err != nil {
			t.Fatal(err)
		}
		c := m.Config()
		host, _ := os.Hostname()
		if c.Name != "antifragile" || c.Instance != host+"-"+strconv.Itoa(os.Getpid()) || c.HeartbeatInterval != time.Second ||
			c.TTL != 3*time.Second || c.Lease != 5*time.Second || c.ForgetAfter != 5*time.Minute || c.SignalTTL != time.Minute ||
			c.ConstitutionalHash != antifragile.ConstitutionalHash {
			t.Fatalf("defaults = %+v", c)
		}
		slow, _ := cluster.New(cluster.Config{HeartbeatInterval: 10 * time.Second}, cluster.Sources{}, newBackend().client())
		if c := slow.Config(); c.TTL != 30*time.Second || c.Lease != 20*time.Second || c.SignalTTL != time.Minute {
			t.Fatalf("defaults follow the interval: %+v", c)
		}
	})
	tests := []struct {
		name   string
		cfg    cluster.Config
		fields []string
	}{
		{"bad cluster name", cluster.Config{Name: "my cluster"}, []string{"name"}},
		{"long cluster name", cluster.Config{Name: strings.Repeat("a", 65)}, []string{"name"}},
		{"control character in the instance", cluster.Config{Instance: "a\x1b[31m"}, []string{"instance"}},
		{"interval too short", cluster.Config{HeartbeatInterval: time.Millisecond}, []string{"heartbeat_interval"}},
		{"interval too long", cluster.Config{HeartbeatInterval: 2 * time.Minute}, []string{"heartbeat_interval"}},
		{"a given ttl is checked against the clamped interval", cluster.Config{HeartbeatInterval: time.Millisecond, TTL: 15 * time.Millisecond}, []string{"heartbeat_interval", "ttl"}},
		{"ttl below two intervals", cluster.Config{TTL: 1500 * time.Millisecond}, []string{"ttl"}},
		{"ttl too long", cluster.Config{TTL: time.Hour}, []string{"ttl"}},
		{"forget before the ttl", cluster.Config{ForgetAfter: 2 * time.Second}, []string{"forget_after"}},
		{"forget too long", cluster.Config{ForgetAfter: 48 * time.Hour}, []string{"forget_after"}},
		{"lease too short", cluster.Config{Lease: time.Second}, []string{"lease"}},
		{"lease too long", cluster.Config{Lease: time.Hour}, []string{"lease"}},
		{"signal ttl too long", cluster.Config{SignalTTL: 2 * time.Hour}, []string{"signal_ttl"}},
		{"negative durations", cluster.Config{HeartbeatInterval: -1, TTL: -1, Lease: -1}, []string{"heartbeat_interval", "ttl", "lease"}},
		{"quorum out of range", cluster.Config{Quorum: map[string]int{"db": 0, "api": 20_000}}, []string{"quorum.api", "quorum.db"}},
		{"quorum of a bad name", cluster.Config{Quorum: map[string]int{"": 1}}, []string{"quorum"}},
		{"bad labels", cluster.Config{Labels: map[string]string{"zone": "a\x00b", strings.Repeat("k", 65): "v"}}, []string{"labels", "labels.zone"}},
		{"wrong hash", cluster.Config{ConstitutionalHash: "deadbeef"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if got := antifragile.InvalidFields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %q, want %q\n%v", got, tc.fields, err)
			}
			if tc.fields == nil && !errors.Is(err, antifragile.ErrHashMismatch) {
				t.Fatalf("not a hash mismatch: %v", err)
			}
			if _, err := cluster.New(tc.cfg, cluster.Sources{}, newBackend().client()); err == nil {
				t.Fatal("New accepted what Validate refuses")
			}
		})
	}
	t.Run("too many labels and quorums", func(t *testing.T) {
		c := cluster.Config{Labels: map[string]string{}, Quorum: map[string]int{}}
		for i := range 300 {
			if i < 33 {
				c.Labels["l"+strconv.Itoa(i)] = "v"
			}
			c.Quorum["b"+strconv.Itoa(i)] = 1
		}
		if got := antifragile.InvalidFields(c.Validate()); !slices.Equal(got, []string{"labels", "quorum"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("a nil store is refused", func(t *testing.T) {
		var typed *memClient
		for _, s := range []cluster.Store{nil, typed} {
			if _, err := cluster.New(cluster.Config{}, cluster.Sources{}, s); !errors.Is(err, antifragile.ErrNil) {
				t.Fatalf("store %#v: %v", s, err)
			}
		}
	})
}

func TestConfig_JSON(t *testing.T) {
	in := cluster.Config{Name: "shop", Instance: "web-1", Labels: map[string]string{"zone": "eu-1"},
		HeartbeatInterval: 500 * time.Millisecond, TTL: 2 * time.Second, Lease: 4 * time.Second,
		Quorum: map[string]int{"payments": 2}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"shop","instance":"web-1","labels":{"zone":"eu-1"},"heartbeat_interval":"500ms","ttl":"2s",` +
		`"forget_after":"0s","lease":"4s","quorum":{"payments":2},"signal_ttl":"0s"}`
	if string(b) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b, want)
	}
	var out cluster.Config
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.TTL != in.TTL || out.Quorum["payments"] != 2 || out.Labels["zone"] != "eu-1" {
		t.Fatalf("round trip %+v", out)
	}
	err = json.Unmarshal([]byte(`{"heartbeat_interval":1000,"leese":"1s"}`), &out)
	if got := antifragile.InvalidFields(err); !slices.Equal(got, []string{"heartbeat_interval", "leese"}) {
		t.Fatalf("fields %v (%v)", got, err)
	}
}

func TestMember_RunOnce(t *testing.T) {
	n := newNode(t, newBackend(), testConfig("a"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.m.Run(ctx) }()
	<-n.m.Started()
	if err := n.m.Run(ctx); !errors.Is(err, cluster.ErrRunning) {
		t.Fatalf("a second Run: %v", err)
	}
	if !n.m.Metrics().Running {
		t.Fatal("Metrics does not report Run")
	}
	if err := n.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after Close", err)
	}
	cancel()
	if err := n.m.Close(context.Background()); err != nil {
		t.Fatal("Close is not idempotent")
	}
	if err := n.m.Run(context.Background()); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if _, err := n.m.View(context.Background()); err != nil {
		t.Fatalf("View after Close: %v", err)
	}
}
