package metering

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// Defaults of FileConfig.
const (
	DefaultFileMaxBytes = 64 << 20 // 64 MiB
	DefaultFileMaxFiles = 5
	// MaxFileMaxFiles bounds FileConfig.MaxFiles.
	MaxFileMaxFiles = 1000
)

// FileConfig configures a FileSink.
type FileConfig struct {
	// Path is the file events are appended to, created with mode 0o644 if
	// missing. Required.
	Path string `json:"path"`
	// MaxBytes rotates the file before a batch would make it larger: Path
	// is renamed Path.1 (Path.1 to Path.2, and so on) and a new Path is
	// started. 0 means 64 MiB; negative means never rotate.
	MaxBytes antifragile.ByteSize `json:"max_bytes,omitempty"`
	// MaxFiles is how many rotated files are kept (Path.1 … Path.N); older
	// ones are removed. 0 means 5; negative or above MaxFileMaxFiles (1000)
	// is invalid.
	MaxFiles int `json:"max_files,omitempty"`
}

// FileSink appends events to a JSON Lines file (one Event.AppendJSON object
// per line), writing each batch with one write call followed by fsync, and
// rotating by size. A batch whose write or fsync fails is cut off again
// (the file is truncated back to its previous size) so that the Meter's
// re-send does not duplicate it. Safe for concurrent use; Write and Close
// block on file I/O.
type FileSink struct {
	cfg FileConfig

	mu     sync.Mutex
	f      *os.File // guarded by mu; nil once closed
	size   int64    // guarded by mu
	buf    []byte   // guarded by mu
	closed bool     // guarded by mu
}

var _ Sink = (*FileSink)(nil)

// ErrSinkClosed is returned by a sink's Write after its Close.
var ErrSinkClosed = errors.New("metering: sink closed")

// NewFileSink opens (or creates) cfg.Path for appending, or returns the
// *ValidationError(s) of cfg or the error opening the file. Close releases
// the file.
func NewFileSink(cfg FileConfig) (*FileSink, error) {
	var errs []error
	if cfg.Path == "" {
		errs = append(errs, antifragile.Invalid("path", cfg.Path, "is required"))
	}
	if cfg.MaxFiles < 0 {
		errs = append(errs, antifragile.Invalid("max_files", cfg.MaxFiles, "must not be negative"))
	} else if cfg.MaxFiles > MaxFileMaxFiles {
		errs = append(errs, antifragile.Invalid("max_files", cfg.MaxFiles, "must not exceed %d", MaxFileMaxFiles))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultFileMaxBytes
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultFileMaxFiles
	}
	s := &FileSink{cfg: cfg}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("metering: open %s: %w", s.cfg.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("metering: stat %s: %w", s.cfg.Path, err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

// Write appends events as JSON lines and fsyncs. It ignores ctx (a started
// write is not interrupted). After Close it returns ErrSinkClosed.
func (s *FileSink) Write(_ context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSinkClosed
	}
	if s.f == nil { // a failed rotation left no file open
		if err := s.open(); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	for i := range events {
		s.buf = events[i].AppendJSON(s.buf)
		s.buf = append(s.buf, '\n')
	}
	if s.cfg.MaxBytes > 0 && s.size > 0 && s.size+int64(len(s.buf)) > int64(s.cfg.MaxBytes) {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	before := s.size
	_, err := s.f.Write(s.buf)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Cut the torn batch off so that the re-send is not a duplicate.
		if terr := s.f.Truncate(before); terr != nil {
			err = errors.Join(err, terr)
		}
		return fmt.Errorf("metering: write %s: %w", s.cfg.Path, err)
	}
	s.size += int64(len(s.buf))
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	return nil
}

// rotate shifts Path.i to Path.i+1, Path to Path.1, and opens a new Path.
func (s *FileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("metering: close %s: %w", s.cfg.Path, err)
	}
	s.f = nil
	p := s.cfg.Path
	_ = os.Remove(p + "." + strconv.Itoa(s.cfg.MaxFiles))
	for i := s.cfg.MaxFiles - 1; i >= 1; i-- {
		if err := os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("metering: rotate: %w", err)
		}
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("metering: rotate: %w", err)
	}
	return s.open()
}

// Close closes the file. It is idempotent; later Writes return
// ErrSinkClosed.
func (s *FileSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Reader reads events from a JSON Lines stream written by FileSink. A last
// line that is not terminated by a newline and does not decode — a batch
// torn by a crash — is skipped and reported by Torn; any other line that
// does not decode is an error naming its line number. Not safe for
// concurrent use.
type Reader struct {
	br   *bufio.Reader
	line int
	torn bool
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next event, or io.EOF after the last one.
func (r *Reader) Next() (Event, error) {
	for {
		b, err := r.br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			return Event{}, err
		}
		r.line++
		terminated := err == nil
		if err != nil && err != io.EOF {
			return Event{}, err
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		var e Event
		if derr := e.UnmarshalJSON(b); derr != nil {
			if !terminated {
				r.torn = true
				return Event{}, io.EOF
			}
			return Event{}, fmt.Errorf("line %d: %w", r.line, derr)
		}
		return e, nil
	}
}

// Torn reports whether the stream ended in a torn line that was skipped.
func (r *Reader) Torn() bool { return r.torn }

// ReadFile returns every event of the JSON Lines file at path, skipping a
// torn last line (see Reader).
func ReadFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := NewReader(f)
	var out []Event
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("metering: %s: %w", path, err)
		}
		out = append(out, e)
	}
}

// plainFileConfig is FileConfig without its JSON methods, for the codec.
type plainFileConfig FileConfig

// MarshalJSON writes the FileConfig's JSON form, durations as strings such as
// "30s".
func (c FileConfig) MarshalJSON() ([]byte, error) { return codec.Encode(plainFileConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *FileConfig) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainFileConfig)(c)) }
