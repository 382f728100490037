package pipeline

import (
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Key identifies a flow: events with equal keys are the same thing
// happening again. It holds no pointer into an event.
type Key struct {
	App           string // the executable path, or the process name when the path is unknown
	Services      string // hosted services joined with ","
	PID           uint32
	HasPID        bool
	Direction     event.Direction
	Protocol      uint8
	HasProtocol   bool
	LocalPort     uint16
	HasLocalPort  bool
	RemoteIP      netip.Addr
	RemotePort    uint16
	HasRemotePort bool
	FilterID      uint64
	HasFilterID   bool
	FilterOrigin  string
	Verdict       event.Verdict
	Kind          event.Kind
	Reason        string
}

// KeyOf returns the flow key of e. The strings of the key share memory with
// e; Aggregator clones them before keeping a key.
//
// Of the two ports, the key keeps the one that names the service
// (event.ServiceEnd: a port the host listens on, else a well-known or
// registered port against an ephemeral one, else the local port of
// inbound traffic and the remote port of outbound) and leaves the other
// out. That other port is the client's
// ephemeral port, new with every connection attempt: an app retrying a
// blocked connection, or a scanner probing a closed port, is one flow to an
// administrator, not one flow per attempt. Listen and bind events have
// only a local port, which is kept.
func KeyOf(e *event.Event) Key {
	k := Key{
		App:           e.Executable,
		PID:           e.PID,
		HasPID:        e.HasPID,
		Direction:     e.Direction,
		Protocol:      e.Protocol,
		HasProtocol:   e.HasProtocol,
		LocalPort:     e.LocalPort,
		HasLocalPort:  e.HasLocalPort,
		RemoteIP:      e.RemoteIP,
		RemotePort:    e.RemotePort,
		HasRemotePort: e.HasRemotePort,
		FilterID:      e.FilterID,
		HasFilterID:   e.HasFilterID,
		FilterOrigin:  e.FilterOrigin,
		Verdict:       e.Verdict,
		Kind:          e.Kind,
		Reason:        e.Reason,
	}
	switch end, _, _ := e.ServiceEnd(); end { // the one choice of the service port
	case event.EndLocal:
		k.RemotePort, k.HasRemotePort = 0, false
	case event.EndRemote:
		k.LocalPort, k.HasLocalPort = 0, false
	}
	if k.App == "" {
		k.App = e.Name
	}
	switch len(e.Services) {
	case 0:
	case 1:
		k.Services = e.Services[0]
	default:
		k.Services = strings.Join(e.Services, ",")
	}
	return k
}

// Flow is a run of identical events (equal Key) inside one window. Flows
// are owned by the Aggregator: a FlowSink gets a pointer that is valid only
// during the call and must copy what it keeps.
type Flow struct {
	// ID numbers flows in the order they opened, from 1, unique within one
	// Aggregator.
	ID  uint64
	Key Key
	// First and Last are the times of the earliest and latest event of the
	// flow; Count is how many events it folded (at least 1).
	First, Last time.Time
	Count       uint64
	// Reported is the Count at the last time the flow was handed to the
	// flow sinks; the sinks see it before it is advanced, so Count-Reported
	// is what is new since then.
	Reported uint64
	// Sample fields from the first event, for display.
	LocalIP   netip.Addr
	Host      string
	RuleName  string
	LayerName string
	Code      int
	// Event is a copy of the flow's first event, owned by the Aggregator
	// (nil unless a FlowEventSink asked for it): what an output shows for
	// the flow, with FlowInfo added.
	Event *event.Event

	open  time.Time // start of the window (the first event's time when it opened)
	prev  *Flow     // expiry list, oldest first
	next  *Flow
	dirty bool
}

// Name returns the process name of the flow (the base name of its App).
func (f *Flow) Name() string { return event.BaseName(f.Key.App) }

// FlowState says why a flow is handed to the flow sinks.
type FlowState uint8

// The flow states.
const (
	FlowOpened  FlowState = iota + 1 // the first event of a new flow
	FlowUpdated                      // more events since the last report (Flush)
	FlowClosed                       // the window ended (or the pipeline closed); final counts
)

func (s FlowState) String() string {
	switch s {
	case FlowOpened:
		return "opened"
	case FlowUpdated:
		return "updated"
	case FlowClosed:
		return "closed"
	}
	return "unknown"
}

// approxFlowBytes is a conservative estimate of the memory of one flow
// without its strings: the Flow struct, its map entry and bucket overhead.
const approxFlowBytes = int(unsafe.Sizeof(Flow{})) + int(unsafe.Sizeof(Key{})) + int(unsafe.Sizeof((*Flow)(nil))) + 48

// Aggregator folds identical events into flows inside a fixed window that
// starts at a flow's first event: an event whose key is open and whose time
// is before open+window is counted into the flow; otherwise the flow is
// closed and a new one opens. Time is the events' own time (so offline
// files aggregate as they happened), advanced by Advance for live sources
// when no event comes.
//
// The table is capped at MaxFlows: when it is full and no flow can be
// expired, a new key is not tracked; the event is counted in Overflow (and
// passed on as unaggregated by the Pipeline's overflow policy).
//
// An Aggregator is not safe for concurrent use.
type Aggregator struct {
	window   time.Duration
	maxFlows int
	flows    map[Key]*Flow
	head     *Flow // oldest open
	tail     *Flow
	nextID   uint64
	now      time.Time // the latest event time seen (the clock)
	overflow uint64
	strBytes int
	onFlow   func(f *Flow, st FlowState) error
	// keepEvents makes each flow keep a copy of its first event.
	keepEvents bool
	// kept shares the strings flows keep (apps, services, origins, rule
	// and layer names, hosts): a storm of distinct flows repeats a few
	// hundred of them, and a copy per flow was most of its allocations.
	kept map[string]string
}

// maxKept bounds the strings an Aggregator shares; past it, flows get
// their own copies.
const maxKept = 8192

// keep returns s as a string the Aggregator owns (the event's may live in
// a reused buffer), shared with the flows that kept the same text.
func (a *Aggregator) keep(s string) string {
	if s == "" {
		return ""
	}
	if k, ok := a.kept[s]; ok {
		return k
	}
	k := strings.Clone(s)
	if a.kept == nil {
		a.kept = make(map[string]string)
	}
	if len(a.kept) < maxKept {
		a.kept[k] = k
	}
	return k
}

// NewAggregator returns an Aggregator with the given window (> 0) and table
// cap (> 0). onFlow receives every flow change; it must not keep f.
func NewAggregator(window time.Duration, maxFlows int, onFlow func(f *Flow, st FlowState) error) *Aggregator {
	if window <= 0 {
		window = DefaultWindow
	}
	if maxFlows <= 0 {
		maxFlows = DefaultMaxFlows
	}
	if onFlow == nil {
		onFlow = func(*Flow, FlowState) error { return nil }
	}
	return &Aggregator{
		window:   window,
		maxFlows: maxFlows,
		// No size hint: a map sized for 4096 flows is ~130 KB of fresh
		// memory touched at start, which a short analyze of a small file
		// pays for in page faults; the map grows as flows appear.
		flows:  make(map[Key]*Flow),
		onFlow: onFlow,
	}
}

// Add counts e. It reports whether e opened a new flow (first sight) and
// whether it overflowed the table (not tracked at all).
func (a *Aggregator) Add(e *event.Event) (opened, overflowed bool, err error) {
	t := e.Time
	if t.After(a.now) {
		a.now = t
		if err := a.expire(); err != nil {
			return false, false, err
		}
	}
	k := KeyOf(e)
	if f, ok := a.flows[k]; ok {
		if t.Before(f.open.Add(a.window)) {
			f.Count++
			f.dirty = true
			if t.After(f.Last) {
				f.Last = t
			}
			if t.Before(f.First) {
				f.First = t
			}
			return false, false, nil
		}
		if err := a.close(f); err != nil {
			return false, false, err
		}
	}
	if len(a.flows) >= a.maxFlows {
		a.overflow++
		return false, true, nil
	}
	a.nextID++
	f := &Flow{
		ID:        a.nextID,
		Key:       a.keepKey(k),
		First:     t,
		Last:      t,
		Count:     1,
		LocalIP:   e.LocalIP,
		Host:      a.keep(e.Host),
		RuleName:  a.keep(firstNonEmpty(e.RuleName, e.FilterName)),
		LayerName: a.keep(e.LayerName),
		Code:      e.Code,
		open:      t,
	}
	if a.keepEvents {
		f.Event = a.keepEvent(e)
	}
	a.strBytes += flowStrBytes(f)
	a.flows[f.Key] = f
	a.push(f)
	err = a.onFlow(f, FlowOpened)
	f.Reported = f.Count
	return true, false, err
}

// KeepEvents makes every flow opened from now on keep a copy of its first
// event in Flow.Event.
func (a *Aggregator) KeepEvents() { a.keepEvents = true }

// keepEvent returns a copy of e whose strings the Aggregator owns.
func (a *Aggregator) keepEvent(e *event.Event) *event.Event {
	c := *e
	c.Flow = nil
	for _, s := range []*string{&c.Host, &c.Reason, &c.Executable, &c.Name, &c.UserID, &c.UserName,
		&c.RemoteUserID, &c.RemoteMachineID, &c.PackageSID, &c.Profiles, &c.FilterName, &c.FilterProvider,
		&c.LayerName, &c.FilterOrigin, &c.RuleID, &c.RuleName, &c.NetEventType, &c.TCPFlags, &c.FilePath} {
		*s = a.keep(*s)
	}
	c.Verdict = event.Verdict(a.keep(string(c.Verdict)))
	c.Kind = event.Kind(a.keep(string(c.Kind)))
	c.Direction = event.Direction(a.keep(string(c.Direction)))
	c.Info = strings.Clone(c.Info) // often unique: not worth sharing
	if len(e.Services) > 0 {
		c.Services = make([]string, len(e.Services))
		for i, s := range e.Services {
			c.Services[i] = a.keep(s)
		}
	}
	return &c
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func flowStrBytes(f *Flow) int {
	k := &f.Key
	n := len(k.App) + len(k.Services) + len(k.FilterOrigin) + len(k.Reason) + len(f.Host) + len(f.RuleName) + len(f.LayerName)
	if f.Event != nil {
		n += int(unsafe.Sizeof(event.Event{})) + len(f.Event.Info) + len(f.Event.FilePath) + len(f.Event.UserID)
	}
	return n
}

// keepKey makes the strings of k the Aggregator's own, so that the key
// owns its memory (the event's strings may live in a reused buffer).
func (a *Aggregator) keepKey(k Key) Key {
	k.App = a.keep(k.App)
	k.Services = a.keep(k.Services)
	k.FilterOrigin = a.keep(k.FilterOrigin)
	k.Reason = a.keep(k.Reason)
	return k
}

func (a *Aggregator) push(f *Flow) {
	f.prev = a.tail
	if a.tail != nil {
		a.tail.next = f
	} else {
		a.head = f
	}
	a.tail = f
}

func (a *Aggregator) unlink(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		a.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		a.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

// close reports f as closed and forgets it.
func (a *Aggregator) close(f *Flow) error {
	a.unlink(f)
	delete(a.flows, f.Key)
	a.strBytes -= flowStrBytes(f)
	err := a.onFlow(f, FlowClosed)
	f.Reported = f.Count
	return err
}

// expire closes the flows whose window ended at the clock. Flows are kept
// in the order they opened; with events out of order a flow may close a
// little after its window, never before.
func (a *Aggregator) expire() error {
	for f := a.head; f != nil && !a.now.Before(f.open.Add(a.window)); f = a.head {
		if err := a.close(f); err != nil {
			return err
		}
	}
	return nil
}

// Advance moves the clock to now (when it is later) and closes the flows
// whose window has ended. Live sources call it periodically so that a flow
// closes even when no further event comes.
func (a *Aggregator) Advance(now time.Time) error {
	if now.After(a.now) {
		a.now = now
	}
	return a.expire()
}

// Flush reports every open flow that counted events since it was last
// reported, as FlowUpdated.
func (a *Aggregator) Flush() error {
	for f := a.head; f != nil; f = f.next {
		if f.dirty {
			f.dirty = false
			if err := a.onFlow(f, FlowUpdated); err != nil {
				return err
			}
			f.Reported = f.Count
		}
	}
	return nil
}

// CloseAll closes every open flow (the end of input).
func (a *Aggregator) CloseAll() error {
	for f := a.head; f != nil; f = a.head {
		if err := a.close(f); err != nil {
			return err
		}
	}
	return nil
}

// Len returns the number of open flows.
func (a *Aggregator) Len() int { return len(a.flows) }

// Overflow returns how many events found the table full.
func (a *Aggregator) Overflow() uint64 { return a.overflow }

// ApproxBytes estimates the memory the open flows hold.
func (a *Aggregator) ApproxBytes() int { return len(a.flows)*approxFlowBytes + a.strBytes }
