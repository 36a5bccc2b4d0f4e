package natstest_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/natstest"
)

// pubSub publishes on a subject it is subscribed to over a raw connection
// and returns the message it receives.
func pubSub(t *testing.T, addr string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // INFO
		return "", err
	}
	if _, err := c.Write([]byte("CONNECT {\"verbose\":false}\r\nSUB t 1\r\nPUB t 2\r\nhi\r\n")); err != nil {
		return "", err
	}
	msg, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(msg, "MSG t 1 2") {
		return "", fmt.Errorf("got %q, want MSG t 1 2", msg)
	}
	payload, err := r.ReadString('\n')
	return strings.TrimSpace(payload), err
}

func TestStart(t *testing.T) {
	srv := natstest.Start(t)
	if !strings.HasPrefix(srv.URL(), "nats://127.0.0.1:") || srv.Port() == 4222 {
		t.Fatalf("URL %q: want a free loopback port, not the default", srv.URL())
	}
	if got, err := pubSub(t, srv.Addr()); err != nil || got != "hi" {
		t.Fatalf("pub/sub = %q, %v", got, err)
	}
}

func TestServer_KillRestart(t *testing.T) {
	srv := natstest.Start(t)
	addr := srv.Addr()
	srv.Kill()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the server still accepts connections after Kill")
	}
	srv.Restart()
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", srv.Addr(), addr)
	}
	if got, err := pubSub(t, addr); err != nil || got != "hi" {
		t.Fatalf("after Restart: pub/sub = %q, %v", got, err)
	}
	if !strings.Contains(srv.Log(), "JetStream") {
		t.Fatalf("log does not mention JetStream:\n%s", srv.Log())
	}
}
