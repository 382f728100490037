// Package samples finds the shared real-data samples for tests. Only test
// files import it: product code never reads the samples.
//
// The samples (real .evtx files, SIEM exports, firewall logs) live outside
// the repository, in shared/samples beside the checkout; they are never
// copied into it. Tests that use them call Dir, which skips the test with a
// clear message when they are absent. WFPWATCH_SAMPLES overrides the
// location.
package samples

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the samples directory, or skips t when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	d, ok := Find()
	if !ok {
		t.Skip("real-data samples not found (set WFPWATCH_SAMPLES or place shared/samples beside the checkout); skipping")
	}
	return d
}

// Path returns the path of a file under the samples directory, or skips t
// when the directory or the file is absent.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample %s not found: %v; skipping", rel, err)
	}
	return p
}

// Find returns the samples directory and whether it exists: WFPWATCH_SAMPLES
// if set, else the shared/samples directory beside the module root (the directory
// holding go.mod, found by walking up from the working directory).
func Find() (string, bool) {
	if d := os.Getenv("WFPWATCH_SAMPLES"); d != "" {
		st, err := os.Stat(d)
		return d, err == nil && st.IsDir()
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "samples")
			st, err := os.Stat(d)
			return d, err == nil && st.IsDir()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
