//go:build windows

package store

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive byte-range lock on f without waiting
// (LockFileEx with LOCKFILE_FAIL_IMMEDIATELY). The locked byte lies far
// past the end of the file, which Windows allows, so that another process
// can still read the pid at the start. The lock belongs to this handle:
// another handle, in this process or another, cannot take it while f is
// open.
func tryLock(f *os.File) error {
	ol := windows.Overlapped{Offset: 0, OffsetHigh: 1} // byte 4 GiB
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return errLocked
	}
	return fmt.Errorf("LockFileEx: %w", err)
}
