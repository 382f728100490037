package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestWatchUnderBench runs 'wfpwatch watch --no-audit' against the fake
// wevtapi.dll of the Windows ABI bench: the real subscription, render and
// decode path behind the command, twice with a bookmark.
func TestWatchUnderBench(t *testing.T) {
	wbtest.Need(t)
	displayLocation = time.UTC
	dir := wbtest.TempDir(t)
	src, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"future"}
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "<Event") {
			lines = append(lines, "event "+l)
		}
	}
	scen := filepath.Join(dir, "watch.txt")
	if err := os.WriteFile(scen, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WFPWATCH_FAKE_WEVTAPI", scen)
	bm := filepath.Join(dir, "bookmark.xml")
	watch := func(args ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		if err := runWatch(ctx, append([]string{"--source", "evtlog", "--no-db", "--no-audit", "--bookmark", bm, "--format", "csv"}, args...), &out, &errb); err != nil {
			t.Fatalf("watch: %v\n%s", err, errb.String())
		}
		return out.String(), errb.String()
	}
	out, msgs := watch("--packets", "--permits")
	rows := strings.Count(out, "\n") - 1
	if rows < 5 || !strings.Contains(msgs, "event(s) read") {
		t.Fatalf("first run: %d rows\n%s\n%s", rows, out, msgs)
	}
	t.Logf("first run: %d rows; %s", rows, strings.TrimSpace(msgs))
	out, msgs = watch("--packets", "--permits")
	if strings.Count(out, "\n") > 1 || !strings.Contains(msgs, "0 event(s) read") {
		t.Errorf("second run repeated events after the bookmark:\n%s\n%s", out, msgs)
	}
}

// TestWatchForwardedEventsUnderBench: 'watch --channel ForwardedEvents'
// reads a collector's log of three hosts through the real subscription
// binding (the fake wevtapi serves the ForwardedEvents channel): each
// host's inbound block is oriented from that host's own evidence — a
// Windows 10 host writes the sender first, an older one the local end
// first — and named by its host; the collector's own facts are not used
// for them, and what only the source host could look up is said once.
func TestWatchForwardedEventsUnderBench(t *testing.T) {
	wbtest.Need(t)
	dir := wbtest.TempDir(t)
	lines := append([]string{"channel ForwardedEvents", "future"}, forwardedStream()...)
	scen := filepath.Join(dir, "forwarded.txt")
	if err := os.WriteFile(scen, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WFPWATCH_FAKE_WEVTAPI", scen)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if err := runWatch(ctx, []string{"--channel", "ForwardedEvents", "--source", "evtlog", "--no-db", "--no-audit", "--no-aggregate", "--format", "json", "--bookmark", filepath.Join(dir, "bm.xml")}, &out, &errb); err != nil {
		t.Fatalf("watch: %v\n%s", err, errb.String())
	}
	got := inboundLocalEnds(t, out.String())
	for h, w := range forwardedWant {
		if got[h] != w {
			t.Errorf("%s: local end %q, want %q\n%s\n%s", h, got[h], w, out.String(), errb.String())
		}
	}
	for _, h := range []string{"WS10.corp.example", "OLD7.corp.example", "SRV3.corp.example"} {
		if strings.Count(errb.String(), "host "+h+": events forwarded from another computer") != 1 {
			t.Errorf("no single word that %s's names are not looked up here:\n%s", h, errb.String())
		}
	}
	t.Logf("inbound local ends by host: %v\n%s", got, errb.String())
	if b, _ := os.ReadFile(filepath.Join(dir, "bm.xml")); !strings.Contains(string(b), "Channel='ForwardedEvents'") {
		t.Errorf("bookmark: %s", b)
	}
}
