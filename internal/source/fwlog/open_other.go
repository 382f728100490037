//go:build !windows

package fwlog

import "os"

// openShared opens path for reading. On Unix, renaming or deleting an open
// file is always allowed. The caller owns and closes the returned file.
func openShared(path string) (*os.File, error) { return os.Open(path) }
