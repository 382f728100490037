package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(wbtest.TempDir(t), "wfpwatch")
	p := filepath.Join(dir, "audit-snapshot.json")
	if err := EnsureFor(p); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := CheckFile(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CheckFile of a missing file: %v", err)
	}
	for _, content := range []string{"first", "second, longer", "3"} {
		if err := WriteFile(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("ReadFile = %q, %v; want %q", got, err, content)
		}
	}
	if err := CheckFile(p); err != nil {
		t.Fatalf("CheckFile of a file wfpwatch wrote: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if err := Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := Remove(p); err != nil {
		t.Fatalf("removing a missing file: %v", err)
	}
}

func TestEnsureRefusesLinkAndFile(t *testing.T) {
	base := wbtest.TempDir(t)
	notDir := filepath.Join(base, "file")
	os.WriteFile(notDir, []byte("x"), 0o600)
	if err := Ensure(notDir); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Ensure on a file: %v, want ErrUntrusted", err)
	}
	real := filepath.Join(base, "elsewhere")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "wfpwatch")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("cannot create a symbolic link here: %v", err)
	}
	skipUnlessLink(t, link)
	err := Ensure(link)
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Ensure on a link: %v, want ErrUntrusted", err)
	}
	t.Logf("link: %v", err)
}

func TestReadFileRefusesLinks(t *testing.T) {
	dir := filepath.Join(wbtest.TempDir(t), "wfpwatch")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target.json")
	if err := WriteFile(target, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "audit-snapshot.json")
	if err := os.Symlink(target, sym); err == nil && isLink(sym) {
		if _, err := ReadFile(sym); !errors.Is(err, ErrUntrusted) {
			t.Errorf("ReadFile of a symbolic link: %v, want ErrUntrusted", err)
		} else {
			t.Logf("symlink: %v", err)
		}
	} else {
		t.Logf("no symbolic link test: %v", err)
	}
	hard := filepath.Join(dir, "engine-options.json")
	if err := os.Link(target, hard); err == nil {
		if _, err := ReadFile(hard); !errors.Is(err, ErrUntrusted) {
			t.Errorf("ReadFile of a hard link: %v, want ErrUntrusted", err)
		} else {
			t.Logf("hard link: %v", err)
		}
	} else {
		t.Logf("no hard link test: %v", err)
	}
}

func TestReadFileRefusesHugeFile(t *testing.T) {
	dir := filepath.Join(wbtest.TempDir(t), "wfpwatch")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "big.json")
	if err := WriteFile(p, make([]byte, MaxFileSize+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("huge file: %v", err)
	}
}

func TestEnsureForLeavesChosenDirectory(t *testing.T) {
	base := wbtest.TempDir(t)
	// An existing directory the user chose with a flag is not changed.
	if err := EnsureFor(filepath.Join(base, "snap.json")); err != nil {
		t.Fatal(err)
	}
	// A missing one is created locked down.
	p := filepath.Join(base, "new", "snap.json")
	if err := EnsureFor(p); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		t.Fatalf("not created: %v", err)
	}
}

func TestLockExcludes(t *testing.T) {
	dir := wbtest.TempDir(t)
	p := filepath.Join(dir, "state.lock")
	old := LockTimeout
	LockTimeout = 100 * time.Millisecond
	defer func() { LockTimeout = old }()
	unlock, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	if u2, err := Lock(p); err == nil {
		u2()
		t.Fatal("a second Lock got the lock while the first held it")
	} else if !strings.Contains(err.Error(), "another wfpwatch") {
		t.Errorf("message: %v", err)
	}
	got := make(chan error, 1)
	LockTimeout = 5 * time.Second
	go func() {
		u, err := Lock(p)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
}

// isLink reports whether path shows as a symbolic link. Wine 8 creates
// links that Windows calls do not report as reparse points, so there the
// link tests are skipped.
func isLink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

func skipUnlessLink(t *testing.T, path string) {
	t.Helper()
	if !isLink(path) {
		t.Skipf("%s does not show as a link on this system (Wine 8): the reparse-point check is proven only on real Windows", path)
	}
}
