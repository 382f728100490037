//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptHelper is the wfpwatch process of the interrupt tests: the
// test binary re-executed with WFPWATCH_MAIN_HELPER=1 runs the arguments
// after "--" as wfpwatch would.
func TestInterruptHelper(t *testing.T) {
	if os.Getenv("WFPWATCH_MAIN_HELPER") != "1" {
		t.Skip("helper process only")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// startWfpwatch starts wfpwatch with args in a child process, stdin from
// stdin (nil: none).
func startWfpwatch(t *testing.T, stdin io.Reader, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestInterruptHelper$", "-test.count=1", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "WFPWATCH_MAIN_HELPER=1")
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &stderr
}

// interrupt sends sig to cmd once it has had time to block, and checks that
// it ends within a few seconds with status 130 and "wfpwatch: interrupted".
func interrupt(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, sig os.Signal) {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // let it reach the blocking read
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("exit: %v, want status 130; stderr:\n%s", err, stderr)
		}
		if !strings.Contains(stderr.String(), "wfpwatch: interrupted\n") || strings.Contains(stderr.String(), "context canceled") {
			t.Fatalf("stderr:\n%s", stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after %v", sig)
	}
}

// endless writes prefix, then repeats filler until the reader goes away.
func endless(t *testing.T, prefix, filler string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write([]byte(prefix)); err != nil {
			return
		}
		b := bytes.Repeat([]byte(filler), (64<<10)/len(filler))
		for {
			if _, err := pw.Write(b); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { pr.Close() })
	return pr
}

func TestInterrupt(t *testing.T) {
	// Standard input that never says anything ("sleep 30 | wfpwatch
	// analyze -"), with SIGINT and SIGTERM.
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run("silent stdin "+sig.String(), func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close()
			cmd, stderr := startWfpwatch(t, pr, "analyze", "-")
			pr.Close()
			interrupt(t, cmd, stderr, sig)
		})
	}
	t.Run("named FIFO", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip("mkfifo:", err)
		}
		cmd, stderr := startWfpwatch(t, nil, "analyze", fifo)
		interrupt(t, cmd, stderr, os.Interrupt)
	})
	t.Run("XML garbage", func(t *testing.T) {
		cmd, stderr := startWfpwatch(t, endless(t, "<Events>", "<Event <Event "), "analyze", "-")
		interrupt(t, cmd, stderr, os.Interrupt)
	})
	t.Run("blank JSON lines", func(t *testing.T) {
		line := `{"@timestamp":"2024-05-02T10:00:02Z","winlog":{"event_id":4624,"provider_name":"Microsoft-Windows-Security-Auditing","event_data":{}}}` + "\n"
		cmd, stderr := startWfpwatch(t, endless(t, line, "\n"), "analyze", "-")
		interrupt(t, cmd, stderr, os.Interrupt)
	})
}

// Ctrl+C while analyze waits for an output that is down ends at once with
// status 130; the events stay queued on disk for the next run.
func TestInterruptWhileDraining(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the child's queues
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens: every send fails and is retried
	cmd, stderr := startWfpwatch(t, nil, "analyze", "--packets", "--output", "syslog+tcp://"+addr, fixture)
	time.Sleep(time.Second) // reading the fixture takes a few milliseconds: it is draining now
	interrupt(t, cmd, stderr, os.Interrupt)
	if !strings.Contains(stderr.String(), "what is queued stays in") {
		t.Errorf("no word of the queue:\n%s", stderr)
	}
}

// TestFIFOInDirectory: analyze -r on a directory holding a FIFO skips it
// with a note instead of hanging in open.
func TestFIFOInDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "a.fifo"), 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	cmd, stderr := startWfpwatch(t, nil, "analyze", "-r", dir)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("analyze -r hangs on a FIFO")
	}
	if !strings.Contains(stderr.String(), "a.fifo: not a regular file (a FIFO): skipped") {
		t.Fatalf("stderr:\n%s", stderr)
	}
}

// TestFIFONamedToReadByOffset: evtx dump and fwlog tail, which cannot read
// a stream, refuse a FIFO at once with what to do, instead of hanging in
// open where Ctrl+C cannot reach them.
func TestFIFONamedToReadByOffset(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "log.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	for _, args := range [][]string{{"evtx", "dump", fifo}, {"fwlog", "tail", fifo}} {
		cmd, stderr := startWfpwatch(t, nil, args...)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("%v: exit %v, want 2", args, err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v hangs on a FIFO", args)
		}
		if !strings.Contains(stderr.String(), "is not a regular file (a FIFO, socket or device)") {
			t.Errorf("%v: stderr:\n%s", args, stderr)
		}
	}
}
