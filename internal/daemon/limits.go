package daemon

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/system"
)

// fdReserve is how many file descriptors the connection cap leaves to the
// rest of the process (the listener, files, sinks, Redis connections).
const fdReserve = 64

// capWarnEvery bounds the "connection limit reached" log line.
const capWarnEvery = time.Minute

// maxConnections returns the connection cap for a configured value: n, or
// DefaultMaxConnections lowered to the open-file limit less fdReserve.
func maxConnections(n int) int {
	if n > 0 {
		return n
	}
	n = system.DefaultMaxConnections
	if limit, ok := openFileLimit(); ok && limit-fdReserve < uint64(n) {
		n = max(int(limit)-fdReserve, 1)
	}
	return n
}

// limitListener accepts at most cap(slots) connections at once: Accept
// waits for one of them to close before it accepts another, so that a flood
// of connections cannot take the process's last file descriptors. The
// first time Accept has to wait, and then at most once per capWarnEvery, it
// logs that the limit was reached.
type limitListener struct {
	net.Listener
	slots  chan struct{}
	closed chan struct{}
	once   sync.Once
	log    *slog.Logger

	lastWarn atomic.Int64 // unix nanoseconds of the last warning
}

func newLimitListener(ln net.Listener, n int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{}), log: log}
}

// Accept waits for a free slot, then accepts a connection holding it until
// the connection is closed.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.warn()
		select {
		case l.slots <- struct{}{}:
		case <-l.closed:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) warn() {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if last != 0 && now-last < int64(capWarnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("ops API: connection limit reached; new connections wait until one closes",
		"max_connections", cap(l.slots))
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn gives its slot back once, when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// withBodyDeadline bounds reading the body of every request that has one:
// from the moment the handler is called, the client has timeout to send
// it, after which reads fail and the connection is closed. Requests
// without a body (GET, the /events streams) get no deadline, so streams
// stay open.
func withBodyDeadline(h http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 { // -1 (chunked) or a length
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		h.ServeHTTP(w, r)
	})
}
