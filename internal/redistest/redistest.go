package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/servertest"
)

// Server is a redis-server process owned by one test: Addr, Kill (SIGKILL,
// no final save), Stop, Restart (same port and directory) and Log. Its
// methods are safe for concurrent use.
type Server struct {
	*servertest.Server
	persistent bool
}

// Start starts a redis-server without persistence (--save "" --appendonly
// no) on a free port of 127.0.0.1 and returns once it answers PING. It is
// killed in t.Cleanup. A missing redis-server skips the test, or fails it
// when CI is set; a server that does not start fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	return &Server{Server: servertest.Start(t, spec(false))}
}

// StartPersistent is Start with an append-only file in a temporary
// directory, fsynced on every write (--appendonly yes --appendfsync
// always): every write Redis acknowledged survives Kill and Restart.
func StartPersistent(t testing.TB) *Server {
	t.Helper()
	return &Server{Server: servertest.Start(t, spec(true)), persistent: true}
}

// Persistent reports whether the server keeps an fsynced append-only file.
func (s *Server) Persistent() bool { return s.persistent }

func spec(persistent bool) servertest.Spec {
	return servertest.Spec{
		Binary:  "redis-server",
		Install: "apt-get install redis-server",
		Args: func(port int, dir string) []string {
			args := []string{
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
				"--save", "", "--logfile", "", "--daemonize", "no",
			}
			if persistent {
				return append(args, "--appendonly", "yes", "--appendfsync", "always")
			}
			return append(args, "--appendonly", "no")
		},
		Ready: "Ready to accept connections",
		Check: ping,
	}
}

// ping sends PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, servertest.StartTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(servertest.StartTimeout))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
