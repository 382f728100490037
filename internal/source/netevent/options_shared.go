package netevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// Engine options persist across BFE restarts and reboots, so what wfpwatch
// changes must be on disk before it is changed: a wfpwatch that is killed
// leaves a snapshot that the next start puts back, as it does for the
// audit policy. Two wfpwatch processes share one change: each is a holder
// of the snapshot, the last live holder puts the options back, and a
// holder that died is dropped (its pid and start time no longer match a
// running process). Every read-modify-write of the snapshot runs under an
// OS lock that all wfpwatch processes take.

// SharedOptions says where the engine-option snapshot lives and who this
// process is. The zero Alive assumes every holder still runs.
type SharedOptions struct {
	// Path is the snapshot file (engine-options.json beside the audit
	// snapshot in the state directory).
	Path string
	// Self identifies this process as a holder.
	Self audit.Owner
	// Alive reports whether a holder still runs (audit.Alive).
	Alive func(audit.Owner) bool
	// Lock takes the lock shared by wfpwatch processes; nil takes none.
	Lock func() (unlock func() error, err error)
	// Now returns the time; nil means time.Now.
	Now func() time.Time
}

// OptionSnapshot is the engine-option snapshot file.
type OptionSnapshot struct {
	Version int           `json:"version"`
	Owner   audit.Owner   `json:"owner"`   // who changed the options first
	Holders []audit.Owner `json:"holders"` // who relies on the change
	Created time.Time     `json:"created"`
	// Changes holds, per option, the value found before wfpwatch's first
	// change (Old) and the value wfpwatch wrote last (New).
	Changes []OptionChange `json:"changes"`
}

const optionSnapshotVersion = 1

// addableKeywords are the keyword bits wfpwatch ever adds.
const addableKeywords = wfp.KeywordCapabilityDrop | wfp.KeywordClassifyAllow | wfp.KeywordCapabilityAllow | wfp.KeywordPortScanningDrop

// ReadOptionSnapshot reads the snapshot at path: (nil, nil) when there is
// none. The file must pass statedir's checks, and it may only record what
// wfpwatch changes: net-event collection turned on from off, and keyword
// bits that wfpwatch adds — never FWPM_ENGINE_MONITOR_IPSEC_CONNECTIONS or
// any other option.
func ReadOptionSnapshot(path string) (*OptionSnapshot, error) {
	b, err := statedir.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read engine-option snapshot: %w", err)
	}
	var s OptionSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("engine-option snapshot %s is damaged (%v): check net-event collection ('netsh wfp show options netevents'), delete the file and run again", path, err)
	}
	if s.Version != optionSnapshotVersion {
		return nil, fmt.Errorf("engine-option snapshot %s has version %d, this wfpwatch reads %d", path, s.Version, optionSnapshotVersion)
	}
	seen := map[uint32]bool{}
	for _, c := range s.Changes {
		ok := !seen[c.Option]
		switch c.Option {
		case wfp.OptionCollectNetEvents:
			ok = ok && c.Old == 0 && c.New == 1
		case wfp.OptionNetEventMatchAnyKeyword:
			ok = ok && c.New&^c.Old&^addableKeywords == 0
		default:
			ok = false
		}
		if !ok {
			return nil, fmt.Errorf("engine-option snapshot %s records a change wfpwatch never makes (%s), so wfpwatch did not write it: %w; check net-event collection ('netsh wfp show options netevents'), delete the file and run again", path, c, statedir.ErrUntrusted)
		}
		seen[c.Option] = true
	}
	return &s, nil
}

func writeOptionSnapshot(path string, s *OptionSnapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := statedir.EnsureFor(path); err != nil {
		return fmt.Errorf("save engine-option snapshot: %w", err)
	}
	if err := statedir.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("save engine-option snapshot: %w", err)
	}
	return nil
}

func (sh *SharedOptions) locked(f func() error) error {
	if sh.Lock == nil {
		return f()
	}
	unlock, err := sh.Lock()
	if err != nil {
		return fmt.Errorf("engine-option snapshot: %w", err)
	}
	defer unlock()
	return f()
}

