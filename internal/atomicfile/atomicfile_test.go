package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

func TestWriteReplaces(t *testing.T) {
	dir := wbtest.TempDir(t)
	p := filepath.Join(dir, "sub", "state.json")
	for _, content := range []string{"first", "second, longer content", "3"} {
		if err := Write(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Fatalf("got %q, want %q", got, content)
		}
	}
	ents, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

// TestBeforeRenameFails: a failing BeforeRename keeps the old content and
// leaves no temporary file; without MkdirAll a missing directory is an
// error.
func TestBeforeRenameFails(t *testing.T) {
	dir := wbtest.TempDir(t)
	p := filepath.Join(dir, "state.json")
	if err := Write(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("untrusted owner")
	var seen string
	err := WriteWith(p, []byte("new"), Options{BeforeRename: func(tmp string) error {
		b, _ := os.ReadFile(tmp)
		seen = string(b)
		return boom
	}})
	if !errors.Is(err, boom) || seen != "new" {
		t.Fatalf("err %v, temporary file held %q", err, seen)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("content %q after a failed write", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files left, want 1", len(ents))
	}
	if err := WriteWith(filepath.Join(dir, "missing", "x"), nil, Options{}); err == nil {
		t.Error("no error for a missing directory without MkdirAll")
	}
}
