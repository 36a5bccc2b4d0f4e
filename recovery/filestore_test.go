package recovery_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/recovery"
)

func newFileStore(t *testing.T, path string, maxBytes int64) *recovery.FileStore {
	t.Helper()
	fs, err := recovery.NewFileStore(recovery.FileStoreConfig{Path: path, MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFileStore(t *testing.T) {
	t.Run("appends come back in order", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.jsonl")
		fs := newFileStore(t, path, 0)
		if got, skipped, err := fs.Load(); err != nil || len(got) != 0 || skipped != 0 {
			t.Fatalf("Load of a missing file = %v, %d, %v", got, skipped, err)
		}
		for i := range 3 {
			if err := fs.Append(healed(fmt.Sprint("s", i), i, time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		got, skipped, err := newFileStore(t, path, 0).Load()
		if err != nil || skipped != 0 || len(got) != 3 || got[0].Service != "s0" || got[2].Service != "s2" {
			t.Fatalf("Load = %+v, %d, %v", got, skipped, err)
		}
	})
	t.Run("bad lines are skipped and counted", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.jsonl")
		good, _ := json.Marshal(healed("db", 0, time.Second))
		backwards := healed("db", 1, time.Second)
		backwards.EndedAt = backwards.OpenedAt.Add(-time.Second)
		bad, _ := json.Marshal(backwards)
		body := string(good) + "\n{not json\n" + `{"service":"","opened_at":"2025-01-01T00:00:00Z"}` + "\n" + string(bad) + "\n\n" +
			`{"service":"db","outcome":"exploded"}` + "\n" + string(good)[:20] // a torn last line
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		fs := newFileStore(t, path, 0)
		got, skipped, err := fs.Load()
		if err != nil || len(got) != 1 || skipped != 5 {
			t.Fatalf("Load = %d outages, %d skipped, %v; want 1, 5", len(got), skipped, err)
		}
		// the next append starts a line of its own after the torn one
		if err := fs.Append(healed("cache", 2, time.Second)); err != nil {
			t.Fatal(err)
		}
		got, skipped, _ = fs.Load()
		if len(got) != 2 || got[1].Service != "cache" || skipped != 5 {
			t.Errorf("after an append: %d outages (%v), %d skipped", len(got), got, skipped)
		}
		o, err := recovery.New(recovery.Config{HistoryPath: path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h := o.Status().History; h.Skipped != 5 || h.Outages != 2 || !h.Persistent {
			t.Errorf("history status = %+v, want 2 outages, 5 skipped", h)
		}
	})
	t.Run("a failed append is counted and recovery goes on", func(t *testing.T) {
		dir := t.TempDir()
		o, err := recovery.New(recovery.Config{HistoryPath: filepath.Join(dir, "gone", "h.jsonl")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = o.Schedule("db", recovery.Immediate, 0, nil)
		if !o.Cancel("db") {
			t.Fatal("nothing to cancel")
		}
		h := o.Status().History
		if h.StoreErrors != 1 || !strings.Contains(h.LastStoreError, "no such file or directory") || h.Outages != 1 {
			t.Errorf("history status = %+v", h)
		}
		if err := o.Schedule("db", recovery.Immediate, 0, nil); err != nil {
			t.Errorf("Schedule after a store error: %v", err)
		}
	})
	t.Run("the file stays within its bound, newest kept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.jsonl")
		fs := newFileStore(t, path, 4096)
		for i := range 200 {
			if err := fs.Append(healed(fmt.Sprint("s", i), i, time.Second)); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(path); err != nil || st.Size() > 4096 {
				t.Fatalf("append %d: size %d, %v", i, st.Size(), err)
			}
		}
		got, skipped, err := fs.Load()
		if err != nil || skipped != 0 || len(got) < 10 || got[len(got)-1].Service != "s199" {
			t.Fatalf("Load = %d outages, %d skipped, %v", len(got), skipped, err)
		}
		if left, _ := filepath.Glob(path + ".tmp*"); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
	t.Run("a file far past its bound is a clear error", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.jsonl")
		if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 5000), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := newFileStore(t, path, 2048).Load()
		if err == nil || !strings.Contains(err.Error(), "more than twice its bound") {
			t.Errorf("Load = %v", err)
		}
		_, err = recovery.New(recovery.Config{HistoryStore: newFileStore(t, path, 2048)}, nil)
		if err == nil || !strings.Contains(err.Error(), "more than twice") {
			t.Errorf("New = %v, want the store's error", err)
		}
	})
	t.Run("an unreadable path is an error for New", func(t *testing.T) {
		_, err := recovery.New(recovery.Config{HistoryPath: t.TempDir()}, nil) // a directory
		if err == nil {
			t.Error("New succeeded on a directory")
		}
	})
	t.Run("config is validated", func(t *testing.T) {
		for _, cfg := range []recovery.FileStoreConfig{{}, {Path: "x", MaxBytes: -1}, {Path: "x", MaxBytes: recovery.MaxHistoryFileBytes + 1}} {
			if _, err := recovery.NewFileStore(cfg); !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("NewFileStore(%+v) = %v", cfg, err)
			}
		}
	})
}

func FuzzFileStore_Load(f *testing.F) {
	good, _ := json.Marshal(healed("db", 0, time.Second))
	f.Add(good)
	f.Add(append(append(good, '\n'), good[:30]...))
	f.Add([]byte(`{"service":"db","opened_at":"2025-01-01T00:00:00Z","ended_at":"2025-01-01T00:00:01Z","delays":["1s","x"]}`))
	f.Add([]byte("\n\n\x00{}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), "h.jsonl")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := newFileStore(t, path, 1<<20)
		got, skipped, err := fs.Load()
		if err != nil {
			t.Fatal(err)
		}
		if lines := bytes.Count(in, []byte("\n")) + 1; len(got)+skipped > lines {
			t.Fatalf("%d outages + %d skipped from %d lines", len(got), skipped, lines)
		}
		// what it loaded is kept by an orchestrator, and appends keep working
		o, err := recovery.New(recovery.Config{HistoryStore: fs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h := o.Status().History; h.Outages+h.Skipped < len(got)+skipped-int(h.Evicted) {
			t.Fatalf("status %+v after loading %d, skipping %d", h, len(got), skipped)
		}
		if err := fs.Append(healed("after", 1, time.Second)); err != nil {
			t.Fatal(err)
		}
		again, _, err := fs.Load()
		if err != nil || len(again) != len(got)+1 || again[len(again)-1].Service != "after" {
			t.Fatalf("after an append: %d outages, %v", len(again), err)
		}
	})
}
