//go:build !unix

package flock

import "os"

// Supported reports whether Lock and LockDir take real locks here.
const Supported = false

// Lock opens (creating it if needed) the file at path. On this platform it
// takes no lock.
func Lock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// LockDir opens the directory at path. On this platform it takes no lock.
func LockDir(path string) (*os.File, error) { return os.Open(path) }
