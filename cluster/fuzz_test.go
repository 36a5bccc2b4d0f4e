package cluster_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/cluster"
)

// FuzzConfig decodes arbitrary JSON as a Config: whatever decodes and
// validates builds a member whose settings keep their documented order.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"name":"shop","instance":"web-1","heartbeat_interval":"500ms","ttl":"2s","lease":"4s","quorum":{"payments":2}}`))
	f.Add([]byte(`{"labels":{"zone":"eu-1"},"signal_ttl":"1h","forget_after":"24h"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c cluster.Config
		if json.Unmarshal(data, &c) != nil || c.Validate() != nil {
			return
		}
		m, err := cluster.New(c, cluster.Sources{}, newBackend().client())
		if err != nil {
			t.Fatalf("New refused a valid config: %v", err)
		}
		d := m.Config()
		iv := d.HeartbeatInterval
		if d.TTL < 2*iv || d.ForgetAfter < d.TTL || d.Lease < 2*iv || d.SignalTTL < 2*iv || iv > cluster.MaxHeartbeatInterval {
			t.Fatalf("defaults broke an order: %+v", d)
		}
	})
}

// FuzzView reads arbitrary bytes as a stored heartbeat: the view never
// fails on it, and counts it as undecodable or lists it.
func FuzzView(f *testing.F) {
	f.Add([]byte(`{"instance":"x","open_breakers":["a"],"heartbeat_interval":"1s","ttl":"3s"}`))
	f.Add([]byte(`{"instance":"y","ttl":"-5s","heartbeat_interval":"0s","status":"CRITICAL"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBackend()
		ctx := context.Background()
		if _, err := b.client().Put(ctx, cluster.Space{Name: "test-members"}, "eA", data); err != nil {
			t.Fatal(err)
		}
		m, err := cluster.New(cluster.Config{Name: "test", Instance: "viewer", HeartbeatInterval: time.Second}, cluster.Sources{}, b.client())
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.View(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Instances)+v.Undecodable != 1 {
			t.Fatalf("%d listed, %d undecodable", len(v.Instances), v.Undecodable)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("the view does not encode: %v", err)
		}
	})
}
