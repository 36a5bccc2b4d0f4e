package recovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/antifragile-go/antifragile"
)

// FileStore bounds.
const (
	// DefaultHistoryFileBytes is FileStoreConfig.MaxBytes when 0: 4 MiB,
	// some 15,000 outages.
	DefaultHistoryFileBytes = 4 << 20
	// MaxHistoryFileBytes bounds FileStoreConfig.MaxBytes.
	MaxHistoryFileBytes = 1 << 30
	// MaxOutageLine is the longest record FileStore reads or writes; a
	// longer line is skipped.
	MaxOutageLine = 64 << 10
)

// FileStoreConfig configures a FileStore.
type FileStoreConfig struct {
	// Path is the history file. It must not be empty; the file need not
	// exist, its directory must.
	Path string
	// MaxBytes bounds the file: an append that would pass it first rewrites
	// the file with the newest records that fit in half of it. 0 means
	// DefaultHistoryFileBytes (4 MiB); negative or above
	// MaxHistoryFileBytes (1 GiB) is invalid.
	MaxBytes int64
}

// FileStore is the file implementation of HistoryStore: one JSON object
// per line (an Outage), appended as outages end and compacted, newest
// records kept, by writing a temporary file beside it and renaming it over
// the old one, so that a crash leaves either file whole. Appends are not
// synced: a crash may lose the last records, or leave half a line, which
// Load skips and counts. A line that does not decode, or decodes to an
// outage without a valid service name or with times out of order, is
// skipped and counted the same way; a file that cannot be read, or is
// more than twice MaxBytes, is an error. It is safe for concurrent use.
type FileStore struct {
	path     string
	maxBytes int64

	mu     sync.Mutex
	size   int64 // guarded by mu: bytes in the file; -1 until known
	needNL bool  // guarded by mu: the file does not end with a newline
}

var _ HistoryStore = (*FileStore)(nil)

// NewFileStore returns a store of cfg.Path, or the validation error of
// cfg. It opens nothing.
func NewFileStore(cfg FileStoreConfig) (*FileStore, error) {
	if cfg.Path == "" {
		return nil, antifragile.Invalid("history_path", cfg.Path, "must not be empty")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultHistoryFileBytes
	}
	if cfg.MaxBytes < 0 || cfg.MaxBytes > MaxHistoryFileBytes {
		return nil, antifragile.Invalid("max_bytes", cfg.MaxBytes, "must be within [0, %d] (0 means %d)", MaxHistoryFileBytes, DefaultHistoryFileBytes)
	}
	return &FileStore{path: cfg.Path, maxBytes: cfg.MaxBytes, size: -1}, nil
}

// Load reads every record of the file, oldest first, and counts the lines
// it skipped. A missing file is an empty history.
func (f *FileStore) Load() ([]Outage, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.readLocked()
	if err != nil {
		return nil, 0, err
	}
	out, skipped := decodeOutages(b)
	return out, skipped, nil
}

// readLocked returns the file's bytes (none if it does not exist) and
// records its size.
func (f *FileStore) readLocked() ([]byte, error) {
	st, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		f.size, f.needNL = 0, false
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recovery: outage history: %w", err)
	}
	if st.Size() > 2*f.maxBytes {
		return nil, fmt.Errorf("recovery: outage history %s is %d bytes, more than twice its bound of %d: move it away or raise the bound", f.path, st.Size(), f.maxBytes)
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("recovery: outage history: %w", err)
	}
	f.size = int64(len(b))
	f.needNL = len(b) > 0 && b[len(b)-1] != '\n'
	return b, nil
}

// decodeOutages decodes the records of b, one per line, skipping (and
// counting) the lines that are not a valid Outage. It never panics.
func decodeOutages(b []byte) ([]Outage, int) {
	var out []Outage
	skipped := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var u Outage
		if len(line) > MaxOutageLine || json.Unmarshal(line, &u) != nil || !u.valid() {
			skipped++
			continue
		}
		out = append(out, u)
	}
	return out, skipped
}

// valid reports whether u is a record the orchestrator could have written.
func (u Outage) valid() bool {
	return antifragile.CheckName("service", u.Service) == nil && !u.OpenedAt.IsZero() &&
		!u.EndedAt.Before(u.OpenedAt) && u.Attempts >= 0 && len(u.Delays) <= MaxOutageDelays && u.Strategy.Valid() &&
		int(u.Outcome) < len(outcomeNames)
}

// Append writes u as the file's last line, first compacting the file if
// the line would take it past MaxBytes.
func (f *FileStore) Append(u Outage) error {
	line, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("recovery: outage history: %w", err)
	}
	line = append(line, '\n')
	if len(line) > MaxOutageLine {
		return fmt.Errorf("recovery: outage history: a record of %d bytes is longer than %d", len(line), MaxOutageLine)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.size < 0 {
		if _, err := f.readLocked(); err != nil {
			return err
		}
	}
	if f.size+int64(len(line)) > f.maxBytes {
		if err := f.compactLocked(); err != nil {
			return err
		}
	}
	if f.needNL {
		line = append([]byte("\n"), line...)
	}
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recovery: outage history: %w", err)
	}
	n, werr := file.Write(line)
	cerr := file.Close()
	f.size += int64(n)
	f.needNL = n > 0 && line[n-1] != '\n'
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("recovery: outage history: %w", err)
	}
	return nil
}

// compactLocked rewrites the file with its newest valid records that fit
// in half of MaxBytes: a temporary file, synced, renamed over the old one.
func (f *FileStore) compactLocked() error {
	b, err := f.readLocked()
	if err != nil {
		return err
	}
	kept, _ := decodeOutages(b)
	var lines [][]byte
	var total int64
	for i := len(kept) - 1; i >= 0; i-- {
		l, err := json.Marshal(kept[i])
		if err != nil || total+int64(len(l))+1 > f.maxBytes/2 {
			break
		}
		lines = append(lines, append(l, '\n'))
		total += int64(len(l)) + 1
	}
	var buf bytes.Buffer
	for i := len(lines) - 1; i >= 0; i-- {
		buf.Write(lines[i])
	}
	if err := writeFileAtomic(f.path, buf.Bytes()); err != nil {
		return fmt.Errorf("recovery: outage history: %w", err)
	}
	f.size, f.needNL = int64(buf.Len()), false
	return nil
}

// writeFileAtomic writes b to a temporary file in path's directory, syncs
// it and renames it to path.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}
