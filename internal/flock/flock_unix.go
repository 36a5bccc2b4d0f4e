//go:build unix

package flock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Supported reports whether Lock and LockDir take real locks here.
const Supported = true

// Lock opens (creating it if needed) the file at path and takes an
// exclusive lock on it without waiting. The lock lasts until the returned
// file is closed or the process dies, whichever comes first — so a lock
// that can be taken means its last holder is gone. ErrLocked means another
// process (or another Lock in this one) holds it.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, err
	}
	return f, nil
}

// LockDir takes an exclusive lock on the directory at path itself (no lock
// file inside it), without waiting, as Lock does for a file.
func LockDir(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, err
	}
	return f, nil
}
