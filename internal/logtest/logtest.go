// Package logtest records what a component logs through a *slog.Logger, for
// tests that assert the messages, levels and keys of its log lines.
package logtest

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// Record is one logged line: its level, message and attributes, the
// attributes flattened to key → value (values resolved).
type Record struct {
	Level   slog.Level
	Message string
	Attrs   map[string]slog.Value
}

// Str returns the string form of the attribute key ("" when absent).
func (r Record) Str(key string) string {
	v, ok := r.Attrs[key]
	if !ok {
		return ""
	}
	return v.String()
}

// Recorder is a slog.Handler that keeps every record at or above Debug. It
// is safe for concurrent use.
type Recorder struct {
	// Hook, if set before the logger is used, is called with each record
	// after it is kept, outside the recorder's lock: a test calls back into
	// the component from there to show that it logs without holding its
	// own locks (a call that needs them would deadlock otherwise).
	Hook func(Record)

	mu      sync.Mutex
	records []Record // guarded by mu
}

var _ slog.Handler = (*Recorder)(nil)

// New returns a logger writing to a new Recorder, and the recorder.
func New() (*slog.Logger, *Recorder) {
	r := &Recorder{}
	return slog.New(r), r
}

// Enabled reports true for every level.
func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps rec.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	out := Record{Level: rec.Level, Message: rec.Message, Attrs: map[string]slog.Value{}}
	rec.Attrs(func(a slog.Attr) bool {
		out.Attrs[a.Key] = a.Value.Resolve()
		return true
	})
	r.mu.Lock()
	r.records = append(r.records, out)
	r.mu.Unlock()
	if r.Hook != nil {
		r.Hook(out)
	}
	return nil
}

// WithAttrs is not supported: the components under test log their keys on
// each record. It returns r.
func (r *Recorder) WithAttrs([]slog.Attr) slog.Handler { return r }

// WithGroup returns r (groups are not recorded).
func (r *Recorder) WithGroup(string) slog.Handler { return r }

// Records returns a copy of the records kept so far, oldest first.
func (r *Recorder) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// Find returns the records whose message is msg, oldest first.
func (r *Recorder) Find(msg string) []Record {
	var out []Record
	for _, rec := range r.Records() {
		if rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}
