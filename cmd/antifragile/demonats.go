package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/internal/flock"
)

// natsStartTimeout bounds how long nats-server may take to accept
// connections.
const natsStartTimeout = 15 * time.Second

// natsInstall says how to get nats-server, for the demo's messages.
const natsInstall = "apt-get install nats-server, brew install nats-server, or https://docs.nats.io/running-a-nats-service/introduction/installation"

// natsServer is a nats-server process the demo started on a free port of
// 127.0.0.1, with JetStream storing in a temporary directory. stop ends it
// and removes the directory.
type natsServer struct {
	url  string
	dir  string
	lock *os.File // held on dir while the demo lives: see sweepNATSDirs
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{} // closed once the process has exited
}

// startNATS starts the nats-server at bin (-js, its store in a new
// temporary directory, listening on 127.0.0.1 only) on a free port and
// returns once it accepts connections with JetStream on. It tries another
// port when the one picked was taken in between. When ctx ends first it
// stops the server and returns ctx's error.
func startNATS(ctx context.Context, bin string) (*natsServer, error) {
	sweepNATSDirs(os.TempDir())
	dir, err := os.MkdirTemp("", natsDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("demo: a directory for nats-server: %w", err)
	}
	lock, err := flock.LockDir(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("demo: locking %s: %w", dir, err)
	}
	var lastErr error
	for range 5 {
		s, err := launchNATS(ctx, bin, dir)
		if err == nil {
			s.lock = lock
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	_ = lock.Close()
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// natsDirPrefix names the demo's temporary JetStream directories.
const natsDirPrefix = "antifragile-demo-nats-"

// sweepNATSDirs removes the demo's JetStream directories in tmp that no
// process holds any more: a demo killed with SIGKILL could not remove its
// own (its nats-server died with it: Pdeathsig). A directory whose lock is
// held — another demo running — or made in the last minute (another demo
// between making and locking it) is left alone. It runs on Linux only:
// elsewhere a killed demo's nats-server may outlive it (no Pdeathsig), in
// the directory its lock no longer guards.
func sweepNATSDirs(tmp string) {
	if runtime.GOOS != "linux" || !flock.Supported {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, natsDirPrefix+"*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		f, err := flock.LockDir(d)
		if err != nil {
			continue
		}
		_ = os.RemoveAll(d)
		_ = f.Close()
	}
}

// launchNATS starts one nats-server on a port free a moment ago and waits
// until it is ready.
func launchNATS(ctx context.Context, bin, dir string) (*natsServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &natsServer{url: "nats://127.0.0.1:" + strconv.Itoa(port), dir: dir, log: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "jetstream"),
		"-n", "antifragile-demo-"+strconv.Itoa(port))
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = childProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("demo: starting %s: %w", bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// waitReady polls addr every 20 ms until the server greets with JetStream
// on, the server exits, ctx ends or natsStartTimeout passes.
func (s *natsServer) waitReady(ctx context.Context, addr string) error {
	deadline := time.Now().Add(natsStartTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := natsGreets(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: nats-server not ready on %s after %s: %v\n%s", addr, natsStartTimeout, err, s.log.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("demo: nats-server exited before it was ready on %s:\n%s", addr, s.log.String())
		case <-tick.C:
		}
	}
}

// natsGreets connects to addr and checks that the server's INFO line says
// JetStream is on.
func natsGreets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	info, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(info, "INFO ") || !strings.Contains(info, `"jetstream":true`) {
		return errors.New("the server did not greet with JetStream on")
	}
	return nil
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("demo: picking a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// kill kills the server and waits for it to exit.
func (s *natsServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// stop kills the server (its store is temporary: nothing to save), waits
// for it and removes its directory. It is called once.
func (s *natsServer) stop() error {
	s.kill()
	err := os.RemoveAll(s.dir)
	if s.lock != nil {
		_ = s.lock.Close()
	}
	return err
}

// tailBuffer keeps the last max bytes written to it (a process's log, for
// the message of a failure). It is safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte // guarded by mu
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String returns what was kept, trimmed.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
