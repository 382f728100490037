package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
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

// optionEngine opens the filtering engine to put engine options back;
// tests replace it.
var optionEngine = func() (netevent.OptionStore, io.Closer, error) {
	e, err := wfp.Open(wfp.OpenOptions{})
	if err != nil {
		return nil, nil, err
	}
	return e, e, nil
}

// restoreEngineOptions puts back the engine options that a wfpwatch which
// did not exit cleanly left changed ('audit restore'; with force, also
// those of a running one), and says what it did. Without a snapshot it
// does nothing, not even open the engine.
func restoreEngineOptions(auditState string, force bool, w io.Writer) error {
	sh := engineOptionState(auditState, "audit restore")
	sh.Self = audit.Owner{Command: "audit restore"}
	if _, err := os.Lstat(sh.Path); err != nil {
		return nil
	}
	st, c, err := optionEngine()
	if err != nil {
		return fmt.Errorf("put back the engine options recorded in %s: %w", sh.Path, err)
	}
	defer c.Close()
	done, from, running, err := netevent.RepairOptions(st, sh, force)
	switch {
	case err != nil:
		return fmt.Errorf("put back the engine options recorded in %s: %w", sh.Path, err)
	case len(running) > 0:
		fmt.Fprintf(w, "engine options: left as they are for %s, which still runs and puts them back when it exits (--force writes them back now)\n", running[0])
	case len(done) > 0:
		fmt.Fprintf(w, "engine options changed by %s put back: %s\n", from, netevent.ChangeList(done))
	default:
		fmt.Fprintf(w, "engine options: nothing to put back (changed since by someone else, or already as found)\n")
	}
	return nil
}

// checkBookmark applies the state-file checks to the --bookmark file
// before the Security-log source trusts it (a planted bookmark could skip
// events): its directory is created locked down when missing, and an
// existing file must not be a link or reparse point and must have a
// trusted owner.
func checkBookmark(path string) error {
	if path == "" {
		return nil
	}
	if err := statedir.EnsureFor(path); err != nil {
		return fmt.Errorf("--bookmark: %w", err)
	}
	if err := statedir.CheckFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--bookmark: %w", err)
	}
	return nil
}

// adoptBookmark gives the bookmark file that the source wrote a trusted
// owner (Administrators, when the token made the user its owner), so that
// the next checkBookmark accepts it.
func adoptBookmark(path string, say func(string, ...any)) {
	if path == "" {
		return
	}
	if err := statedir.Adopt(path); err != nil {
		say("warning: --bookmark %s: %v", path, err)
	}
}
