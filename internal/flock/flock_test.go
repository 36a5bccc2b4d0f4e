package flock_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/antifragile-go/antifragile/internal/flock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no advisory locks")
	}
	path := filepath.Join(t.TempDir(), "lock")
	f, err := flock.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := flock.Lock(path); !errors.Is(err, flock.ErrLocked) {
		t.Fatalf("a second Lock = %v, want ErrLocked", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := flock.Lock(path)
	if err != nil {
		t.Fatalf("Lock after Close = %v", err)
	}
	_ = g.Close()
}
