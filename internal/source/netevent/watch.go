package netevent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// Filter is the part of the user's filters that the engine can apply
// itself: it becomes FWPM_NET_EVENT_ENUM_TEMPLATE0 conditions, so fewer
// events cross into wfpwatch. Callers still apply their full filters to
// what arrives.
type Filter struct {
	Protocol      uint8
	HasProtocol   bool
	LocalAddr     netip.Addr
	RemoteAddr    netip.Addr
	LocalPort     uint16
	HasLocalPort  bool
	RemotePort    uint16
	HasRemotePort bool
	AppID         []byte // an FWP app id (wfp.AppIDFromFileName of a full path)
	UserSID       []byte // a binary SID
}

// Conditions returns the template conditions for f. Address conditions
// of IPv4 carry the address in host order as FWP_UINT32; IPv6 as
// FWP_BYTE_ARRAY16.
func (f Filter) Conditions() []wfp.Condition {
	var c []wfp.Condition
	if f.HasProtocol {
		c = append(c, wfp.Condition{Field: wfp.CondIPProtocol, Type: wfp.TypeUint8, U: uint64(f.Protocol)})
	}
	addr := func(field wfp.GUID, a netip.Addr) {
		if !a.IsValid() {
			return
		}
		if a.Is4() || a.Is4In6() {
			b := a.Unmap().As4()
			c = append(c, wfp.Condition{Field: field, Type: wfp.TypeUint32, U: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])})
			return
		}
		b := a.As16()
		c = append(c, wfp.Condition{Field: field, Type: wfp.TypeByteArray16, B: b[:]})
	}
	addr(wfp.CondIPLocalAddress, f.LocalAddr)
	addr(wfp.CondIPRemoteAddress, f.RemoteAddr)
	if f.HasLocalPort {
		c = append(c, wfp.Condition{Field: wfp.CondIPLocalPort, Type: wfp.TypeUint16, U: uint64(f.LocalPort)})
	}
	if f.HasRemotePort {
		c = append(c, wfp.Condition{Field: wfp.CondIPRemotePort, Type: wfp.TypeUint16, U: uint64(f.RemotePort)})
	}
	if len(f.AppID) > 0 {
		c = append(c, wfp.Condition{Field: wfp.CondALEAppID, Type: wfp.TypeByteBlob, B: f.AppID})
	}
	if len(f.UserSID) > 0 {
		c = append(c, wfp.Condition{Field: wfp.CondALEUserID, Type: wfp.TypeSID, B: f.UserSID})
	}
	return c
}

// Engine is what the watcher needs of the filtering engine. On Windows it
// is *wfp.Engine behind a thin adapter; tests use a fake.
type Engine interface {
	OptionStore
	SubscribeNetEvents(n int, conds []wfp.Condition, fn func(evt uintptr)) (io.Closer, error)
	EnumNetEvents(n int, start, end time.Time, conds []wfp.Condition, fn func(evt uintptr)) error
	Close() error
}

// Config says what to watch and how.
type Config struct {
	Filter   Filter
	Permits  bool          // also CLASSIFY_ALLOW / CAPABILITY_ALLOW
	PortScan bool          // opt in to port-scanning drops (noisy)
	Since    time.Duration // also read the engine's recent history (it keeps ~100–150 events)
	// Interval is how often the watchdog checks the engine (default 10 s).
	Interval time.Duration
	// Options, when set, records the engine options changed in a snapshot
	// on disk (repaired at the next start after a crash) shared with other
	// wfpwatch processes; nil keeps the change in memory only.
	Options *SharedOptions
	// Log receives what the user should know: changes to the host, version
	// fallbacks, resubscriptions. Nil discards.
	Log func(format string, args ...any)
	// Backoff is the first retry delay; it doubles up to 30 s (default
	// 500 ms).
	Backoff time.Duration
	// OnSubscribed, when set, is called each time a subscription is in
	// place, with the struct version it delivers.
	OnSubscribed func(v Version)
	// Buffer is the event queue between the engine's callback thread and
	// the consumer (default 4096); events beyond it are counted as lost.
	Buffer int
}

// Watcher subscribes to net events and keeps the subscription alive.
// Build one with NewWatcher (Windows) or with its fields (tests).
type Watcher struct {
	Open         func() (Engine, error)
	HasSubscribe func(n int) bool // export present (LazyProc.Find)
	HasEnum      func(n int) bool
	Mem          Memory
	Cfg          Config

	// Version is the FWPM_NET_EVENT struct version in use, once subscribed.
	Version atomic.Int32
	// Lost counts events dropped because the queue was full.
	Lost atomic.Uint64
	// Resubscribes counts watchdog recoveries.
	Resubscribes atomic.Uint64
	// Guard is what was changed on the host, once enabled.
	Guard *OptionGuard
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Cfg.Log != nil {
		w.Cfg.Log(format, args...)
	}
}

// pickVersion returns the newest FwpmNetEventSubscribe<n> the DLL exports.
func (w *Watcher) pickVersion() (int, error) {
	for n := 4; n >= 0; n-- {
		if w.HasSubscribe(n) {
			return n, nil
		}
	}
	return 0, fmt.Errorf("FwpmNetEventSubscribe0..4: %w", wfp.ErrNoExport)
}

