package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"

	"github.com/antifragile-go/antifragile/api"
)

// Events follows the server's event stream (GET /events): the hello event
// first, then breaker, health, recovery and chaos events as they happen.
//
//	for ev, err := range c.Events(ctx) {
//		if err != nil {
//			return err
//		}
//		if ev.Kind == api.KindBreaker {
//			b, _ := ev.Breaker()
//			fmt.Println(b.Breaker, b.From, "→", b.To)
//		}
//	}
//
// The sequence ends without an error when ctx ends or the loop breaks. It
// yields one error and ends when the request fails (an *APIError, or
// ErrUnreachable), when the connection breaks (ErrUnreachable), or when the
// server closes the stream (ErrStreamEnded). Config.Timeout does not apply;
// each iteration of the sequence opens a new stream.
func (c *Client) Events(ctx context.Context) iter.Seq2[api.Event, error] {
	return func(yield func(api.Event, error) bool) {
		req, err := c.newRequest(ctx, http.MethodGet, "/events", nil, nil)
		if err != nil {
			yield(api.Event{}, err)
			return
		}
		req.Header.Set("Accept", api.ContentTypeEventStream)
		resp, err := c.send(ctx, req)
		if err != nil {
			if ctx.Err() == nil {
				yield(api.Event{}, err)
			}
			return
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, api.ContentTypeEventStream) {
			yield(api.Event{}, fmt.Errorf("client: GET /events: answer is %q, not an event stream", ct))
			return
		}
		for ev, err := range readEvents(resp.Body, c.maxEv) {
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				var se *streamError
				if !errors.As(err, &se) {
					err = fmt.Errorf("%w: GET /events: %w", ErrUnreachable, err)
				}
				yield(api.Event{}, err)
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
		if ctx.Err() == nil {
			yield(api.Event{}, ErrStreamEnded)
		}
	}
}

// streamError is a malformed stream, as opposed to a failed read.
type streamError struct{ msg string }

func (e *streamError) Error() string { return "client: event stream: " + e.msg }

// ReadEvents reads Server-Sent Events in the form GET /events writes from r
// until r ends (ending the sequence without an error) or fails (yielding
// the error). It follows the SSE rules that matter here: "event", "id" and
// "data" fields (several data lines joined with "\n"), comments and "retry"
// ignored, an event dispatched at a blank line, and an event without data
// skipped. An event's data must be JSON and at most 16 MiB; a numeric id
// is kept in Event.ID. It is what Client.Events uses.
func ReadEvents(r io.Reader) iter.Seq2[api.Event, error] {
	return readEvents(r, DefaultMaxEventBytes)
}

// readEvents is ReadEvents with max as the largest event's data, in bytes.
func readEvents(r io.Reader, max int) iter.Seq2[api.Event, error] {
	return func(yield func(api.Event, error) bool) {
		sr := &sseReader{br: bufio.NewReaderSize(r, 16<<10), max: max}
		for {
			ev, ok, err := sr.next()
			if err != nil {
				yield(api.Event{}, err)
				return
			}
			if !ok || !yield(ev, nil) {
				return
			}
		}
	}
}

// sseReader reads the events of one Server-Sent Events stream, a line at
// a time (see ReadEvents).
type sseReader struct {
	br   *bufio.Reader
	max  int    // the largest event's data, in bytes
	line []byte // the line being read, reused
	eof  bool   // the stream has ended

	// The event being read; id is kept from one event to the next, as the
	// SSE last event ID is.
	kind string
	id   uint64
	data []byte
	has  bool // a data field was read
}

// next reads up to the end of the next event with data and returns it. ok
// is false, with a nil error, when the stream ended first; an event
// without its blank line is then dropped. The error is a failed read or a
// *streamError.
func (sr *sseReader) next() (ev api.Event, ok bool, err error) {
	for !sr.eof {
		line, err := sr.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return api.Event{}, false, err
		}
		if err != nil {
			sr.eof = true
			if len(line) == 0 {
				break
			}
		}
		l := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case len(l) == 0:
			if ev, ok, err := sr.dispatch(); ok || err != nil {
				return ev, ok, err
			}
		case l[0] != ':': // not a comment
			if err := sr.field(l); err != nil {
				return api.Event{}, false, err
			}
		}
	}
	return api.Event{}, false, nil
}

// readLine reads the next line with its line ending, joining the fragments
// of a line longer than the buffer. Its error is that of the read (io.EOF
// at the end of the stream, the line then holding what came last), or a
// *streamError for a line too long for the largest event.
func (sr *sseReader) readLine() ([]byte, error) {
	sr.line = sr.line[:0]
	for {
		frag, err := sr.br.ReadSlice('\n')
		sr.line = append(sr.line, frag...)
		if len(sr.line) > sr.max+64 {
			return nil, sr.tooLarge()
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return sr.line, err
		}
	}
}

// dispatch ends the event being read at a blank line and returns it; ok
// is false for an event without data, which is skipped.
func (sr *sseReader) dispatch() (ev api.Event, ok bool, err error) {
	if sr.has {
		if !json.Valid(sr.data) {
			return api.Event{}, false, &streamError{msg: fmt.Sprintf("event %d (%s): data is not JSON", sr.id, sr.kind)}
		}
		ev = api.Event{Kind: sr.kind, ID: sr.id, Data: json.RawMessage(bytes.Clone(sr.data))}
		if ev.Kind == "" {
			ev.Kind = "message"
		}
	}
	ok = sr.has
	sr.kind, sr.data, sr.has = "", sr.data[:0], false
	return ev, ok, nil
}

// field adds the field line l ("name: value") to the event being read:
// "event", "id" (kept when numeric) or "data"; other fields are ignored.
func (sr *sseReader) field(l []byte) error {
	name, value, _ := bytes.Cut(l, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(name) {
	case "event":
		sr.kind = string(value)
	case "id":
		if n, err := strconv.ParseUint(string(value), 10, 64); err == nil {
			sr.id = n
		}
	case "data":
		if sr.has {
			sr.data = append(sr.data, '\n')
		}
		sr.data = append(sr.data, value...)
		sr.has = true
		if len(sr.data) > sr.max {
			return sr.tooLarge()
		}
	}
	return nil
}

// tooLarge is the error of an event larger than the largest allowed.
func (sr *sseReader) tooLarge() error {
	return &streamError{msg: "event larger than " + strconv.Itoa(sr.max) + " bytes"}
}
