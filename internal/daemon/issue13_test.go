package daemon_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/system"
)

const testToken = "a-token-of-at-least-sixteen-chars"

// slowRequest opens a connection to addr and sends the head of a request
// announcing a body of 100,000 bytes, and then only prefix of it.
func slowRequest(t *testing.T, addr, head, prefix string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, watchdog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+"Host: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"+prefix); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer reads c until the server closes it and returns the status
// line it answered with, if any.
func closedByServer(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(watchdog))
	r := bufio.NewReader(c)
	status, _ := r.ReadString('\n')
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("the server did not close the connection: %v", err)
	}
	return strings.TrimSpace(status)
}

// TestIssue13_SlowBodiesDoNotStarveHealth: requests that announce a body
// and never send it used to hold their connections for ever (the 401 was
// written only once the body was read), until the process ran out of file
// descriptors and /health stopped answering. Now a refused write is
// answered before its body and its connection closed, and every other
// request with a body has ops.body_timeout to send it.
func TestIssue13_SlowBodiesDoNotStarveHealth(t *testing.T) {
	r := start(t, parse(t, `{"ops": {"token": "`+testToken+`", "body_timeout": "500ms"}}`))
	addr := r.Addr()
	var refused, reads, writes []net.Conn
	for range 150 {
		refused = append(refused, slowRequest(t, addr, "POST /chaos/emergency-stop HTTP/1.1\r\n", ""))
	}
	for range 100 {
		reads = append(reads, slowRequest(t, addr, "GET /health HTTP/1.1\r\n", "x"))
	}
	for range 50 {
		writes = append(writes, slowRequest(t, addr, "POST /chaos/scenarios HTTP/1.1\r\nAuthorization: Bearer "+testToken+"\r\n", `{"name":`))
	}
	// /health answers while the 300 connections are open.
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	for i := range 20 {
		resp, err := client.Get(r.URL() + "/health")
		if err != nil {
			t.Fatalf("GET /health %d with 300 slow connections open: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /health %d = %d", i, resp.StatusCode)
		}
	}
	for i, c := range refused {
		if status := closedByServer(t, c); !strings.Contains(status, "401") {
			t.Fatalf("refused write %d answered %q, want 401 before its body", i, status)
		}
	}
	// The slow bodies lose their connections after body_timeout.
	for _, c := range append(reads, writes...) {
		closedByServer(t, c)
	}
}

// lockedBuffer is an io.Writer for a logger shared by goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIssue13_ConnectionCap: connections are capped; past the cap new
// ones wait for a slot (the log says the limit was reached) instead of
// taking the process's last file descriptors.
func TestIssue13_ConnectionCap(t *testing.T) {
	f := parse(t, `{"ops": {"max_connections": 8, "read_header_timeout": "300ms"}}`)
	var logs lockedBuffer
	f.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r := start(t, f)
	for range 8 { // idle connections that never send a request
		c, err := net.DialTimeout("tcp", r.Addr(), watchdog)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// The ninth waits for a slot, which the header timeout frees.
	if code, _ := get(t, r.URL()+"/health"); code != http.StatusOK {
		t.Fatalf("GET /health = %d", code)
	}
	if !strings.Contains(logs.String(), "connection limit reached") || !strings.Contains(logs.String(), "max_connections=8") {
		t.Fatalf("no log line about the limit:\n%s", logs.String())
	}
	if _, err := system.Parse([]byte(`{"ops": {"max_connections": -1}}`)); err == nil || !strings.Contains(err.Error(), "ops.max_connections") {
		t.Fatalf("Parse(max_connections -1) = %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "antifragile test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestIssue13_TLS: with a certificate and key the ops API speaks HTTPS
// only; a missing or unreadable half is refused naming its field.
func TestIssue13_TLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	r := start(t, parse(t, fmt.Sprintf(`{"ops": {"tls_cert_file": %q, "tls_key_file": %q}}`, certFile, keyFile)))
	if !strings.HasPrefix(r.URL(), "https://") {
		t.Fatalf("URL = %q, want https", r.URL())
	}
	client := &http.Client{Timeout: watchdog, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(r.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET /health over TLS = %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	plain := &http.Client{Timeout: watchdog}
	if resp, err := plain.Get("http://" + r.Addr() + "/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 on a TLS listener")
		}
	}

	if _, err := system.Parse([]byte(fmt.Sprintf(`{"ops": {"tls_cert_file": %q}}`, certFile))); err == nil || !strings.Contains(err.Error(), "ops.tls_key_file") {
		t.Fatalf("Parse(cert without key) = %v", err)
	}
	f := parse(t, fmt.Sprintf(`{"ops": {"tls_cert_file": %q, "tls_key_file": %q}}`, keyFile, keyFile))
	if _, err := daemon.New(f); err == nil || !strings.Contains(err.Error(), "ops.tls_cert_file") {
		t.Fatalf("New(a key as the certificate) = %v", err)
	}
}
