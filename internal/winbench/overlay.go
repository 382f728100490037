package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Go 1.26's os.RemoveAll (and so t.TempDir's cleanup) deletes files with
// NtSetInformationFile(FileDispositionInformationEx). Wine 8 does not
// implement that information class and answers STATUS_NOT_IMPLEMENTED, which
// Go's internal/syscall/windows.Deleteat does not treat as "not supported":
// every test that uses t.TempDir fails under Wine with "unlinkat ...:
// Invalid function". The bench builds the test binaries with a -overlay that
// adds STATUS_NOT_IMPLEMENTED (and STATUS_INVALID_DEVICE_REQUEST) to the
// statuses for which Deleteat falls back to FileDispositionInfo, which Wine
// has. On Windows neither status is returned for this call, so the patched
// code behaves as the original there; it is only ever built into bench
// binaries.
const (
	deleteatFile  = "src/internal/syscall/windows/at_windows.go"
	deleteatCase  = "\tcase STATUS_INVALID_INFO_CLASS, // the operating system doesn't support FileDispositionInformationEx\n"
	deleteatExtra = "\t\tNTStatus(0xC0000002), // STATUS_NOT_IMPLEMENTED: Wine 8 (winbench overlay, docs/winbench.md)\n" +
		"\t\tNTStatus(0xC0000010), // STATUS_INVALID_DEVICE_REQUEST (winbench overlay)\n"
)

// deleteatOverlay writes the overlay into cache and returns the path of its
// JSON file, or "" and a note when this Go's source does not look as
// expected (then t.TempDir cleanup may fail under Wine; wbtest.TempDir still
// works).
func deleteatOverlay(ctx context.Context, cache string) (path, note string, err error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env GOROOT: %w", err)
	}
	orig := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(deleteatFile))
	src, err := os.ReadFile(orig)
	if err != nil {
		return "", fmt.Sprintf("no overlay (%v): t.TempDir cleanup may fail under Wine; use wbtest.TempDir", err), nil
	}
	if strings.Count(string(src), deleteatCase) != 1 {
		return "", "no overlay (this Go's Deleteat changed): t.TempDir cleanup may fail under Wine; use wbtest.TempDir", nil
	}
	patched := strings.Replace(string(src), deleteatCase, deleteatCase+deleteatExtra, 1)
	dir := filepath.Join(cache, "overlay-"+hashOf(orig, patched))
	file := filepath.Join(dir, "at_windows.go")
	js := filepath.Join(dir, "overlay.json")
	if _, err := os.Stat(js); err == nil {
		return js, "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	// Write both files to temporary names and rename them, so that a
	// concurrent run never reads a half-written file.
	if err := writeAtomic(file, []byte(patched)); err != nil {
		return "", "", err
	}
	b, err := json.Marshal(map[string]map[string]string{"Replace": {orig: file}})
	if err != nil {
		return "", "", err
	}
	return js, "", writeAtomic(js, b)
}

// writeAtomic writes data to a temporary file of its own next to path and
// renames it to path.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