func (sh *SharedOptions) alive(o audit.Owner) bool {
	if o.Same(sh.Self) || sh.Alive == nil {
		return true
	}
	return sh.Alive(o)
}

func (sh *SharedOptions) live(s *OptionSnapshot) []audit.Owner {
	var out []audit.Owner
	for _, o := range s.Holders {
		if sh.alive(o) {
			out = append(out, o)
		}
	}
	return out
}

func (sh *SharedOptions) now() time.Time {
	if sh.Now != nil {
		return sh.Now().UTC()
	}
	return time.Now().UTC()
}

// putBack restores what the snapshot records, newest first: collection is
// turned off only if it is still on, and only the keyword bits wfpwatch
// added are cleared (bits another tool set meanwhile are kept). It returns
// what it wrote.
func putBack(st OptionStore, s *OptionSnapshot) ([]OptionChange, error) {
	var done []OptionChange
	var errs []error
	for i := len(s.Changes) - 1; i >= 0; i-- {
		c := s.Changes[i]
		cur, err := st.Option(c.Option)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		val := c.Old
		if c.Option == wfp.OptionNetEventMatchAnyKeyword {
			val = cur &^ (c.New &^ c.Old)
		} else if cur != c.New {
			continue // someone else changed it since: leave it
		}
		if val == cur {
			continue
		}
		if err := st.SetOption(c.Option, val); err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", c, err))
			continue
		}
		done = append(done, OptionChange{c.Option, cur, val})
	}
	return done, errors.Join(errs...)
}

// enableShared is EnableCollection with the change recorded on disk first
// and shared with the other wfpwatch processes that hold it. A snapshot
// whose holders all died is put back first (Repaired).
func enableShared(st OptionStore, want uint32, sh *SharedOptions) (*OptionGuard, error) {
	g := &OptionGuard{store: st, shared: sh}
	err := sh.locked(func() error {
		snap, err := ReadOptionSnapshot(sh.Path)
		if err != nil {
			return err
		}
		if snap != nil && len(sh.live(snap)) == 0 {
			done, err := putBack(st, snap)
			if err != nil {
				return fmt.Errorf("put back the engine options left by %s, which did not exit cleanly: %w", snap.Owner, err)
			}
			g.Repaired, g.RepairedFrom = done, snap.Owner
			if err := statedir.Remove(sh.Path); err != nil {
				return err
			}
			snap = nil
		}
		on, err := st.Option(wfp.OptionCollectNetEvents)
		if err != nil {
			return err
		}
		var kw uint32
		if want != 0 {
			if kw, err = st.Option(wfp.OptionNetEventMatchAnyKeyword); err != nil {
				return err
			}
		}
		var todo []OptionChange
		if on == 0 {
			todo = append(todo, OptionChange{wfp.OptionCollectNetEvents, 0, 1})
		}
		if want != 0 && kw&want != want {
			todo = append(todo, OptionChange{wfp.OptionNetEventMatchAnyKeyword, kw, kw | want})
		}
		if snap == nil && len(todo) == 0 {
			return nil // nothing changed, nothing to hold
		}
		if snap == nil {
			snap = &OptionSnapshot{Version: optionSnapshotVersion, Owner: sh.Self, Created: sh.now()}
		} else {
			for _, o := range sh.live(snap) {
				if !o.Same(sh.Self) {
					g.SharedWith = append(g.SharedWith, o)
				}
			}
			snap.Holders = sh.live(snap)
		}
		if !slices.ContainsFunc(snap.Holders, sh.Self.Same) {
			snap.Holders = append(snap.Holders, sh.Self)
		}
		for _, c := range todo {
			i := slices.IndexFunc(snap.Changes, func(x OptionChange) bool { return x.Option == c.Option })
			if i < 0 {
				snap.Changes = append(snap.Changes, c)
			} else {
				snap.Changes[i].New |= c.New // keeps the Old found before the first change
			}
		}
		// On disk before the first write: a crash from here on is
		// repaired at the next start.
		if err := writeOptionSnapshot(sh.Path, snap); err != nil {
			return err
		}
		g.holding = true
		for _, c := range todo {
			if err := st.SetOption(c.Option, c.New); err != nil {
				return err
			}
			if c.Option == wfp.OptionCollectNetEvents {
				g.CollectionWasOff = true
			}
			g.Changes = append(g.Changes, c)
		}
		return nil
	})
	if err != nil {
		if g.holding {
			err = errors.Join(err, g.Restore())
		}
		return nil, err
	}
	return g, nil
}

