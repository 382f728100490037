//go:build unix

package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

func TestEnsureModeAndOwner(t *testing.T) {
	base := wbtest.TempDir(t)
	dir := filepath.Join(base, "a", "wfpwatch")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created with %v, %v; want 0700", fi.Mode(), err)
	}
	// A directory left open to others is closed again.
	os.Chmod(dir, 0o777)
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v after Ensure, want 0700", fi.Mode())
	}
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	// Another user's directory and file are refused.
	p := filepath.Join(dir, "audit-snapshot.json")
	if err := WriteFile(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	_, err = ReadFile(p)
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("file of another owner: %v", err)
	}
	t.Logf("file: %v", err)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err = Ensure(dir)
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("directory of another owner: %v", err)
	}
	t.Logf("dir: %v", err)
}
