//go:build unix

package ingest

import (
	"errors"

	"golang.org/x/sys/unix"
)

// unlinkOpen says that an open file can be removed and still used: a
// spool is unlinked as soon as it is created.
const unlinkOpen = true

// freeSpace returns the bytes an unprivileged user may still write in dir.
func freeSpace(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
