//go:build unix

package orient_test

import "syscall"

// cpuSeconds returns the user+system CPU time of the process so far, or
// -1 when unknown.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
