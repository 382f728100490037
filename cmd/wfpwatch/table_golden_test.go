package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// analyzeAt runs analyze as if stdout were a terminal of the given width
// (0: not a terminal).
func analyzeAt(t *testing.T, width int, args ...string) string {
	t.Helper()
	displayLocation = time.UTC
	testWidth = width
	defer func() { testWidth = 0 }()
	var out, errOut bytes.Buffer
	if err := runAnalyze(context.Background(), append([]string{"-q"}, args...), &out, &errOut); err != nil {
		if _, ok := err.(exitError); !ok {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
	}
	return out.String()
}

// checkFits checks that every line fits the width and that no port was
// cut (an endpoint cell never ends in "…").
func checkFits(t *testing.T, out string, width int) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(l); width > 0 && n > width {
			t.Errorf("width %d: line of %d runes: %q", width, n, l)
		}
		for _, f := range strings.Fields(l) {
			if strings.HasSuffix(f, "…") && strings.Contains(f, ":") && !strings.Contains(f, "@") && !strings.Contains(f, "default:") {
				t.Errorf("width %d: an endpoint lost its port: %q in %q", width, f, l)
			}
		}
	}
}

func TestAnalyzeTableWidths(t *testing.T) {
	for _, width := range []int{80, 120, 200} {
		name := fmt.Sprintf("analyze-table-%d.txt", width)
		t.Run(name, func(t *testing.T) {
			out := analyzeAt(t, width, "--packets", "--permits", fixture)
			checkFits(t, out, width)
			golden(t, name, []byte(out))
		})
	}
	t.Run("not a terminal cuts nothing", func(t *testing.T) {
		out := analyzeAt(t, 0, "--packets", "--permits", fixture)
		if strings.Contains(out, "…") {
			t.Errorf("cut without a terminal:\n%s", out)
		}
		wide := analyzeAt(t, 80, "--wide", "--packets", "--permits", fixture)
		if strings.Contains(wide, "…") || !strings.Contains(wide, `C:\program files\contoso\agent.exe`) {
			t.Errorf("--wide cut or did not show the path:\n%s", wide)
		}
	})
}

// TestSamplesGolden keeps the table (three widths), JSON, CSV and summary
// of every real sample stable. The samples are not part of the
// repository, so neither is their output: the golden file holds its
// SHA-256 and line count (go test -update rewrites it; a change prints
// the output's start).
func TestSamplesGolden(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the golden hashes are of the output on Unix: file paths in log.file.path differ on Windows")
	}
	dir := samples.Dir(t)
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	var got strings.Builder
	outputs := map[string]string{}
	for _, path := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator)))
		for _, v := range []struct {
			name  string
			width int
			args  []string
		}{
			{"table80", 80, nil}, {"table120", 120, nil}, {"table200", 200, nil},
			{"json", 0, []string{"--format", "json"}}, {"csv", 0, []string{"--format", "csv"}},
			{"summary", 0, []string{"--summary"}},
		} {
			out := analyzeAt(t, v.width, append(append([]string{"--packets", "--permits"}, v.args...), path)...)
			// log.file.path names where the samples are on this machine:
			// the golden file must not.
			out = strings.ReplaceAll(out, dir, "$SAMPLES")
			if v.width > 0 {
				checkFits(t, out, v.width)
			}
			sum := sha256.Sum256([]byte(out))
			key := rel + " " + v.name
			outputs[key] = out
			fmt.Fprintf(&got, "%s %s %d\n", key, hex.EncodeToString(sum[:8]), strings.Count(out, "\n"))
		}
	}
	path := filepath.Join("testdata", "samples.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	wl := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		f := strings.Fields(l)
		if len(f) == 4 {
			wl[f[0]+" "+f[1]] = l
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(got.String()), "\n") {
		f := strings.Fields(l)
		key := f[0] + " " + f[1]
		if wl[key] != l {
			out := outputs[key]
			if len(out) > 3000 {
				out = out[:3000] + "…"
			}
			t.Errorf("%s changed: %q, golden %q (go test -update after checking):\n%s", key, l, wl[key], out)
		}
	}
}
