// Package natstest starts real nats-server processes with JetStream for
// tests: each on a free loopback port (never the default 4222) with its
// store in a temporary directory, killed when the test ends. A missing
// nats-server skips the test, or fails it when the CI environment variable
// is set (CI installs it).
//
//	srv := natstest.Start(t)
//	nc, err := nats.Connect(srv.URL())
package natstest

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/servertest"
)

// Server is a nats-server process owned by one test: URL, Addr, Kill
// (SIGKILL), Stop (clean shutdown), Restart (same port and JetStream store,
// so streams and KV buckets survive) and Log. Its methods are safe for
// concurrent use.
type Server struct {
	*servertest.Server
}

// Start starts a nats-server with JetStream (-js, its store under a
// temporary directory) on a free port of 127.0.0.1 and returns once it
// answers PING. It is killed in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return &Server{Server: servertest.Start(t, servertest.Spec{
		Binary:  "nats-server",
		Install: "apt-get install nats-server",
		Args: func(port int, dir string) []string {
			return []string{
				"-a", "127.0.0.1", "-p", strconv.Itoa(port),
				"-js", "-sd", filepath.Join(dir, "jetstream"),
				"-n", "natstest-" + strconv.Itoa(port),
			}
		},
		Ready: "Server is ready",
		Check: ping,
	})}
}

// URL returns the server's "nats://127.0.0.1:port".
func (s *Server) URL() string { return "nats://" + s.Addr() }

// ping reads the server's INFO line, sends PING and expects PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, servertest.StartTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(servertest.StartTimeout))
	r := bufio.NewReader(c)
	info, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(info, "INFO ") {
		return fmt.Errorf("the server greeted with %q, want INFO", info)
	}
	if !strings.Contains(info, `"jetstream":true`) {
		return fmt.Errorf("JetStream is not enabled: %s", info)
	}
	if _, err := c.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
