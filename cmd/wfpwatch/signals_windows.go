package main

import (
	"os"
	"syscall"
)

// interruptSignals are the signals that stop a command cleanly: every
// command, so that those which change the host (audit enable/disable/
// restore, fwlog enable/restore, selftest, watch) finish or put the host
// back instead of being cut off. On Windows os.Interrupt covers Ctrl+C and
// Ctrl+Break; Go's runtime reports console close, logoff and shutdown
// (CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT) as SIGTERM and,
// because the signal is caught, holds the console handler while the
// command cleans up (Windows allows about 5 s) instead of letting Windows
// end the process at once.
func interruptSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }
