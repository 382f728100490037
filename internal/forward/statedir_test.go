package forward

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A queue an earlier version left in the user cache directory is moved
// into the state directory once, and never over a queue already there.
func TestAdoptOldQueue(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("LocalAppData", cache)
	old := oldStateDir()
	if err := os.MkdirAll(filepath.Join(old, "file-0123456789ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(old, "file-0123456789ab", "seg"), []byte("x"), 0o600)
	dir := t.TempDir()
	var said []string
	adoptOldQueue(dir, "file-0123456789ab", func(m string) { said = append(said, m) })
	if _, err := os.Stat(filepath.Join(dir, "file-0123456789ab", "seg")); err != nil || len(said) != 1 || !strings.Contains(said[0], "moved") {
		t.Fatalf("not moved: %v %q", err, said)
	}
	// Nothing left to move, and an existing queue is kept.
	os.MkdirAll(filepath.Join(old, "file-0123456789ab"), 0o700)
	adoptOldQueue(dir, "file-0123456789ab", func(m string) { said = append(said, m) })
	if len(said) != 1 {
		t.Errorf("moved over an existing queue: %q", said)
	}
	if got := DefaultStateDir(); !strings.HasSuffix(got, "queue") {
		t.Errorf("DefaultStateDir = %s", got)
	}
}
