package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/flock"
)

// TestSweepNATSDirs: a JetStream directory a killed demo left behind is
// removed by the next demo; one another demo holds, and one just made, stay.
func TestSweepNATSDirs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sweep runs on Linux only")
	}
	tmp := t.TempDir()
	mk := func(name string, age time.Duration) string {
		d := filepath.Join(tmp, natsDirPrefix+name)
		if err := os.MkdirAll(filepath.Join(d, "jetstream"), 0o700); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(d, at, at); err != nil {
			t.Fatal(err)
		}
		return d
	}
	left, held, fresh := mk("left", time.Hour), mk("held", time.Hour), mk("fresh", 0)
	other := mk("other", time.Hour)
	if err := os.Rename(other, filepath.Join(tmp, "not-ours")); err != nil {
		t.Fatal(err)
	}
	lock, err := flock.LockDir(held)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	sweepNATSDirs(tmp)
	for d, want := range map[string]bool{left: false, held: true, fresh: true, filepath.Join(tmp, "not-ours"): true} {
		_, err := os.Stat(d)
		if exists := err == nil; exists != want {
			t.Errorf("%s exists = %v after the sweep, want %v", filepath.Base(d), exists, want)
		}
	}
}
