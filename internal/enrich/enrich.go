package enrich

import (
	"errors"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Enricher fills DOS paths, services and account names into events.
// Nil parts are skipped.
type Enricher struct {
	Paths *PathMap
	Procs *Procs
	SIDs  *SIDs
}

// Enrich adds what it can to e and never removes anything: an unmapped
// device path stays as it was.
func (x *Enricher) Enrich(e *event.Event) {
	if x.Paths != nil && strings.HasPrefix(strings.ToLower(e.Executable), `\`) {
		if p, ok := x.Paths.DOSPath(e.Executable); ok {
			e.SetExecutable(p)
		}
	}
	if x.Procs != nil && e.HasPID {
		if pi, ok := x.Procs.Lookup(e.PID, e.Time); ok {
			if e.Executable == "" && pi.Image != "" {
				e.SetExecutable(pi.Image)
			}
			// Only trust the services when the image is the one the event
			// names (a second guard against pid reuse).
			if len(pi.Services) > 0 && (e.Name == "" || strings.EqualFold(e.Name, event.BaseName(pi.Image))) {
				e.Services = pi.Services
			}
		}
	}
	if x.SIDs != nil && e.UserID != "" && e.UserName == "" {
		e.UserName = x.SIDs.Name(e.UserID)
	}
}

// ErrNeedsWindows is returned by the loaders on other systems.
var ErrNeedsWindows = errors.New("enrichment of live events needs Windows")
