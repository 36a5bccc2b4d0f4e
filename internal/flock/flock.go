// Package flock takes advisory, exclusive file locks that end with the
// process holding them: the metering spool locks its directory with one,
// and the chaos engine its disk_io directory, so that the next process can
// tell a directory of a dead process from one in use.
package flock

import "errors"

// ErrLocked is returned by Lock when the file is locked already.
var ErrLocked = errors.New("flock: locked by another holder")
