package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
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
