//go:build linux || darwin || freebsd

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/spf13/cobra"
)

// bigFirewallLog writes a pfirewall.log of more than progressMinBytes.
func bigFirewallLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(tempDir(t), "pfirewall.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n" +
		"#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\n\n")
	line := "2026-03-02 09:15:01 DROP TCP 203.0.113.7 10.0.0.5 51234 3389 52 S 123 0 8192 - - - RECEIVE\n"
	for n := int64(0); n <= progressMinBytes; n += int64(len(line)) {
		w.WriteString(line)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProgressBarOnTerminal runs analyze on a large file with standard
// error on a pseudo-terminal, and checks the bar shows bytes, rate and
// time left there, and never on a pipe or with -q.
func TestProgressBarOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 50 MB file")
	}
	path := bigFirewallLog(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80})
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&screen, ptmx) }()

	var out bytes.Buffer
	if err := runAnalyze(context.Background(), []string{path, "--format", "json", "--packets"}, &out, tty); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	wg.Wait()
	s := screen.String()
	for _, want := range []string{"reading", "%", "/52 MB", "MB/s", "100%"} {
		if !strings.Contains(s, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, s)
		}
	}
	if out.Len() == 0 {
		t.Error("no events written")
	}

	// A pipe: no bar.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var piped bytes.Buffer
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&piped, r) }()
	if err := runAnalyze(context.Background(), []string{path, "--format", "json"}, io.Discard, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	wg.Wait()
	if strings.Contains(piped.String(), "reading") || strings.Contains(piped.String(), "\r") {
		t.Errorf("a bar on a pipe: %q", piped.String())
	}

	// -q on a terminal: no bar.
	ptmx2, tty2, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx2.Close()
	var quiet bytes.Buffer
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&quiet, ptmx2) }()
	if err := runAnalyze(context.Background(), []string{path, "-q"}, io.Discard, tty2); err != nil {
		t.Fatal(err)
	}
	tty2.Close()
	wg.Wait()
	if quiet.Len() != 0 {
		t.Errorf("-q wrote to the terminal: %q", quiet.String())
	}
}

// TestProgressSmallInput checks a small, quick input shows no bar even on
// a terminal.
func TestProgressSmallInput(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&screen, ptmx) }()
	if err := runAnalyze(context.Background(), []string{fixture}, io.Discard, tty); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	wg.Wait()
	if strings.Contains(screen.String(), "reading") {
		t.Errorf("a bar for a small input: %q", screen.String())
	}
}

// TestInterrupted checks a run stopped by SIGINT says so and exits 130.
func TestInterrupted(t *testing.T) {
	register(&command{name: "test-wait", new: func(stdout, stderr io.Writer) *cobra.Command {
		return &cobra.Command{Use: "test-wait", RunE: func(c *cobra.Command, args []string) error {
			<-c.Context().Done()
			return c.Context().Err()
		}}
	}})
	defer delete(commands, "test-wait")
	go func() {
		time.Sleep(200 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	_, errOut, code := runCLI(t, "test-wait")
	if code != exitInterrupted || errOut != "wfpwatch: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 130 and 'wfpwatch: interrupted'", code, errOut)
	}
}
