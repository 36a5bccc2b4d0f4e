//go:build !unix

package metering

import (
	"os"
	"path/filepath"
)

// lockDir opens dir's lock file; on this platform it does not lock it.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "spool.lock"), os.O_RDWR|os.O_CREATE, 0o600)
}
