package netevent

import (
	"errors"
	"fmt"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// OptionStore reads and sets engine options; *wfp.Engine is one.
type OptionStore interface {
	Option(opt uint32) (uint32, error)
	SetOption(opt, val uint32) error
}

// OptionChange is one engine option wfpwatch changed.
type OptionChange struct {
	Option uint32 `json:"option"`
	Old    uint32 `json:"old"`
	New    uint32 `json:"new"`
}

func (c OptionChange) String() string {
	switch c.Option {
	case wfp.OptionCollectNetEvents:
		return fmt.Sprintf("net-event collection (FWPM_ENGINE_COLLECT_NET_EVENTS) %d → %d", c.Old, c.New)
	case wfp.OptionNetEventMatchAnyKeyword:
		return fmt.Sprintf("net-event keywords (FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS) 0x%x → 0x%x", c.Old, c.New)
	}
	return fmt.Sprintf("engine option %d: %d → %d", c.Option, c.Old, c.New)
}

// OptionGuard remembers what EnableCollection changed so that Restore puts
// back exactly that, and nothing else.
type OptionGuard struct {
	store   OptionStore
	Changes []OptionChange
	// CollectionWasOff is true when net-event collection was off before:
	// administrators sometimes turn it off on purpose (it writes
	// wfpdiag.etl), so callers say so on start.
	CollectionWasOff bool

	// With a shared snapshot (Config.Options): the change is recorded on
	// disk and shared with other wfpwatch processes.
	shared  *SharedOptions
	holding bool // this process is a holder of the snapshot
	// Repaired lists what was put back from a snapshot whose holders had
	// all died (RepairedFrom made that change).
	Repaired     []OptionChange
	RepairedFrom audit.Owner
	// SharedWith lists the running wfpwatch processes that already held
	// the change when this one joined it.
	SharedWith []audit.Owner
	// After Restore: StillHeld lists the holders that still need the
	// change (nothing was put back), PutBack what was written.
	StillHeld []audit.Owner
	PutBack   []OptionChange
}

// KeywordsFor returns the net-event keywords a view needs: CAPABILITY_DROP
// always, CLASSIFY_ALLOW and CAPABILITY_ALLOW with permits, and
// PORT_SCANNING_DROP only when asked for (it is noisy).
func KeywordsFor(permits, portScan bool) uint32 {
	k := uint32(wfp.KeywordCapabilityDrop)
	if permits {
		k |= wfp.KeywordClassifyAllow | wfp.KeywordCapabilityAllow
	}
	if portScan {
		k |= wfp.KeywordPortScanningDrop
	}
	return k
}

// EnableCollection turns net-event collection on if it is off, and adds
// the keywords in want that are not set yet. It never touches
// FWPM_ENGINE_MONITOR_IPSEC_CONNECTIONS. On error it restores what it had
// already changed.
func EnableCollection(s OptionStore, want uint32) (*OptionGuard, error) {
	g := &OptionGuard{store: s}
	on, err := s.Option(wfp.OptionCollectNetEvents)
	if err != nil {
		return nil, err
	}
	if on == 0 {
		if err := s.SetOption(wfp.OptionCollectNetEvents, 1); err != nil {
			return nil, err
		}
		g.CollectionWasOff = true
		g.Changes = append(g.Changes, OptionChange{wfp.OptionCollectNetEvents, 0, 1})
	}
	if want != 0 {
		k, err := s.Option(wfp.OptionNetEventMatchAnyKeyword)
		if err != nil {
			return nil, errors.Join(err, g.Restore())
		}
		if k&want != want {
			if err := s.SetOption(wfp.OptionNetEventMatchAnyKeyword, k|want); err != nil {
				return nil, errors.Join(err, g.Restore())
			}
			g.Changes = append(g.Changes, OptionChange{wfp.OptionNetEventMatchAnyKeyword, k, k | want})
		}
	}
	return g, nil
}

// Recheck turns collection back on when another tool turned it off while
// wfpwatch watched, and reports whether it did. Restore still puts back
// the value found at the start.
func (g *OptionGuard) Recheck() (bool, error) {
	on, err := g.store.Option(wfp.OptionCollectNetEvents)
	if err != nil || on != 0 {
		return false, err
	}
	if err := g.store.SetOption(wfp.OptionCollectNetEvents, 1); err != nil {
		return false, err
	}
	return true, nil
}

// Restore puts back what EnableCollection changed, newest first. For the
// keywords it clears only the bits wfpwatch added, keeping any another tool
// set meanwhile; collection is turned off only if wfpwatch turned it on.
// Restore is idempotent.
func (g *OptionGuard) Restore() error {
	if g == nil {
		return nil
	}
	if g.shared != nil {
		if !g.holding {
			return nil
		}
		g.holding, g.Changes = false, nil
		return g.endShared()
	}
	var errs []error
	for i := len(g.Changes) - 1; i >= 0; i-- {
		c := g.Changes[i]
		val := c.Old
		if c.Option == wfp.OptionNetEventMatchAnyKeyword {
			cur, err := g.store.Option(c.Option)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			val = cur &^ (c.New &^ c.Old)
		}
		if err := g.store.SetOption(c.Option, val); err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", c, err))
		}
	}
	g.Changes = nil
	return errors.Join(errs...)
}
