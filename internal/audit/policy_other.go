//go:build !windows

package audit

import (
	"os"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// System returns ErrNeedsWindows: audit policy exists only on Windows.
func System() (Policy, error) {
	return nil, ErrNeedsWindows
}

var started = time.Now().UTC()

// Self returns the Owner describing this process.
func Self(command string) Owner {
	return Owner{Command: command, PID: os.Getpid(), Started: started}
}

// Alive reports whether the process of o still runs. Without Windows there
// is no audit policy to own, so it only checks this process.
func Alive(o Owner) bool {
	return o.PID == os.Getpid() && o.Started.Equal(started)
}

// DefaultStatePath is where the snapshot would live (see statedir).
func DefaultStatePath() string { return statedir.Path("audit-snapshot.json") }
