package store

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestWriterLockLinks: any name of one database file is one lock. A
// symbolic link let a second writer in (rollups over-counted), a hard link
// corrupted the file.
func TestWriterLockLinks(t *testing.T) {
	db, path := openTemp(t, Options{})
	dir := t.TempDir()
	sym := filepath.Join(dir, "sym.db")
	hard := filepath.Join(dir, "hard.db")
	if err := os.Link(path, hard); err != nil {
		t.Skip("hard links not supported here:", err)
	}
	cases := map[string]string{hard: "under another name (a hard link to the same file)"}
	// Symbolic links: on Unix. On Windows creating one needs a privilege,
	// opening one opens the target (so the identity lock holds), and
	// Wine's emulation of them is not Windows's.
	if err := os.Symlink(path, sym); err == nil && runtime.GOOS != "windows" {
		cases[sym] = "already open for writing in this process"
	} else {
		sym = path
	}
	for name, want := range cases {
		if d, err := Open(name, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			if d != nil {
				d.Close()
			}
			t.Errorf("%s: %v, want %q", filepath.Base(name), err, want)
		}
	}
	db.Close()
	// Once the first writer is gone, any name opens.
	d, err := Open(hard, Options{})
	if err != nil {
		t.Fatalf("hard link after the writer closed: %v", err)
	}
	d.Close()

	// In another process: the child records through the hard link.
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterLockOtherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WFPWATCH_STORE_LOCK_CHILD="+hard)
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
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	for _, name := range []string{path, sym} {
		if d, err := Open(name, Options{}); err == nil || !strings.Contains(err.Error(), "under another name") {
			if d != nil {
				d.Close()
			}
			t.Errorf("%s while another process records through a hard link: %v", filepath.Base(name), err)
		}
	}
}
