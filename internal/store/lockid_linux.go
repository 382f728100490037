//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// identityByte is the byte of the database file the identity lock covers:
// far past anything SQLite locks (its lock bytes lie at 1 GiB) or a
// database reaches.
const identityByte = 1 << 62

// lockIdentity opens the database file at path (creating it empty when
// new: SQLite takes an empty file as a new database) and takes an
// open-file-description lock on one byte of it without waiting. Such locks
// belong to the open file, not the process, and do not touch SQLite's own
// POSIX locks (other bytes), so any open of the same file, under any
// name, in this process or another, is refused while the returned file is
// open. The caller owns the file; closing it releases the lock.
func lockIdentity(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: identityByte, Len: 1}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EACCES):
		f.Close()
		return nil, errLocked
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOLCK), errors.Is(err, unix.ENOSYS):
		// A file system without these locks: the lock file still
		// holds for every name that resolves to one path.
		f.Close()
		return nil, nil
	}
	f.Close()
	return nil, fmt.Errorf("fcntl(F_OFD_SETLK): %w", err)
}
