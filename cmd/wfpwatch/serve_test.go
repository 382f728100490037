package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesUnsafe: a non-loopback address without a token, a short
// token, and half a TLS pair are usage errors, before anything listens.
func TestServeRefusesUnsafe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--db", db, "--listen", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"serve", "--db", db, "--listen", ":0"}, "not a loopback address"},
		{[]string{"serve", "--db", db, "--listen", "0.0.0.0:0", "--token", "short"}, "at least 16 characters"},
		{[]string{"serve", "--db", db, "--cert", "c.pem"}, "both --cert and --key"},
		{[]string{"serve", "--db", db, "--listen", "nonsense"}, "want HOST:PORT"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// TestServeRuns: serve over a database 'analyze --db' wrote answers the
// API on a free loopback port and stops when its context ends.
func TestServeRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	var out, errb bytes.Buffer
	if code := run([]string{"analyze", "-q", "--packets", "--permits", "--db", db, filepath.Join("..", "..", "testdata", "security-wfp.xml")}, &out, &errb); code != 0 {
		t.Fatalf("analyze --db: exit %d: %s", code, errb.String())
	}
	urls := make(chan string, 1)
	serveReady = func(u string) { urls <- u }
	defer func() { serveReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, newServeCmd(io.Discard, io.Discard), []string{"--db", db, "--listen", "127.0.0.1:0"}, io.Discard, io.Discard)
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Get(base + "api/top?by=app&since=all")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":`) {
		t.Fatalf("GET /api/top: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestServeTLS: with --cert/--key serve speaks HTTPS, and a token on a
// non-loopback listen address is required of every request.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	var out, errb bytes.Buffer
	if code := run([]string{"analyze", "-q", "--db", db, filepath.Join("..", "..", "testdata", "security-wfp.xml")}, &out, &errb); code != 0 {
		t.Fatalf("analyze --db: exit %d: %s", code, errb.String())
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	tokenFile := filepath.Join(dir, "token")
	const token = "0123456789abcdef-test"
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)

	urls := make(chan string, 1)
	serveReady = func(u string) { urls <- u }
	defer func() { serveReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, newServeCmd(io.Discard, io.Discard), []string{"--db", db, "--listen", "127.0.0.1:0", "--cert", certFile, "--key", keyFile, "--token-file", tokenFile}, io.Discard, io.Discard)
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("URL %s is not https", base)
	}
	pool := x509.NewCertPool()
	pool.AddCert(mustParse(t, der))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, c := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer wrong-token-wrong-token", 401}, {"Bearer " + token, 200}} {
		req, _ := http.NewRequest("GET", base+"api/health", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("Authorization %q: %d, want %d", c.auth, resp.StatusCode, c.code)
		}
	}
	cancel()
	<-done
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
