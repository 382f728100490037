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
	// OnGap, when set, is told about every stretch of time in which the
	// subscription could not deliver: a lost engine (BFE restart) or a
	// subscription that died silently. Run also logs it.
	OnGap func(Gap)
	// DeliveryLag is how long the engine may take to hand an event to the
	// subscription (default 2 s): the watchdog's comparison with the
	// engine's stored events leaves the last DeliveryLag out.
	DeliveryLag time.Duration

	// onReconnect is called after the engine was reopened (Stream uses it
	// to reopen its resolver's handle too).
	onReconnect func(cause error)
}

// Gap is a stretch of time in which net events may have been missed.
type Gap struct {
	From, To time.Time
	// Reason says what happened, for the user.
	Reason string
	// Replayed is the number of the engine's stored events of the
	// stretch that were read back (FwpmNetEventEnum) and handed on; the
	// engine keeps only a small circular buffer, so more may be lost.
	Replayed int
}

func (g Gap) String() string {
	return fmt.Sprintf("gap in net events %s – %s: %s; %d events read back from the engine's buffer (older ones may be lost)",
		g.From.Format(time.RFC3339), g.To.Format(time.RFC3339), g.Reason, g.Replayed)
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
	// SilentDeaths counts subscriptions found dead without an error (the
	// engine stored events they never delivered).
	SilentDeaths atomic.Uint64
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
// engine not up yet at boot, access denied after resume, a cancelled RPC
// call, or a lost engine (wfp.LostEngine: RPC failures, a dead handle,
// FWP_E_SESSION_ABORTED after a BFE restart).
func retryable(err error) bool {
	switch wfp.Status(err) {
	case wfp.ErrEptNotRegistered, wfp.ErrAccessDenied, wfp.ErrRPCCallCancelled:
		return true
	}
	return wfp.LostEngine(err)
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
	if cfg.DeliveryLag <= 0 {
		cfg.DeliveryLag = 2 * time.Second
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
	// lastSeen is the newest event time the subscription delivered (Unix
	// ns): the watchdog compares it with the engine's stored events.
	var lastSeen atomic.Int64
	cb := func(evt uintptr) {
		cbMu.Lock()
		defer cbMu.Unlock()
		var e event.Event
		if err := Decode(SubscribeVersion(n), w.Mem, uint64(evt), &e); err != nil {
			return
		}
		if t := e.Time.UnixNano(); t > lastSeen.Load() && e.Time.Before(time.Now().Add(time.Minute)) {
			lastSeen.Store(t)
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
	// replay hands on the engine's stored events newer than from (after a
	// lost engine or a dead subscription) and returns how many.
	replay := func(eng Engine, from time.Time) int {
		if w.HasEnum == nil || !w.HasEnum(n+1) || from.IsZero() {
			return 0
		}
		k := 0
		err := eng.EnumNetEvents(n+1, from, time.Now(), conds, func(evt uintptr) {
			var e event.Event
			if Decode(Version(n+1), w.Mem, uint64(evt), &e) == nil && e.Time.After(from) {
				emit(&e)
				k++
			}
		})
		if err != nil {
			w.logf("netevent: reading back the engine's stored events: %v", err)
		}
		return k
	}
	replayFrom := time.Time{} // set before a reconnect: read back from here
	replayed := 0
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
		if !first && !replayFrom.IsZero() {
			replayed += replay(eng, replayFrom)
			replayFrom = time.Time{}
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
	// checkFrom is where the next comparison with the engine's stored
	// events starts.
	checkFrom := time.Now()
	lastSeenTime := func(def time.Time) time.Time {
		if ns := lastSeen.Load(); ns != 0 && time.Unix(0, ns).After(def) {
			return time.Unix(0, ns)
		}
		return def
	}
	// reconnect reconnects until it works or ctx ends, reading back the
	// engine's stored events since readFrom, and reports the gap since
	// from (already: events read back before).
	reconnect := func(from, readFrom time.Time, reason string, cause error, already int) bool {
		replayFrom, replayed = readFrom, already
		for {
			err := connect(false)
			if err == nil {
				break
			}
			w.logf("netevent: resubscribe: %v; retrying in %v", err, backoff)
			select {
			case <-ctx.Done():
				return false
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
		backoff = cfg.Backoff
		w.Resubscribes.Add(1)
		g := Gap{From: from, To: time.Now(), Reason: reason, Replayed: replayed}
		w.logf("netevent: resubscribed; %s", g)
		if cfg.OnGap != nil {
			cfg.OnGap(g)
		}
		if cfg.onReconnect != nil {
			cfg.onReconnect(cause)
		}
		checkFrom = time.Now()
		return true
	}
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
		case now := <-tick.C:
			did, err := w.Guard.Recheck()
			if did {
				w.logf("netevent: another tool turned net-event collection off; turned it back on (it will be put back as found at start)")
			}
			if err != nil && !retryable(err) {
				w.logf("netevent: engine check: %v", err)
				continue
			}
			if err != nil {
				reason := fmt.Sprintf("the subscription was lost (%v)", err)
				if wfp.LostEngine(err) {
					reason = fmt.Sprintf("the filtering engine went away, most likely a restart of the Base Filtering Engine service (%v)", err)
				}
				w.logf("netevent: %s; resubscribing", reason)
				from := lastSeenTime(now.Add(-cfg.Interval))
				if !reconnect(from, from, reason, err, 0) {
					return nil
				}
				continue
			}
			// A subscription can die without any error (the engine short
			// of memory): compare with the events the engine stored.
			to := now.Add(-cfg.DeliveryLag)
			if w.HasEnum == nil || !w.HasEnum(n+1) || !to.After(checkFrom) {
				continue
			}
			seen := lastSeenTime(time.Time{})
			var missed []event.Event
			err = eng.EnumNetEvents(n+1, checkFrom, to, conds, func(evt uintptr) {
				var e event.Event
				if Decode(Version(n+1), w.Mem, uint64(evt), &e) == nil && !e.Time.Before(checkFrom) && !e.Time.After(to) && e.Time.After(seen) {
					missed = append(missed, e)
				}
			})
			if err != nil {
				if retryable(err) {
					reason := fmt.Sprintf("the filtering engine went away (%v)", err)
					w.logf("netevent: %s; resubscribing", reason)
					from := lastSeenTime(checkFrom)
					if !reconnect(from, from, reason, err, 0) {
						return nil
					}
				} else {
					w.logf("netevent: comparing with the engine's stored events: %v", err)
				}
				continue
			}
			from := lastSeenTime(checkFrom)
			checkFrom = to
			if len(missed) == 0 {
				continue
			}
			w.SilentDeaths.Add(1)
			reason := fmt.Sprintf("the subscription stopped delivering without an error (the engine stored %d events it never delivered)", len(missed))
			w.logf("netevent: %s; resubscribing", reason)
			for i := range missed {
				emit(&missed[i])
			}
			if !reconnect(from, to, reason, nil, len(missed)) {
				return nil
			}
		}
	}
}

// ErrNeedsWindows is returned by NewWatcher on other systems.
var ErrNeedsWindows = errors.New("live net events need Windows: on other systems use 'wfpwatch analyze' on saved files")
