package wbtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveAll(t *testing.T) {
	dir := TempDir(t)
	deep := filepath.Join(dir, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "x"), filepath.Join(deep, "y")} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("a still exists: %v", err)
	}
	if err := RemoveAll(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("RemoveAll(missing) = %v, want nil", err)
	}
}

func TestNeed(t *testing.T) {
	t.Setenv(EnvVar, "1")
	if !Enabled() {
		t.Fatal("Enabled() = false with WFPWATCH_WINBENCH=1")
	}
	Need(t) // must not skip
}
