package chaoshttp

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

// recheck is how often a stalled transfer (bandwidth 0) asks the engine
// again whether it is still throttled.
const recheck = 100 * time.Millisecond

// pacer spaces out the bytes of one body so that they flow at the
// bandwidth the engine leaves to the target. It asks the engine before
// every chunk, so throttling starts, changes and ends with the scenarios.
type pacer struct {
	e      *chaos.Engine
	target string
	bps    int64     // the rate start and n refer to
	start  time.Time // when the current rate was first seen
	n      int64     // bytes granted since start
}

// take blocks until up to limit bytes may pass and returns how many. It
// returns false when the target is not throttled (any amount may pass), and
// ctx's error if ctx ends while it waits.
func (p *pacer) take(ctx context.Context, limit int) (int, bool, error) {
	for {
		bps, ok := p.e.Bandwidth(p.target)
		if !ok {
			return 0, false, nil
		}
		now := time.Now()
		if bps != p.bps || p.start.IsZero() {
			p.bps, p.start, p.n = bps, now, 0
		}
		wait := recheck
		if bps > 0 {
			due := p.start.Add(time.Duration(float64(p.n) / float64(bps) * float64(time.Second)))
			wait = due.Sub(now)
			if wait <= 0 {
				if wait < -recheck { // idle for a while: no burst to catch up
					p.start, p.n = now, 0
				}
				k := min(limit, int(max(1, bps/10))) // about ten chunks a second
				p.n += int64(k)
				return k, true, nil
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, false, ctx.Err()
		case <-p.e.Halted():
			t.Stop()
		}
	}
}

// throttledBody is a request or response body read through a pacer.
type throttledBody struct {
	ctx context.Context
	rc  io.ReadCloser
	p   *pacer
}

func (b *throttledBody) Read(buf []byte) (int, error) {
	if len(buf) == 0 {
		return b.rc.Read(buf)
	}
	k, ok, err := b.p.take(b.ctx, len(buf))
	if err != nil {
		return 0, err
	}
	if !ok {
		return b.rc.Read(buf)
	}
	n, err := b.rc.Read(buf[:k])
	b.p.n -= int64(k - n) // give back what was not read
	return n, err
}

func (b *throttledBody) Close() error { return b.rc.Close() }

// throttledWriter writes a response through a pacer, flushing every chunk
// so that the client sees the pace.
type throttledWriter struct {
	http.ResponseWriter
	ctx context.Context
	p   *pacer
}

func (w *throttledWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		k, ok, err := w.p.take(w.ctx, len(b))
		if err != nil {
			return written, err
		}
		if !ok {
			n, err := w.ResponseWriter.Write(b)
			return written + n, err
		}
		n, err := w.ResponseWriter.Write(b[:k])
		written += n
		if err != nil {
			return written, err
		}
		b = b[k:]
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
	return written, nil
}

// Flush sends buffered data to the client.
func (w *throttledWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *throttledWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
