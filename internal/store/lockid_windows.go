//go:build windows

package store

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockIdentity opens the database file at path (creating it empty when
// new: SQLite takes an empty file as a new database) and locks one byte of
// it far past anything SQLite locks (its lock bytes lie at 1 GiB) or a
// database reaches, without waiting. Byte-range locks belong to the
// handle, so any other open of the same file, under any name (a hard
// link), in this process or another, is refused while the returned file
// is open. The caller owns the file; closing it releases the lock.
func lockIdentity(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	ol := windows.Overlapped{Offset: 0, OffsetHigh: 0x40000000} // byte 2^62
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		f.Close()
		return nil, errLocked
	}
	f.Close()
	return nil, fmt.Errorf("LockFileEx: %w", err)
}
