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

func readEvents(r io.Reader, max int) iter.Seq2[api.Event, error] {
	return func(yield func(api.Event, error) bool) {
		br := bufio.NewReaderSize(r, 16<<10)
		var (
			kind string
			id   uint64
			data []byte
			has  bool
			line []byte
		)
		for {
			line = line[:0]
			var err error
			for {
				var frag []byte
				frag, err = br.ReadSlice('\n')
				line = append(line, frag...)
				if len(line) > max+64 {
					yield(api.Event{}, &streamError{msg: "event larger than " + strconv.Itoa(max) + " bytes"})
					return
				}
				if !errors.Is(err, bufio.ErrBufferFull) {
					break
				}
			}
			if err != nil && !errors.Is(err, io.EOF) {
				yield(api.Event{}, err)
				return
			}
			if err != nil && len(line) == 0 {
				return // end of stream; an event without its blank line is dropped
			}
			eof := err != nil
			l := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			if len(l) == 0 {
				if has {
					if !json.Valid(data) {
						yield(api.Event{}, &streamError{msg: fmt.Sprintf("event %d (%s): data is not JSON", id, kind)})
						return
					}
					ev := api.Event{Kind: kind, ID: id, Data: json.RawMessage(bytes.Clone(data))}
					if ev.Kind == "" {
						ev.Kind = "message"
					}
					if !yield(ev, nil) {
						return
					}
				}
				kind, data, has = "", data[:0], false
			} else if l[0] != ':' {
				field, value, _ := bytes.Cut(l, []byte(":"))
				value = bytes.TrimPrefix(value, []byte(" "))
				switch string(field) {
				case "event":
					kind = string(value)
				case "id":
					if n, perr := strconv.ParseUint(string(value), 10, 64); perr == nil {
						id = n
					}
				case "data":
					if has {
						data = append(data, '\n')
					}
					data = append(data, value...)
					has = true
					if len(data) > max {
						yield(api.Event{}, &streamError{msg: "event larger than " + strconv.Itoa(max) + " bytes"})
						return
					}
				}
			}
			if eof {
				return
			}
		}
	}
}