// retryable reports whether a failure is one the watchdog waits out: the
// engine not up yet at boot, access denied after resume, a lost RPC link,
// a dead handle.
func retryable(err error) bool {
	switch wfp.Status(err) {
	case wfp.ErrEptNotRegistered, wfp.ErrAccessDenied, wfp.ErrRPCServerUnavailable, wfp.ErrRPCCallCancelled, wfp.ErrInvalidHandle:
		return true
	}
	return false
}

// Run opens the engine, turns on what is off, reads history when asked,
// subscribes to the newest version available and emits decoded events
// until ctx ends; then it unsubscribes and restores the engine options it
// changed. emit is called from Run's goroutine only.
func (w *Watcher) Run(ctx context.Context, emit func(*event.Event)) error {
	cfg := w.Cfg
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 4096
	}
	n, err := w.pickVersion()
	if err != nil {
		return err
	}
	if n < 4 {
		w.logf("netevent: FwpmNetEventSubscribe%d is the newest this Windows has; using FWPM_NET_EVENT%d", n, n+1)
	}
	w.Version.Store(int32(n + 1))
	conds := cfg.Filter.Conditions()
	queue := make(chan event.Event, cfg.Buffer)
	var cbMu sync.Mutex // the engine may call back on several threads
	cb := func(evt uintptr) {
		cbMu.Lock()
		defer cbMu.Unlock()
		var e event.Event
		if err := Decode(SubscribeVersion(n), w.Mem, uint64(evt), &e); err != nil {
			return
		}
		select {
		case queue <- e:
		default:
			w.Lost.Add(1)
		}
	}

	var eng Engine
	var sub io.Closer
	defer func() {
		if sub != nil {
			sub.Close()
		}
		eng = w.putOptionsBack(eng)
		if eng != nil {
			eng.Close()
		}
	}()
	connect := func(first bool) error {
		if sub != nil {
			sub.Close()
			sub = nil
		}
		if eng != nil {
			eng.Close()
			eng = nil
		}
		e, err := w.Open()
		if err != nil {
			return err
		}
		eng = e
		if first {
			g, err := w.enableOptions(eng, KeywordsFor(cfg.Permits, cfg.PortScan))
			if err != nil {
				return err
			}
			w.Guard = g
			if g.CollectionWasOff {
				w.logf("netevent: net-event collection was OFF on this host (an administrator may have turned it off on purpose); turned it on for this run, it will be put back on exit")
			}
			for _, c := range g.Changes {
				w.logf("netevent: changed %s; it will be put back on exit", c)
			}
		} else if w.Guard != nil {
			w.Guard.store = eng
		}
		if first && cfg.Since > 0 && w.HasEnum != nil && w.HasEnum(n+1) {
			now := time.Now()
			err := eng.EnumNetEvents(n+1, now.Add(-cfg.Since), now, conds, func(evt uintptr) {
				var e event.Event
				if Decode(Version(n+1), w.Mem, uint64(evt), &e) == nil {
					emit(&e)
				}
			})
			if err != nil {
				w.logf("netevent: reading recent history: %v", err)
			}
		}
		s, err := eng.SubscribeNetEvents(n, conds, cb)
		if err != nil {
			return err
		}
		sub = s
		if cfg.OnSubscribed != nil {
			cfg.OnSubscribed(SubscribeVersion(n))
		}
		return nil
	}
	// First connection: wait out a boot-time engine, give up on others.
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	backoff := cfg.Backoff
	denied := 0
	for first := true; ; {
		err := connect(first)
		if err == nil {
			break
		}
		if !retryable(err) {
			return err
		}
		// Before the first subscription, ACCESS_DENIED most likely means
		// "not elevated": give up after a few tries (the error says to run
		// as administrator). Later it means sleep/resume, and is waited out.
		if wfp.Status(err) == wfp.ErrAccessDenied {
			if denied++; denied > 3 {
				return err
			}
		}
		if first && w.Guard != nil {
			first = false
		}
		w.logf("netevent: %v; retrying in %v", err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The host first (Windows gives a closing console about
			// 5 s), then the events still queued.
			eng = w.putOptionsBack(eng)
			for {
				select {
				case e := <-queue:
					emit(&e)
				default:
					return nil
				}
			}
		case e := <-queue:
			if ctx.Err() != nil { // stopping: the host before a (slow) output
				eng = w.putOptionsBack(eng)
			}
			emit(&e)
		case <-tick.C:
			did, err := w.Guard.Recheck()
			if did {
				w.logf("netevent: another tool turned net-event collection off; turned it back on (it will be put back as found at start)")
			}
			if err == nil {
				continue
			}
			if !retryable(err) {
				w.logf("netevent: engine check: %v", err)
				continue
			}
			w.logf("netevent: subscription lost (%v); resubscribing", err)
			for {
				if err = connect(false); err == nil {
					w.Resubscribes.Add(1)
					w.logf("netevent: resubscribed")
					break
				}
				w.logf("netevent: resubscribe: %v; retrying in %v", err, backoff)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 30*time.Second)
			}
			backoff = cfg.Backoff
		}
	}
}

// ErrNeedsWindows is returned by NewWatcher on other systems.
var ErrNeedsWindows = errors.New("live net events need Windows: on other systems use 'wfpwatch analyze' on saved files")
