package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// serve --live records what the live sources deliver into the database it
// serves (the API has it within a second), and puts the audit policy back
// when it stops.
func TestServeLive(t *testing.T) {
	h := fakeHost(t, 0, 0, nil)
	feedFixture(t, h, nil)
	feed := evtSubscribe
	evtSubscribe = func(ctx context.Context, opt evtlog.Options, fn evtlog.Handler) (evtlog.Stats, error) {
		st, err := feed(ctx, opt, fn)
		<-ctx.Done() // a live source runs until stopped
		return st, err
	}
	db := filepath.Join(t.TempDir(), "live.db")
	urls := make(chan string, 1)
	serveReady = func(u string) { urls <- u }
	defer func() { serveReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var errb bytes.Buffer
	go func() {
		done <- execute(ctx, newServeCmd(io.Discard, &errb), []string{"--live", "--packets", "--db", db, "--listen", "127.0.0.1:0", "--status-dir", "-"}, io.Discard, &errb)
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("serve --live ended: %v\n%s", err, errb.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve --live did not listen\n%s", errb.String())
	}
	if h.m[audit.Connection]&audit.Failure == 0 {
		t.Error("the audit policy is not on while capturing")
	}
	deadline := time.Now().Add(5 * time.Second)
	var n int
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "api/events?since=all&limit=100&verdict=block,drop")
		if err == nil {
			var a struct {
				Events []json.RawMessage `json:"events"`
			}
			json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			if n = len(a.Events); n > 0 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n == 0 {
		t.Fatalf("no captured event in the API\n%s", errb.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve --live: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve --live did not stop")
	}
	if h.m[audit.Connection] != 0 {
		t.Errorf("the audit policy was not put back: %v\n%s", h.m[audit.Connection], errb.String())
	}
}

func TestServeLiveFlagsNeedLive(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--packets"}, &out, &errb); code != 2 {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}
