// Package statedir keeps the files that an elevated wfpwatch trusts — the
// audit-policy and engine-option snapshots, the firewall-log snapshot,
// positions and bookmarks, the history database — in a directory that no
// other user can write to, and checks every such file before trusting it.
//
// On Windows the directory is %ProgramData%\wfpwatch. By default any user
// may create files in ProgramData subfolders, so a standard user could
// plant a snapshot that the next elevated run "restores". Ensure therefore
// creates the directory with a protected DACL (SYSTEM and Administrators
// full control, nothing inherited, owner Administrators), re-applies that
// DACL to a directory created earlier with inherited permissions, and
// refuses a directory that is a reparse point (junction, symbolic link) or
// is owned by anyone but SYSTEM or Administrators. ReadFile and CheckFile
// refuse a state file that is a reparse point, has more than one hard link
// or is owned by anyone but SYSTEM or Administrators; the checks are made
// on the open handle, so the file cannot be swapped between check and read.
//
// Elsewhere the directory is the user cache directory's wfpwatch folder,
// kept at mode 0700 and owned by the user; symbolic links and files of
// other owners are refused in the same way.
//
// Every refusal wraps ErrUntrusted and says how to fix it.
package statedir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/atomicfile"
	"github.com/wfpwatch/wfpwatch/internal/filelock"
)

// ErrUntrusted marks a state directory or file that wfpwatch refuses to
// trust (wrong owner, a link or reparse point, not a directory).
var ErrUntrusted = errors.New("untrusted state")

// MaxFileSize bounds what ReadFile reads: state files are a few KB.
const MaxFileSize = 1 << 20

// Default returns the state directory of this system: %ProgramData%\wfpwatch
// on Windows (C:\ProgramData when the variable is unset), the wfpwatch
// folder of the user cache directory elsewhere.
func Default() string { return defaultDir() }

// Path returns the path of the state file name in the default directory.
func Path(name string) string { return filepath.Join(Default(), name) }

// EnsureFor prepares the directory of the state file path: the default
// directory is created locked down or checked (Ensure); another directory
// that does not exist is created locked down as well; an existing one that
// the user chose (with a flag) is left as it is — the file checks of
// ReadFile still apply to what is read from it.
func EnsureFor(path string) error {
	dir := filepath.Dir(path)
	if samePath(dir, Default()) {
		return Ensure(dir)
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return Ensure(dir)
	}
	return nil
}

// CheckDefault applies the state-directory rules to a file that another
// library opens, such as the history database, when it lives in the
// default directory: the directory is ensured (see Ensure) and the file,
// and the files named path+suffix for each suffix (a database's -wal and
// -shm), are checked when they exist (see CheckFile). A file elsewhere,
// chosen by the user, is left alone.
func CheckDefault(path string, suffixes ...string) error {
	if !samePath(filepath.Dir(path), Default()) {
		return nil
	}
	if err := Ensure(filepath.Dir(path)); err != nil {
		return err
	}
	for _, suf := range append([]string{""}, suffixes...) {
		if err := CheckFile(path + suf); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Adopt gives the state file path, written by another package, a trusted
// owner as WriteFile does for its own files (Administrators on Windows
// when the token made the user its owner). A missing file is not an error.
func Adopt(path string) error {
	if _, err := os.Lstat(path); err != nil {
		return nil
	}
	return trustOwner(path)
}

// AdoptDefault gives the files that another library created in the
// default state directory (path and path+suffix, when they exist) a
// trusted owner, as WriteFile does for its own files, so that the next
// CheckDefault accepts them. Files elsewhere are left alone.
func AdoptDefault(path string, suffixes ...string) error {
	if !samePath(filepath.Dir(path), Default()) {
		return nil
	}
	for _, suf := range append([]string{""}, suffixes...) {
		if _, err := os.Lstat(path + suf); err != nil {
			continue
		}
		if err := trustOwner(path + suf); err != nil {
			return err
		}
	}
	return nil
}

// ReadFile returns the content of the state file at path after checking,
// on the open file, that it is a regular file that is not a link or
// reparse point, has one name only, and has a trusted owner. A missing
// file gives an error that wraps fs.ErrNotExist.
func ReadFile(path string) ([]byte, error) {
	f, err := openChecked(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes, which no state file of wfpwatch is: %w; delete it and run again", path, MaxFileSize, ErrUntrusted)
	}
	return b, nil
}

// CheckFile makes the checks of ReadFile without reading (for files opened
// by another library, such as the history database). A missing file gives
// an error that wraps fs.ErrNotExist.
func CheckFile(path string) error {
	f, err := openChecked(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// WriteFile replaces the state file at path with data atomically: it
// writes a temporary file in the same directory, gives it a trusted owner
// (Administrators on Windows, when the process token's default owner is
// the user), flushes it and renames it over path. The directory must exist
// (EnsureFor creates it).
func WriteFile(path string, data []byte) error {
	return atomicfile.WriteWith(path, data, atomicfile.Options{BeforeRename: trustOwner})
}

// Remove deletes the state file at path; a missing file is not an error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// LockTimeout is how long Lock waits for another wfpwatch to release a
// state lock before giving up.
var LockTimeout = 15 * time.Second

// errBusy is what filelock.TryLock returns when another handle holds the
// lock.
var errBusy = filelock.ErrLocked

// Lock takes an exclusive lock on the lock file path (created when
// missing), waiting up to LockTimeout for another process to release it.
// The lock is held by the open file: it ends with unlock, or when the
// process dies, so a crashed wfpwatch never leaves it held. Two Locks in
// the same process on the same path also exclude each other.
func Lock(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	deadline := time.Now().Add(LockTimeout)
	for {
		err := filelock.TryLock(f, 0)
		if err == nil {
			return f.Close, nil // closing the file releases the lock
		}
		if !errors.Is(err, errBusy) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, errBusy) {
				return nil, fmt.Errorf("%s: another wfpwatch has held this lock for %v; if none runs, delete the file and run again", path, LockTimeout)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
