package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriterLockSameProcess(t *testing.T) {
	db, path := openTemp(t, Options{})
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "already open for writing in this process") {
		t.Fatalf("second writer: %v", err)
	}
	// Readers need no lock.
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while a writer holds the lock: %v", err)
	}
	if _, err := r.Count(context.Background(), Filter{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("writer after the first closed: %v", err)
	}
	db2.Close()
	// A writer that fails to open gives the lock back.
	os.WriteFile(path, []byte("not a database, but long enough to be read as a header of one......................................................"), 0o644)
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("opened a file that is not a database")
	}
	os.Remove(path)
	db3, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("writer after a failed open: %v", err)
	}
	db3.Close()
}

// TestWriterLockOtherProcess holds the lock in a child process (this test
// binary, re-executed), checks that a second writer is refused with the
// child's pid while readers go on, then kills the child: the OS releases
// its lock, and a writer opens at once.
func TestWriterLockOtherProcess(t *testing.T) {
	if p := os.Getenv("WFPWATCH_STORE_LOCK_CHILD"); p != "" {
		db, err := Open(p, Options{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n') // until killed
		db.Close()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "locked.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterLockOtherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WFPWATCH_STORE_LOCK_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	_, err = Open(path, Options{})
	want := fmt.Sprintf("another wfpwatch process (pid %d) is recording to %s: stop it, or pass --db with another file", cmd.Process.Pid, path)
	if err == nil || err.Error() != want {
		t.Fatalf("second writer:\n got %v\nwant %s", err, want)
	}
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while another process writes: %v", err)
	}
	r.Close()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("writer after the holder was killed: %v", err)
	}
	db.Close()
}
