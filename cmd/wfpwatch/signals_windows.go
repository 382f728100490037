package main

import "os"

// interruptSignals are the signals that stop a command cleanly. On Windows,
// os.Interrupt covers Ctrl+C and Ctrl+Break; console close and service stop
// are handled by the commands that change the host.
func interruptSignals() []os.Signal { return []os.Signal{os.Interrupt} }
