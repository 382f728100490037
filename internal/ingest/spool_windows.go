//go:build windows

package ingest

import (
	"golang.org/x/sys/windows"
)

// unlinkOpen is false: Windows cannot remove a file another handle has
// open without FILE_SHARE_DELETE, so a spool is removed when it is closed,
// and sweepSpools removes the ones a crash left.
const unlinkOpen = false

// freeSpace returns the bytes the caller may still write in dir.
func freeSpace(dir string) (uint64, bool) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, false
	}
	return avail, true
}

// processAlive reports whether a process with this pid is still running.
// A process that cannot be opened for another reason (access denied) is
// taken as alive: its files are left alone.
func processAlive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return err != windows.ERROR_INVALID_PARAMETER
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	return code == 259 // STILL_ACTIVE
}
