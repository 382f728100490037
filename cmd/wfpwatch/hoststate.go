package main

import (
	"path/filepath"

	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
)

// engineOptionState returns the engine-option snapshot that command
// shares with other wfpwatch processes: engine-options.json beside the
// audit snapshot auditState, under the same kind of lock.
func engineOptionState(auditState, command string) *netevent.SharedOptions {
	path := filepath.Join(filepath.Dir(auditState), "engine-options.json")
	return &netevent.SharedOptions{Path: path, Self: auditSelf(command), Alive: auditAlive, Lock: stateLock(path)}
}
