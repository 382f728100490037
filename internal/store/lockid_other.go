//go:build !linux && !windows

package store

import (
	"fmt"
	"os"
)

// lockIdentity refuses a database file with more than one name (hard
// links): this system has no lock of an open file that leaves SQLite's own
// locks alone, and the lock file, named after the real path, cannot see
// another name of the same file. Symbolic links are resolved by the
// caller.
func lockIdentity(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil // a new file has one name
	}
	if n := linkCount(st); n > 1 {
		return nil, fmt.Errorf("%s has %d names (hard links): a database recorded to under two names is corrupted; record to a copy, or remove the other links", path, n)
	}
	return nil, nil
}
