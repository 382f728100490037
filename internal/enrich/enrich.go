package enrich

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Enricher fills DOS paths, services and account names into events.
// Nil parts are skipped.
type Enricher struct {
	Paths *PathMap
	Procs *Procs
	SIDs  *SIDs
	// Casing, when set, recovers the real letter case of a DOS path whose
	// file exists (WFP reports paths lower-cased).
	Casing *Casing
}

// Casing caches the real-case form of paths.
type Casing struct {
	Load func(path string) (string, error)
	mu   sync.Mutex
	c    *lru[string, string]
}

// NewCasing returns a casing cache of at most max paths.
func NewCasing(load func(string) (string, error), max int) *Casing {
	return &Casing{Load: load, c: newLRU[string, string](max)}
}

// Fix returns path in its real case, or path unchanged when the file does
// not exist or cannot be opened. Only the case may differ: anything else
// the loader returns (a link target, say) is ignored. A network path is
// never opened (Remote): that can stall for the network's timeouts and
// sends the account's credentials to the server the event names.
func (c *Casing) Fix(path string) string {
	if Remote(path) {
		return path
	}
	key := strings.ToLower(path)
	c.mu.Lock()
	v, ok := c.c.get(key, time.Time{})
	c.mu.Unlock()
	if !ok {
		var err error
		v, err = c.Load(path)
		if err != nil || !strings.EqualFold(v, path) {
			v = ""
		}
		c.mu.Lock()
		c.c.put(key, v, time.Time{})
		c.mu.Unlock()
	}
	if v == "" {
		return path
	}
	return v
}

// Remote reports whether a path (NT device or DOS form) names a file on
// the network: a UNC path (\\server\share, \\?\UNC\…), or a device path of
// the multiple UNC provider (\device\mup\…) or of a network redirector
// (\device\lanmanredirector\…, \device\webdavredirector\…,
// \device\rdpdr\…, any other *redirector), as mapped network drives are.
// Such paths are never opened by enrichment.
func Remote(path string) bool {
	lp := strings.ToLower(path)
	if strings.HasPrefix(lp, `\\`) && !strings.HasPrefix(lp, `\\?\`) && !strings.HasPrefix(lp, `\\.\`) {
		return true // \\server\share
	}
	lp = strings.TrimPrefix(strings.TrimPrefix(lp, `\\?\`), `\\.\`)
	if strings.HasPrefix(lp, `unc\`) {
		return true
	}
	lp = strings.TrimPrefix(lp, `globalroot`) // \\?\GLOBALROOT\Device\…
	if !strings.HasPrefix(lp, `\device\`) {
		return false
	}
	dev, _, _ := strings.Cut(strings.TrimPrefix(lp, `\device\`), `\`)
	return dev == "mup" || dev == "rdpdr" || strings.HasSuffix(dev, "redirector") || strings.HasPrefix(dev, "lanman") || strings.HasSuffix(dev, "minirdr")
}

// Enrich adds what it can to e and never removes anything: an unmapped
// device path stays as it was. It never opens a network path (Remote) and
// never waits on a domain controller (SIDs).
func (x *Enricher) Enrich(e *event.Event) {
	if x.Paths != nil && strings.HasPrefix(strings.ToLower(e.Executable), `\`) {
		if p, ok := x.Paths.DOSPath(e.Executable); ok {
			if x.Casing != nil && !Remote(e.Executable) {
				p = x.Casing.Fix(p)
			}
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
