//go:build !unix && !windows

package ingest

const unlinkOpen = false

// freeSpace is unknown on this system: only the spool budget applies.
func freeSpace(dir string) (uint64, bool) { return 0, false }

// processAlive cannot tell on this system: files are left alone.
func processAlive(pid int) bool { return true }
