//go:build !windows

package main

import (
	"os"
	"syscall"
)

// interruptSignals are the signals that stop a command cleanly.
func interruptSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }
