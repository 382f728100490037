// Package atomicfile replaces small state files (audit-policy snapshots,
// event-log bookmarks) so that a crash at any moment leaves either the old
// or the new content, never a torn file.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces the file at path with data: it writes a temporary file in
// the same directory, flushes it to disk, and renames it over path (on
// Windows os.Rename uses MoveFileEx with MOVEFILE_REPLACE_EXISTING). The
// directory is created when missing.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteWith(path, data, Options{Perm: perm, MkdirAll: true})
}

// Options say how WriteWith writes.
type Options struct {
	// Perm is the file's mode (on Windows only its read-only bit counts);
	// 0 keeps the temporary file's 0600.
	Perm os.FileMode
	// MkdirAll creates the directory (0755) when it is missing.
	MkdirAll bool
	// BeforeRename, when not nil, runs on the written and closed temporary
	// file before it replaces path (package statedir gives it a trusted
	// owner there); an error leaves path as it was.
	BeforeRename func(tmp string) error
}

// WriteWith is Write with options. Whatever fails, the temporary file is
// removed and path keeps its old content.
func WriteWith(path string, data []byte, o Options) error {
	dir := filepath.Dir(path)
	if o.MkdirAll {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create a temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if o.Perm != 0 {
		// Best effort: on Windows Chmod only maps the read-only bit.
		_ = f.Chmod(o.Perm)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if o.BeforeRename != nil {
		if err := o.BeforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	ok = true
	return nil
}
