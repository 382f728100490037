package main

import (
	"path/filepath"
	"sync"

	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
)

// engineOptionState returns the engine-option snapshot that command
// shares with other wfpwatch processes: engine-options.json beside the
// audit snapshot auditState, under the same kind of lock.
func engineOptionState(auditState, command string) *netevent.SharedOptions {
	path := filepath.Join(filepath.Dir(auditState), "engine-options.json")
	return &netevent.SharedOptions{Path: path, Self: auditSelf(command), Alive: auditAlive, Lock: stateLock(path)}
}

// hostRestorer puts back what a command changed on the host, once, before
// its outputs are drained and closed: a console being closed gives the
// process about 5 s, and the host matters more than the last lines.
// Functions run newest first, like defers.
type hostRestorer struct {
	once sync.Once
	mu   sync.Mutex
	fns  []func()
}

// add registers f to run at restore.
func (h *hostRestorer) add(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, f)
}

// restore runs the registered functions the first time it is called, and
// waits for that run when called again meanwhile.
func (h *hostRestorer) restore() {
	h.once.Do(func() {
		h.mu.Lock()
		fns := h.fns
		h.mu.Unlock()
		for i := len(fns) - 1; i >= 0; i-- {
			fns[i]()
		}
	})
}
