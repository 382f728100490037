// Package filelock takes an exclusive lock on an open file without
// waiting: flock on Unix, LockFileEx on Windows. The lock belongs to the
// open file (the handle): a second open of the same file, in this process
// or another, cannot take it while the first is open, and closing the file
// releases it, also when the process dies.
package filelock

import "errors"

// ErrLocked is what TryLock returns when another open file holds the lock.
var ErrLocked = errors.New("locked")
