package filelock

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestTryLock: a second open of the file cannot take the lock the first
// holds, and can once the first is closed.
func TestTryLock(t *testing.T) {
	if runtime.GOOS != "windows" && runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		t.Skip("no locking on " + runtime.GOOS)
	}
	p := filepath.Join(t.TempDir(), "lock")
	a, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := TryLock(a, 1<<32); err != nil {
		t.Fatal(err)
	}
	b, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := TryLock(b, 1<<32); !errors.Is(err, ErrLocked) {
		t.Fatalf("second holder: %v, want ErrLocked", err)
	}
	a.Close()
	if err := TryLock(b, 1<<32); err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
}
