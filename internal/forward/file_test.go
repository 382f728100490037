package forward

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFileRotates(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "wfp.ndjson")
	fw, err := Open([]string{"file://" + filepath.ToSlash(out) + "?max-size=20000&max-files=100"}, Options{StateDir: filepath.Join(dir, "q")})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if err := fw.Write(testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(out + "*")
	if len(files) < 5 {
		t.Fatalf("%d files, want rotation", len(files))
	}
	for _, f := range files {
		fi, _ := os.Stat(f)
		if fi.Size() > 20000 {
			t.Errorf("%s is %d bytes, more than max-size", f, fi.Size())
		}
	}
	if d, lines := countIDs(t, out+"*"); d != n || lines != n {
		t.Fatalf("%d distinct ids in %d lines, want %d", d, lines, n)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(b), `{"@timestamp":"2026-01-02T03:04:05`) || !strings.Contains(string(b), `"event":{"id":"`) {
		t.Fatalf("not ECS NDJSON with event.id: %.200s", b)
	}
}

// The same event gets the same id, different events different ids.
func TestIDStable(t *testing.T) {
	a, b := testEvent(1).AppendJSON(nil), testEvent(1).AppendJSON(nil)
	if ID(a) != ID(b) || ID(a) == ID(testEvent(2).AppendJSON(nil)) {
		t.Fatal("event.id is not a function of the event")
	}
}
