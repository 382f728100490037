package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProblemLinesAreTerminalSafe: a hostile archive member name (ESC,
// CSI, bidi override, newline) reaches standard error escaped.
func TestProblemLinesAreTerminalSafe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evidence.zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	name := "x\x1b]0;pwned\x07\u009b2J\u202egpj.xml\nwarning: fake"
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("this is not an event log\n"))
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	runAnalyze(context.Background(), []string{"-v", path}, &out, &errOut)
	s := errOut.String()
	if !strings.Contains(s, "gpj.xml") {
		t.Fatalf("the member is not named on stderr:\n%s", s)
	}
	if strings.ContainsAny(s, "\x1b\x07\u009b\u202e") {
		t.Errorf("raw control characters on stderr: %q", s)
	}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(l, "warning: fake") {
			t.Errorf("a member name forged a line of its own: %q", s)
		}
	}
}
