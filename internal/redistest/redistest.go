package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a redis-server may take to become ready.
const startTimeout = 15 * time.Second

// Server is a redis-server process owned by one test. Its methods are safe
// for concurrent use.
type Server struct {
	t          testing.TB
	bin        string
	dir        string
	persistent bool

	mu   sync.Mutex
	port int       // guarded by mu
	cmd  *exec.Cmd // guarded by mu; nil while stopped
	log  *logWriter
}

// Start starts a redis-server without persistence (--save "" --appendonly
// no) on a free port of 127.0.0.1 and returns once it answers PING. It is
// killed in t.Cleanup. It calls t.Skip when redis-server is not on PATH and
// t.Fatal when the server does not start.
func Start(t testing.TB) *Server {
	return start(t, false)
}

// StartPersistent is Start with an append-only file in a temporary
// directory, fsynced on every write (--appendonly yes --appendfsync
// always): every write Redis acknowledged survives Kill and Restart.
func StartPersistent(t testing.TB) *Server {
	return start(t, true)
}

func start(t testing.TB, persistent bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: redis-server not found on PATH; install it (apt-get install redis-server) to run this test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), persistent: persistent}
	t.Cleanup(s.Kill)
	var lastErr error
	for range 5 { // a free port can be taken between picking and binding
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if lastErr = s.launch(port); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts redis-server on port and waits until it is ready.
func (s *Server) launch(port int) error {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--logfile", "", "--daemonize", "no",
	}
	if s.persistent {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(s.bin, args...)
	lw := newLogWriter()
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-lw.ready:
	case err := <-exited:
		return fmt.Errorf("redis-server on port %d exited before it was ready (%v):\n%s", port, err, lw.String())
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("redis-server on port %d not ready after %v:\n%s", port, startTimeout, lw.String())
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := ping(addr); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("redis-server on %s: %w\n%s", addr, err, lw.String())
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

// ping sends PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, startTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(startTimeout))
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

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Persistent reports whether the server keeps an fsynced append-only file.
func (s *Server) Persistent() bool { return s.persistent }

// Kill kills the server with SIGKILL — no shutdown, no final save — and
// waits for it to exit. It does nothing if the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, lw := s.cmd, s.log
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-lw.done
}

// Restart kills the server if it is running and starts it again on the same
// port and directory (so a persistent server reloads its data), returning
// once it answers PING. It calls t.Fatal if the server does not come back.
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
	s.t.Fatalf("redistest: restart: %v", err)
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
	mu        sync.Mutex
	buf       bytes.Buffer
	ready     chan struct{}
	readyOnce sync.Once
	done      chan struct{}
}

func newLogWriter() *logWriter {
	return &logWriter{ready: make(chan struct{}), done: make(chan struct{})}
}

// Write keeps p and signals readiness once the server says so.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte("Ready to accept connections")) {
		w.readyOnce.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

// String returns the output so far.
func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
