package redistest_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// do sends one inline command and returns the first reply line.
func do(t *testing.T, addr, cmd string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestStart(t *testing.T) {
	t.Run("serves on a loopback port", func(t *testing.T) {
		srv := redistest.Start(t)
		if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
			t.Fatalf("Addr = %q", srv.Addr())
		}
		if got, err := do(t, srv.Addr(), "PING"); err != nil || got != "+PONG" {
			t.Fatalf("PING = %q, %v", got, err)
		}
	})
	t.Run("starts independent servers", func(t *testing.T) {
		a, b := redistest.Start(t), redistest.Start(t)
		if a.Addr() == b.Addr() {
			t.Fatalf("both on %s", a.Addr())
		}
	})
}

func TestServer_Restart(t *testing.T) {
	t.Run("persistent data survives a kill", func(t *testing.T) {
		srv := redistest.StartPersistent(t)
		if got, err := do(t, srv.Addr(), "SET k v"); err != nil || got != "+OK" {
			t.Fatalf("SET = %q, %v", got, err)
		}
		srv.Kill()
		if _, err := do(t, srv.Addr(), "PING"); err == nil {
			t.Fatal("server still answers after Kill")
		}
		srv.Restart()
		if got, err := do(t, srv.Addr(), "GET k"); err != nil || got != "$1" {
			t.Fatalf("GET after restart = %q, %v; want the value kept", got, err)
		}
	})
	t.Run("plain data does not", func(t *testing.T) {
		srv := redistest.Start(t)
		if _, err := do(t, srv.Addr(), "SET k v"); err != nil {
			t.Fatal(err)
		}
		srv.Restart()
		if got, err := do(t, srv.Addr(), "GET k"); err != nil || got != "$-1" {
			t.Fatalf("GET after restart = %q, %v; want nil", got, err)
		}
	})
}
