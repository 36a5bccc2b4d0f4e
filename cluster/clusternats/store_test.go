package clusternats_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
)

var space = cluster.Space{Name: "t-control", History: 4}

func keys(es []cluster.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	slices.Sort(out)
	return out
}

func TestStore_KV(t *testing.T) {
	srv := natstest.Start(t)
	s := open(t, srv)
	ctx := context.Background()

	if _, err := s.Get(ctx, space, "lever"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	r1, err := s.Update(ctx, space, "lever", []byte("a"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, space, "lever", []byte("b"), 0); !errors.Is(err, cluster.ErrConflict) {
		t.Fatalf("create of an existing key: %v", err)
	}
	if _, err := s.Update(ctx, space, "lever", []byte("b"), r1+100); !errors.Is(err, cluster.ErrConflict) {
		t.Fatalf("update at a wrong revision: %v", err)
	}
	r2, err := s.Update(ctx, space, "lever", []byte("b"), r1)
	if err != nil || r2 <= r1 {
		t.Fatalf("update at the right revision: %d, %v", r2, err)
	}
	e, err := s.Get(ctx, space, "lever")
	if err != nil || string(e.Value) != "b" || e.Revision != r2 || time.Since(e.Created) > time.Minute || e.Deleted {
		t.Fatalf("Get = %+v, %v", e, err)
	}
	for _, k := range []string{"ack.QQ", "ack.Qg", "other.x"} {
		if _, err := s.Put(ctx, space, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.List(ctx, space, "ack.")
	if err != nil || !slices.Equal(keys(es), []string{"ack.QQ", "ack.Qg"}) {
		t.Fatalf("List(ack.) = %v, %v", keys(es), err)
	}
	if err := s.Delete(ctx, space, "ack.QQ"); err != nil {
		t.Fatal(err)
	}
	es, _ = s.List(ctx, space, "")
	if !slices.Equal(keys(es), []string{"ack.Qg", "lever", "other.x"}) {
		t.Fatalf("List() after a delete = %v", keys(es))
	}
	if _, err := s.Get(ctx, space, "ack.QQ"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get of a deleted key: %v", err)
	}
	if _, err := s.Update(ctx, space, "ack.QQ", []byte("again"), 0); err != nil {
		t.Fatalf("create over a deleted key: %v", err)
	}
	if es, _ := s.List(ctx, cluster.Space{Name: "t-empty"}, ""); len(es) != 0 {
		t.Fatalf("an empty space lists %v", keys(es))
	}
}

func TestStore_TTL(t *testing.T) {
	srv := natstest.Start(t)
	s := open(t, srv)
	ctx := context.Background()
	sp := cluster.Space{Name: "t-members", TTL: 500 * time.Millisecond, History: 1}
	if _, err := s.Put(ctx, sp, "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, 5*time.Second, "the value outlives the space's ttl", func() bool {
		_, err := s.Get(ctx, sp, "a")
		return errors.Is(err, cluster.ErrNotFound)
	})
	// A bucket that exists keeps its settings: another TTL does not fail.
	if _, err := open(t, srv).Put(ctx, cluster.Space{Name: "t-members", TTL: time.Hour}, "b", []byte("y")); err != nil {
		t.Fatal(err)
	}
}

// recorder collects what a watch delivers.
type recorder struct {
	mu sync.Mutex
	es []cluster.Entry
}

func (r *recorder) add(e cluster.Entry) { r.mu.Lock(); r.es = append(r.es, e); r.mu.Unlock() }

func (r *recorder) values() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.es {
		if e.Deleted {
			out = append(out, e.Key+"-")
		} else {
			out = append(out, e.Key+"="+string(e.Value))
		}
	}
	return out
}

func TestStore_Watch(t *testing.T) {
	srv := natstest.Start(t)
	w, s := open(t, srv), open(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := s.Put(ctx, space, "a.1", []byte("old")); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, space, "a.", rec.add) }()
	servertest.Eventually(t, 5*time.Second, "the current value", func() bool { return slices.Equal(rec.values(), []string{"a.1=old"}) })
	_, _ = s.Put(ctx, space, "b.1", []byte("elsewhere"))
	_, _ = s.Put(ctx, space, "a.2", []byte("new"))
	_ = s.Delete(ctx, space, "a.1")
	servertest.Eventually(t, 5*time.Second, "a write and a delete", func() bool {
		return slices.Equal(rec.values(), []string{"a.1=old", "a.2=new", "a.1-"})
	})

	srv.Restart() // same port and store: the watch's consumer is gone
	servertest.Eventually(t, 10*time.Second, "the watch made anew", func() bool { return w.Metrics().WatchRestarts >= 1 })
	servertest.Eventually(t, 10*time.Second, "a write after the restart", func() bool {
		_, err := s.Put(ctx, space, "a.3", []byte("after"))
		return err == nil
	})
	servertest.Eventually(t, 10*time.Second, "delivery after the restart", func() bool { return slices.Contains(rec.values(), "a.3=after") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch returned %v", err)
	}
}

func TestStore_Down(t *testing.T) {
	srv := natstest.Start(t)
	s := open(t, srv)
	ctx := context.Background()
	if _, err := s.Put(ctx, space, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	servertest.Eventually(t, 5*time.Second, "the connection notices", func() bool { return !s.Metrics().Connected })
	start := time.Now()
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := s.Put(octx, space, "k", []byte("lost")); err == nil {
		t.Fatal("a write with the server down succeeded")
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("a write with the server down took %v; it must fail at once, not buffer", time.Since(start))
	}
	srv.Restart()
	servertest.Eventually(t, 10*time.Second, "reconnected", func() bool { return s.Metrics().Connected })
	servertest.Eventually(t, 10*time.Second, "writes again", func() bool { _, err := s.Put(ctx, space, "k", []byte("back")); return err == nil })
	if e, err := s.Get(ctx, space, "k"); err != nil || string(e.Value) != "back" {
		t.Fatalf("after the restart: %+v, %v (the lost write must not land later)", e, err)
	}
}

func TestConfig_Validate(t *testing.T) {
	err := clusternats.Config{BucketPrefix: "a b", Replicas: 9, ReconnectWait: -1, Timeout: time.Hour, PingInterval: time.Millisecond}.Validate()
	want := []string{"bucket_prefix", "replicas", "reconnect_wait", "timeout", "ping_interval"}
	if got := antifragile.InvalidFields(err); !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v (%v)", got, want, err)
	}
	if _, err := clusternats.Open(context.Background(), clusternats.Config{Replicas: 9}); err == nil {
		t.Fatal("Open accepted an invalid config")
	}
	if err := (clusternats.Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
