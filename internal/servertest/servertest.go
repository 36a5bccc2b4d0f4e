package servertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to become ready.
const StartTimeout = 15 * time.Second

// Spec describes a kind of server.
type Spec struct {
	// Binary is the executable looked up on PATH, such as "redis-server".
	Binary string
	// Install says how to get it, for the skip or failure message.
	Install string
	// Args returns the command line for a server on 127.0.0.1:port keeping
	// its files in dir (the same dir across Restart).
	Args func(port int, dir string) []string
	// Ready is what the server prints once it accepts connections.
	Ready string
	// Check, when set, is called with "127.0.0.1:port" once Ready was
	// printed; an error means the server is not usable.
	Check func(addr string) error
}

// Server is a server process owned by one test. Its methods are safe for
// concurrent use.
type Server struct {
	t    testing.TB
	spec Spec
	bin  string
	dir  string

	mu   sync.Mutex
	port int       // guarded by mu
	cmd  *exec.Cmd // guarded by mu; nil while stopped
	log  *logWriter
}

// Start starts a server of spec on a free port of 127.0.0.1 and returns
// once it is ready. It is killed in t.Cleanup. A missing binary skips the
// test, or fails it when CI is set; a server that does not start fails it.
func Start(t testing.TB, spec Spec) *Server {
	t.Helper()
	bin, err := exec.LookPath(spec.Binary)
	if err != nil {
		msg := fmt.Sprintf("servertest: %s not found on PATH; install it (%s) to run this test", spec.Binary, spec.Install)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " — CI is set, so a missing server is a failure, not a skip")
		}
		t.Skip(msg)
	}
	s := &Server{t: t, spec: spec, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Kill)
	var lastErr error
	for range 5 { // a free port can be taken between picking and binding
		port, err := FreePort()
		if err != nil {
			t.Fatalf("servertest: %v", err)
		}
		if lastErr = s.launch(port); lastErr == nil {
			return s
		}
	}
	t.Fatalf("servertest: %v", lastErr)
	return nil
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts the server on port and waits until it is ready.
func (s *Server) launch(port int) error {
	cmd := exec.Command(s.bin, s.spec.Args(port, s.dir)...)
	lw := newLogWriter(s.spec.Ready)
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	name := s.spec.Binary
	select {
	case <-lw.ready:
	case err := <-exited:
		return fmt.Errorf("%s on port %d exited before it was ready (%v):\n%s", name, port, err, lw.String())
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s on port %d not ready after %v:\n%s", name, port, StartTimeout, lw.String())
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if s.spec.Check != nil {
		if err := s.spec.Check(addr); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("%s on %s: %w\n%s", name, addr, err, lw.String())
		}
	}
	s.mu.Lock()
	s.port, s.cmd, s.log = port, cmd, lw
	s.mu.Unlock()
	// Reap the process when it exits, whoever kills it.
	go func() {
		<-exited
		close(lw.done)
	}()
	return nil
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Port returns the server's port.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Dir returns the server's directory, the same across Restart.
func (s *Server) Dir() string { return s.dir }

// Kill kills the server with SIGKILL — no shutdown, no final save — and
// waits for it to exit. It does nothing if the server is not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop asks the server to shut down cleanly (SIGTERM) and waits for it
// to exit. It does nothing if the server is not running.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, lw := s.cmd, s.log
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	<-lw.done
}

// Restart kills the server if it is running and starts it again on the same
// port and directory (so that persisted data is reloaded), returning once
// it is ready. It calls t.Fatal if the server does not come back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.mu.Lock()
	port := s.port
	s.mu.Unlock()
	var err error
	for range 50 { // the port may linger briefly after the kill
		if err = s.launch(port); err == nil {
			return
		}
		if !strings.Contains(err.Error(), "in use") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("servertest: restart %s: %v", s.spec.Binary, err)
}

// Log returns what the current (or last) server process has printed.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// logWriter collects the server's output and signals readiness and exit.
type logWriter struct {
	readyLine []byte

	mu      sync.Mutex
	buf     bytes.Buffer
	isReady bool // guarded by mu
	ready   chan struct{}
	done    chan struct{}
}

func newLogWriter(ready string) *logWriter {
	return &logWriter{readyLine: []byte(ready), ready: make(chan struct{}), done: make(chan struct{})}
}

// Write keeps p and signals readiness once the server says so. The kept
// output is bounded: past 1 MiB only the start is kept.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() < 1<<20 {
		w.buf.Write(p)
	}
	if !w.isReady && bytes.Contains(w.buf.Bytes(), w.readyLine) {
		w.isReady = true
		close(w.ready)
	}
	return len(p), nil
}

// String returns the output so far.
func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Eventually polls cond every 10 ms until it holds, failing the test with
// what once within has passed: for what another process does (a server, a
// child process, a connection's delivery), which no fake clock reaches. It
// is a watchdog against a hung test, not a timing assertion.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
