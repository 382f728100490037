package atomicfile

import (
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