// endShared lets go of this process's hold on the change: the last live
// holder puts the options back and removes the snapshot.
func (g *OptionGuard) endShared() error {
	sh := g.shared
	return sh.locked(func() error {
		snap, err := ReadOptionSnapshot(sh.Path)
		if err != nil || snap == nil {
			return err
		}
		if !slices.ContainsFunc(snap.Holders, sh.Self.Same) {
			return nil // put back by someone else meanwhile
		}
		var others []audit.Owner
		for _, o := range sh.live(snap) {
			if !o.Same(sh.Self) {
				others = append(others, o)
			}
		}
		if len(others) > 0 {
			snap.Holders = others
			g.StillHeld = others
			return writeOptionSnapshot(sh.Path, snap)
		}
		done, err := putBack(g.store, snap)
		g.PutBack = done
		if err != nil {
			return err
		}
		return statedir.Remove(sh.Path)
	})
}

// enableOptions turns on what the watcher needs, through the shared
// snapshot when Cfg.Options is set, and says what it did.
func (w *Watcher) enableOptions(eng OptionStore, want uint32) (*OptionGuard, error) {
	if w.Cfg.Options == nil {
		return EnableCollection(eng, want)
	}
	g, err := enableShared(eng, want, w.Cfg.Options)
	if err != nil {
		return nil, err
	}
	if len(g.Repaired) > 0 {
		w.logf("netevent: %s ended without putting the engine options back; put back: %s", g.RepairedFrom, changeList(g.Repaired))
	}
	if len(g.SharedWith) > 0 {
		var s []string
		for _, o := range g.SharedWith {
			s = append(s, o.String())
		}
		w.logf("netevent: engine options shared with %s: put back when the last of them exits", strings.Join(s, ", "))
	}
	return g, nil
}

func changeList(cs []OptionChange) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, "; ")
}

// pending reports whether Restore has something to do.
func (g *OptionGuard) pending() bool {
	return g != nil && (len(g.Changes) > 0 || g.holding)
}

// putOptionsBack restores the engine options the watcher changed, if any,
// and says so. When the engine went away it opens a fresh handle to do it,
// and returns the engine in use. It may be called more than once.
func (w *Watcher) putOptionsBack(eng Engine) Engine {
	if !w.Guard.pending() {
		return eng
	}
	if eng == nil {
		if e, err := w.Open(); err == nil {
			eng = e
			w.Guard.store = e
		}
	}
	err := w.Guard.Restore()
	switch {
	case err != nil:
		w.logf("netevent: putting engine options back: %v", err)
	case len(w.Guard.StillHeld) > 0:
		var s []string
		for _, o := range w.Guard.StillHeld {
			s = append(s, o.String())
		}
		w.logf("netevent: engine options left as they are for %s, which still needs them and puts them back when it exits", strings.Join(s, ", "))
	default:
		w.logf("netevent: engine options put back as found")
	}
	return eng
}

// RepairOptions is 'wfpwatch audit restore' for the engine options: it
// puts back what the snapshot at sh.Path records and removes it, when no
// holder still runs — or, with force, whoever holds it (a holder that
// then exits finds nothing left to put back). It returns what it wrote,
// who had made the change, and the holders still running when it left the
// options alone. No snapshot gives all zero.
func RepairOptions(st OptionStore, sh *SharedOptions, force bool) (done []OptionChange, from audit.Owner, running []audit.Owner, err error) {
	err = sh.locked(func() error {
		snap, err := ReadOptionSnapshot(sh.Path)
		if err != nil || snap == nil {
			return err
		}
		from = snap.Owner
		if live := sh.live(snap); len(live) > 0 && !force {
			running = live
			return nil
		}
		done, err = putBack(st, snap)
		if err != nil {
			return err
		}
		return statedir.Remove(sh.Path)
	})
	return done, from, running, err
}

// ChangeList formats changes for a message.
func ChangeList(cs []OptionChange) string { return changeList(cs) }
