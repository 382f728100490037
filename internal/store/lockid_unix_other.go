//go:build unix && !linux

package store

import (
	"os"
	"syscall"
)

func linkCount(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}
