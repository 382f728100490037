// Package wbtest holds the helpers that Windows tests use to run under the
// Windows ABI bench (go run ./internal/winbench) as well as on Windows.
//
// It has no build constraints and imports nothing Windows-specific, so any
// test file may use it.
package wbtest

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// EnvVar is the environment variable the bench sets to 1 for the test
// binaries it runs under Wine, where the fake DLLs are installed.
const EnvVar = "WFPWATCH_WINBENCH"

// Enabled reports whether the test binary runs under the bench.
func Enabled() bool { return os.Getenv(EnvVar) == "1" }

// Need skips t unless the test binary runs under the bench: use it in tests
// that call the fake DLLs (which real Windows does not have).
func Need(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("needs the fake DLLs of the Windows ABI bench: go run ./internal/winbench")
	}
}

// TempDir returns a new temporary directory that is removed when t ends.
// Go 1.26's os.RemoveAll deletes with
// NtSetInformationFile(FileDispositionInformationEx), which Wine 8 does not
// implement ("Invalid function"), so t.TempDir's cleanup fails under Wine
// unless the bench's Deleteat overlay is used (it is by default). TempDir
// works either way: it falls back to removing one file at a time with
// os.Remove (DeleteFileW / RemoveDirectoryW).
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wfpwatch-test-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() {
		if err := RemoveAll(dir); err != nil {
			t.Errorf("TempDir cleanup: %v", err)
		}
	})
	return dir
}

// RemoveAll is os.RemoveAll that also works under Wine 8: when os.RemoveAll
// fails it removes what is left file by file, deepest first. Like
// os.RemoveAll it returns nil when path does not exist.
func RemoveAll(path string) error {
	err := os.RemoveAll(path)
	if err == nil {
		return nil
	}
	var paths []string
	werr := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if errors.Is(werr, fs.ErrNotExist) {
		return nil
	}
	if werr != nil {
		return werr
	}
	for i := len(paths) - 1; i >= 0; i-- {
		if rerr := os.Remove(paths[i]); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return rerr
		}
	}
	return nil
}

// childEnv names the test a child process started by Subprocess runs.
const childEnv = "WFPWATCH_WINBENCH_CHILD"

// DisableEnv is the variable the fakes read when they load (see
// wfpwatch_fake.h): a comma-separated list of dll!Export names to switch
// off, e.g. "fwpuclnt!FwpmNetEventSubscribe4".
const DisableEnv = "WFPWATCH_FAKE_DISABLE"

// Subprocess runs the current test again in a child process with env
// ("NAME=value") added, and reports whether this is the parent. Use it for
// what a DLL reads once when it loads, such as DisableEnv:
//
//	func TestFallback(t *testing.T) {
//		wbtest.Need(t)
//		if wbtest.Subprocess(t, wbtest.DisableEnv+"=fwpuclnt!FwpmNetEventSubscribe4") {
//			return // the child ran the test and passed
//		}
//		// the child: the fake was loaded without FwpmNetEventSubscribe4
//	}
//
// In the parent, Subprocess fails t with the child's output when the child
// fails. In the child it returns false and the test goes on.
func Subprocess(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return false
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("Subprocess: %v", err)
	}
	cmd := exec.Command(exe, "-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process (%s): %v\n%s", strings.Join(env, " "), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) && !strings.Contains(string(out), "--- SKIP: "+t.Name()) {
		t.Fatalf("child process (%s) did not run %s:\n%s", strings.Join(env, " "), t.Name(), out)
	}
	return true
}
