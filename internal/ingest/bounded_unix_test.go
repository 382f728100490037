//go:build unix

package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// TestSweepSpools: a spool file of a process that is gone is removed by
// the next run; those of live processes stay.
func TestSweepSpools(t *testing.T) {
	dir := setSpoolCap(t, 8<<20)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no 'true' to make a dead pid:", err)
	}
	dead := filepath.Join(dir, fmt.Sprintf("%s%d-123", spoolPrefix, cmd.Process.Pid))
	live := filepath.Join(dir, fmt.Sprintf("%s%d-456", spoolPrefix, os.Getppid()))
	other := filepath.Join(dir, "wfpwatch-spool-notapid")
	for _, p := range []string{dead, live, other} {
		os.WriteFile(p, []byte("x"), 0o600)
	}
	sweepSpools()
	for p, want := range map[string]bool{dead: false, live: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

// TestWalkSkipsFIFO: a FIFO found while walking a directory is skipped
// with a note (opening it would block until a writer came); the other
// files are read.
func TestWalkSkipsFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "a.fifo"), 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	os.WriteFile(filepath.Join(dir, "b.log"), []byte(fwText), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var probs []string
	st, err := Walk(ctx, []string{dir}, true, func(*event.Event) error { return nil }, func(p *Problem) { probs = append(probs, p.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 2 || len(probs) != 1 || !strings.Contains(probs[0], "not a regular file (a FIFO): skipped") {
		t.Fatalf("events %d, problems %q", st.Events, probs)
	}
}

// TestCancelOpenFIFO: a named FIFO no one writes to blocks in open; the
// context still stops it.
func TestCancelOpenFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "f")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := ReadFile(ctx, fifo, func(*event.Event) error { return nil }, func(*Problem) {})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("named FIFO: err = %v, want context.Canceled", err)
	}
}
