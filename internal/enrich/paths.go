// Package enrich adds what events lack: DOS paths for the NT device paths
// WFP reports, the image and hosted services of a pid (guarded against pid
// reuse), and account names for SIDs. Every lookup is cached and bounded;
// the Windows loaders live in enrich_windows.go, and the logic here is
// tested on any OS with fake loaders.
package enrich

import (
	"strings"
	"sync"
	"time"
)

// Mapping maps an NT device prefix ("\Device\HarddiskVolume3") to a DOS
// path ("C:\" or a mount folder "C:\mnt\data\").
type Mapping struct {
	Device string
	DOS    string
}

// PathMap turns NT device paths into DOS paths. It reloads its table with
// Load when it is older than MaxAge, or when a \device\harddiskvolumeN path
// has no mapping (a volume was mounted since), at most once per MinReload.
type PathMap struct {
	Load      func() ([]Mapping, error)
	MaxAge    time.Duration // default 5 min
	MinReload time.Duration // default 5 s
	now       func() time.Time

	mu     sync.Mutex
	table  []Mapping // lower-cased device, longest first
	loaded time.Time
}

func (m *PathMap) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

func (m *PathMap) reload(now time.Time) {
	maps, err := m.Load()
	m.loaded = now
	if err != nil {
		return
	}
	t := make([]Mapping, 0, len(maps))
	for _, x := range maps {
		d := strings.TrimSuffix(strings.ToLower(x.Device), `\`)
		if d == "" || x.DOS == "" {
			continue
		}
		t = append(t, Mapping{d, x.DOS})
	}
	// Prefer the longest device match, then the shortest DOS path (a
	// drive letter over a mount folder of the same volume).
	for i := 1; i < len(t); i++ {
		for j := i; j > 0 && (len(t[j].Device) > len(t[j-1].Device) || len(t[j].Device) == len(t[j-1].Device) && len(t[j].DOS) < len(t[j-1].DOS)); j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
	m.table = t
}

// DOSPath maps an NT device path to a DOS path. Paths that are already DOS
// paths are returned as they are; `\device\mup\server\share\…` becomes
// `\\server\share\…`; `\??\` prefixes are dropped. ok is false when
// nothing maps, and the path is returned unchanged.
func (m *PathMap) DOSPath(p string) (string, bool) {
	lp := strings.ToLower(p)
	switch {
	case strings.HasPrefix(lp, `\??\`):
		return p[4:], true
	case strings.HasPrefix(lp, `\device\mup\`):
		return `\\` + p[len(`\device\mup\`):], true
	case !strings.HasPrefix(lp, `\device\`):
		return p, len(p) > 2 && (p[1] == ':' || strings.HasPrefix(p, `\\`))
	}
	if m.Load == nil {
		return p, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	maxAge, minReload := m.MaxAge, m.MinReload
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	if minReload <= 0 {
		minReload = 5 * time.Second
	}
	if m.loaded.IsZero() || now.Sub(m.loaded) > maxAge {
		m.reload(now)
	}
	if out, ok := m.match(p, lp); ok {
		return out, true
	}
	if now.Sub(m.loaded) >= minReload {
		m.reload(now)
		if out, ok := m.match(p, lp); ok {
			return out, true
		}
	}
	return p, false
}

func (m *PathMap) match(p, lp string) (string, bool) {
	for _, x := range m.table {
		if strings.HasPrefix(lp, x.Device) && (len(lp) == len(x.Device) || lp[len(x.Device)] == '\\') {
			rest := strings.TrimPrefix(p[len(x.Device):], `\`)
			return strings.TrimSuffix(x.DOS, `\`) + `\` + rest, true
		}
	}
	return "", false
}
