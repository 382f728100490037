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
