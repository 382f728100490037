//go:build !windows

package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func defaultDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "wfpwatch")
}

func samePath(a, b string) bool { return filepath.Clean(a) == filepath.Clean(b) }

// Ensure creates dir with mode 0700 when it is missing (its parents with
// the usual 0755), or checks it: it must be a real directory, not a
// symbolic link, and owned by the user running wfpwatch; group and other
// permissions are then removed.
func Ensure(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create the state directory: %w", err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("state directory %s is a symbolic link, which wfpwatch does not follow: %w; remove the link (rm %s) and run again", dir, ErrUntrusted, dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state directory %s is not a directory: %w; remove it and run again", dir, ErrUntrusted)
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("state directory %s is owned by uid %d, not by you (uid %d), so another user may have planted files in it: %w; check it, then remove it (rm -r %s) and run again", dir, uid, os.Geteuid(), ErrUntrusted, dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restrict the state directory %s to its owner: %w", dir, err)
		}
	}
	return nil
}

// openChecked opens path without following a symbolic link and checks
// the open file: a regular file with one link, owned by this user.
func openChecked(path string) (*os.File, error) {
	f, err := openNoFollow(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if isLinkErr(path) {
			return nil, fmt.Errorf("state file %s is a symbolic link, which wfpwatch does not follow: %w; remove it and run again", path, ErrUntrusted)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("state file %s is not a regular file: %w; remove it and run again", path, ErrUntrusted)
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("state file %s is owned by uid %d, not by you (uid %d), so wfpwatch did not write it: %w; check it, then remove it (rm %s) and run again", path, uid, os.Geteuid(), ErrUntrusted, path)
	}
	if n, ok := links(fi); ok && n > 1 {
		f.Close()
		return nil, fmt.Errorf("state file %s has %d hard links, which no file of wfpwatch has: %w; remove it and run again", path, n, ErrUntrusted)
	}
	return f, nil
}

func isLinkErr(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// trustOwner has nothing to do here: a file created by this process is
// owned by its effective user.
func trustOwner(string) error { return nil }
