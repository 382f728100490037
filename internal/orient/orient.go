package orient

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Bounds of an Orienter's memory.
const (
	// DefaultMaxHeld is how many events an Orienter holds while it waits
	// for a host's order; past it, the oldest held event's host is decided
	// with what is known.
	DefaultMaxHeld = 8192
	// maxHosts bounds the hosts tracked; events of further hosts are
	// decided record by record.
	maxHosts = 4096
	// maxAddrs and maxPorts bound what one host remembers.
	maxAddrs = 1024
	maxFew   = 8 // addresses kept in a slice before a map
	maxPorts = 1 << 16
)

// Host is what an Orienter knows of one host (one Computer name).
type Host struct {
	name    string
	ownFew  []netip.Addr           // its first addresses (a scan beats hashing a few)
	own     map[[16]byte]struct{}  // the rest (As16 of the unmapped address)
	lastOwn netip.Addr             // the address last added (most events repeat it)
	ports   map[uint64]uint8       // ports its processes bound, listened on or sent from (portKey → portBound…)
	listens map[protoPort]struct{} // ports it listened on (5154/5155)
	votes   [numEvidence][3]uint64 // per evidence, per order: inbound records that showed it
	os      event.Order            // the order its Windows build writes (live only)
	forced  bool                   // decided with what was known (memory cap or end of input)
	held    int                    // orientable events of it held
	counts  [3]uint64              // inbound records oriented, per order applied
	by      [numEvidence]uint64    // inbound records oriented, per evidence that decided
	byHost  uint64                 // of those, decided by the host's order
	logons  *logons                // recent logon clients and inbound events (logon.go); nil until a first Client
}

// portKey packs a process id, protocol and port into a key of Host.ports.
func portKey(pid uint32, proto uint8, port uint16) uint64 {
	return uint64(pid)<<32 | uint64(proto)<<16 | uint64(port)
}

type protoPort struct {
	proto uint8
	port  uint16
}

// Own reports whether a is one of the host's addresses (loopback
// addresses always are).
func (h *Host) Own(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	if a.IsLoopback() {
		return true
	}
	for _, o := range h.ownFew {
		if o == a {
			return true
		}
	}
	if h.own == nil {
		return false
	}
	_, ok := h.own[a.As16()]
	return ok
}

// ownKey is the key of a (unmapped) in Host.own.
func ownKey(a netip.Addr) [16]byte { return a.As16() }

// How a process was seen to own a port.
const (
	portBound    = 1 << iota // bound (5158/5159)
	portListened             // listened on (5154/5155)
	portSent                 // sent from (the local port of an outbound event)
)

// owns reports whether the process pid serves on port: it listened on it,
// or bound it and never connected out from it. A port it connected out
// from is a client's: a process that connects to itself (System to its own
// SMB share, lsass to its own LDAP) owns both ends, and a remote client's
// ephemeral port may be a number a local process used too.
func (h *Host) owns(pid uint32, proto uint8, port uint16) bool {
	f := h.ports[portKey(pid, proto, port)]
	return f&portListened != 0 || f == portBound
}

// AddAddr records a as one of the host's addresses and reports whether it
// was new. Unspecified, multicast and broadcast-looking addresses are
// ignored.
func (h *Host) AddAddr(a netip.Addr) bool {
	if a == h.lastOwn {
		return false
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() ||
		(a.Is4() && a.As4()[3] == 255) || len(h.ownFew)+len(h.own) >= maxAddrs {
		return false
	}
	h.lastOwn = a
	if h.Own(a) {
		return false
	}
	if len(h.ownFew) < maxFew {
		h.ownFew = append(h.ownFew, a)
		return true
	}
	if h.own == nil {
		h.own = make(map[[16]byte]struct{})
	}
	h.own[ownKey(a)] = struct{}{}
	return true
}

// SetOS records the order the host's Windows build writes, when it is
// known for sure (a live host).
func (h *Host) SetOS(o event.Order) { h.os = o }

// decision returns the host's order and the evidence that decided it: the
// strongest kind of evidence on which its inbound records did not tie.
func (h *Host) decision() (event.Order, event.Evidence) {
	for _, k := range strength {
		p, l := h.votes[k][event.OrderPacket], h.votes[k][event.OrderLocalFirst]
		if k == event.EvidenceOS && h.os != event.OrderNone {
			return h.os, k
		}
		switch {
		case p > l:
			return event.OrderPacket, k
		case l > p:
			return event.OrderLocalFirst, k
		}
	}
	return event.OrderNone, event.EvidenceNone
}

// firm reports whether the host's order is settled by evidence strong
// enough to apply it without waiting for the rest of the input.
func (h *Host) firm() bool {
	o, by := h.decision()
	return o != event.OrderNone && (by <= event.EvidenceOS || by == event.EvidenceLogon)
}

// Orienter applies each host's order to its inbound events, in a stream.
//
// It learns from every event (the host's addresses from the local end of
// outbound events, binds, listens and packet drops; the ports its
// processes own; the order each inbound event shows) and holds the events
// that come after an inbound event of a host not yet settled, in order,
// until that host's order is known from strong evidence (multicast,
// addresses, ports), the input ends (Close), or more than MaxHeld events
// are held; then it decides with what it has (weaker evidence, then
// record by record) and hands the events on in the order they came.
//
// An Orienter is not safe for concurrent use. The event given to Process
// is only read during the call (a held event is copied); the event handed
// to emit is only valid during that call.
type Orienter struct {
	emit    func(*event.Event) error
	maxHeld int
	hosts   map[string]*Host
	order   []*Host // in the order first seen
	q       []held
	head    int
	waiting atomic.Bool // events are held (Waiting)
	last    *Host       // the host of the previous event
	live    *Facts      // set by Live
	spare   Host        // stands for the hosts past maxHosts (forced: never held)
}

type held struct {
	e         event.Event
	h         *Host
	addrVoted bool // its address evidence is counted
}

// New returns an Orienter that hands every event to emit. maxHeld <= 0
// means DefaultMaxHeld.
func New(emit func(*event.Event) error, maxHeld int) *Orienter {
	if maxHeld <= 0 {
		maxHeld = DefaultMaxHeld
	}
	o := &Orienter{emit: emit, maxHeld: maxHeld, hosts: make(map[string]*Host)}
	o.spare.forced = true
	return o
}

// Host returns the state of the host named name, creating it.
func (o *Orienter) Host(name string) *Host {
	if o.last != nil && o.last.name == name {
		return o.last
	}
	if h, ok := o.hosts[name]; ok {
		o.last = h
		return h
	}
	if len(o.hosts) >= maxHosts {
		return nil
	}
	h := &Host{name: strings.Clone(name)}
	o.hosts[h.name] = h
	o.last = h
	o.seed(h)
	o.order = append(o.order, h)
	return h
}

// Process learns from e, orients it when it can, and hands it (and any
// held events it releases) to emit. It returns emit's first error.
func (o *Orienter) Process(e *event.Event) error {
	h := o.Host(e.Host)
	if h == nil { // past maxHosts: decided record by record, in its place
		if o.head == len(o.q) {
			o.apply(nil, e, nil)
			return o.emit(e)
		}
		o.q = append(o.q, held{e: *e, h: &o.spare})
		return o.drain()
	}
	orientable := e.Orientable()
	addrVoted := false
	var v votes
	if orientable {
		recordVotes(e, h, &v)
		for k, ord := range v {
			if ord != event.OrderNone {
				h.votes[k][ord]++
			}
		}
		if v[event.EvidenceLogon] == event.OrderNone {
			if h.logons == nil {
				h.logons = new(logons)
			}
			h.logons.remember(e)
		}
		addrVoted = v[event.EvidenceAddress] != event.OrderNone
	} else {
		o.learn(h, e)
	}
	if o.head == len(o.q) && (!orientable || h.firm() || h.forced) {
		o.apply(h, e, &v)
		return o.emit(e)
	}
	o.q = append(o.q, held{e: *e, h: h, addrVoted: addrVoted})
	if orientable {
		h.held++
	}
	return o.drain()
}

// Waiting reports whether events are held for want of evidence. Readers
// that skip permits undecoded for speed may decode them while it is true:
// binds and outbound permits show a host's addresses and its processes'
// ports. Unlike the rest of the Orienter, it is safe to call from any
// goroutine.
func (o *Orienter) Waiting() bool { return o.waiting.Load() }

// Close decides every host still waiting with what is known and hands on
// the held events.
func (o *Orienter) Close() error {
	for _, h := range o.order {
		h.forced = true
	}
	return o.drain()
}

// drain hands on the held events from the oldest while their host's order
// is settled, deciding the oldest's host when too many are held.
func (o *Orienter) drain() error {
	for o.head < len(o.q) {
		it := &o.q[o.head]
		if it.e.Orientable() && !it.h.firm() && !it.h.forced {
			if len(o.q)-o.head <= o.maxHeld {
				break
			}
			it.h.forced = true
		}
		if it.e.Orientable() {
			it.h.held--
		}
		o.apply(it.h, &it.e, nil)
		err := o.emit(&it.e)
		it.e = event.Event{} // drop its strings
		o.head++
		if err != nil {
			return err
		}
	}
	o.waiting.Store(o.head < len(o.q))
	if o.head == len(o.q) {
		o.q, o.head = o.q[:0], 0
	} else if o.head > 1024 && o.head > len(o.q)/2 {
		n := copy(o.q, o.q[o.head:])
		clear(o.q[n:])
		o.q, o.head = o.q[:n], 0
	}
	return nil
}

// learn takes from an event whose ends are certain what it shows of its
// host: its address, the port its process owns, the port it listens on.
func (o *Orienter) learn(h *Host, e *event.Event) {
	local := e.Direction == event.DirectionOutbound || e.Kind == event.KindBind ||
		e.Kind == event.KindListen || e.Orient.By == event.EvidenceLayer
	if !local {
		return
	}
	if e.LocalIP.IsValid() && h.AddAddr(e.LocalIP) && h.held > 0 && !h.firm() {
		o.recountAddresses(h)
	}
	if !e.HasLocalPort || !e.HasProtocol || e.Kind == event.KindPacket {
		return
	}
	if e.HasPID && len(h.ports) < maxPorts {
		if h.ports == nil {
			h.ports = make(map[uint64]uint8)
		}
		how := uint8(portSent)
		switch e.Kind {
		case event.KindBind:
			how = portBound
		case event.KindListen:
			how = portListened
		}
		// A port sent from matters only if the process bound it (then it
		// is a client's): mark it, but add none.
		k := portKey(e.PID, e.Protocol, e.LocalPort)
		if f, ok := h.ports[k]; f&how == 0 && (ok || how != portSent) {
			h.ports[k] = f | how
		}
	}
	if e.Kind == event.KindListen && len(h.listens) < maxPorts {
		if h.listens == nil {
			h.listens = make(map[protoPort]struct{})
		}
		h.listens[protoPort{e.Protocol, e.LocalPort}] = struct{}{}
	}
}

// recountAddresses counts the address evidence of h's held inbound events
// that a newly learned address now gives.
func (o *Orienter) recountAddresses(h *Host) {
	for i := o.head; i < len(o.q); i++ {
		it := &o.q[i]
		if it.h != h || it.addrVoted || !it.e.Orientable() {
			continue
		}
		src, dst, _, _, _, _ := it.e.RawEnds()
		if ord := pick(h.Own(src), h.Own(dst)); ord != event.OrderNone {
			h.votes[event.EvidenceAddress][ord]++
			it.addrVoted = true
		}
	}
}

// apply orients e: a multicast or broadcast end decides for the record
// itself (it is proof); otherwise the host's order; otherwise what the
// record shows with what is known of the host; otherwise the packet order.
// It also marks the end known to offer the service.
//
// v is what e's evidence shows with what is known of h now, or nil to work
// it out.
func (o *Orienter) apply(h *Host, e *event.Event, v *votes) {
	if h == &o.spare {
		h = nil
	}
	if e.Orientable() {
		if v == nil {
			v = new(votes)
			recordVotes(e, h, v)
		}
		ord, by := v.strongest()
		scope := false
		if by != event.EvidenceMulticast && h != nil {
			if ho, hby := h.decision(); ho != event.OrderNone {
				ord, by, scope = ho, hby, true
			}
		}
		if ord == event.OrderNone {
			ord, by = event.OrderPacket, event.EvidenceDefault
		}
		e.SetOrder(ord, by, scope)
		if h != nil {
			h.counts[ord]++
			h.by[by]++
			if scope {
				h.byHost++
			}
		}
	}
	if h != nil && len(h.listens) > 0 && e.HasLocalPort && e.HasRemotePort && e.HasProtocol {
		switch {
		case has(h.listens, e.Protocol, e.LocalPort):
			e.Orient.Service = event.EndLocal
		case h.Own(e.RemoteIP) && has(h.listens, e.Protocol, e.RemotePort):
			e.Orient.Service = event.EndRemote
		}
	}
}

func has(m map[protoPort]struct{}, proto uint8, port uint16) bool {
	_, ok := m[protoPort{proto, port}]
	return ok
}

// Report is what was learned of one host, for `analyze -v`.
type Report struct {
	Host     string
	Order    event.Order    // the host's order; OrderNone when nothing showed it
	By       event.Evidence // what decided it
	Inbound  uint64         // inbound records oriented
	LocalFst uint64         // of those, oriented local-first
	ByHost   uint64         // of those, by the host's order (the rest by their own evidence)
	Addrs    int            // addresses learned
	// Votes lists, strongest first, the kinds of evidence that showed
	// something: inbound records that showed packet order and local-first.
	Votes []Vote
}

// Vote is what one kind of evidence showed of a host.
type Vote struct {
	By                 event.Evidence
	Packet, LocalFirst uint64
}

// Reports returns what was learned of each host that had inbound records
// to orient, in the order the hosts were first seen.
func (o *Orienter) Reports() []Report {
	var out []Report
	for _, h := range o.order {
		n := h.counts[event.OrderPacket] + h.counts[event.OrderLocalFirst]
		if n == 0 {
			continue
		}
		r := Report{Host: h.name, Inbound: n, LocalFst: h.counts[event.OrderLocalFirst], ByHost: h.byHost, Addrs: len(h.ownFew) + len(h.own)}
		r.Order, r.By = h.decision()
		for _, k := range strength {
			p, l := h.votes[k][event.OrderPacket], h.votes[k][event.OrderLocalFirst]
			if p+l > 0 {
				r.Votes = append(r.Votes, Vote{By: k, Packet: p, LocalFirst: l})
			}
		}
		out = append(out, r)
	}
	return out
}

// String formats r as one line: the host, its order and why, and the
// evidence seen ("packet:local-first" records per kind).
func (r Report) String() string {
	var b strings.Builder
	name := r.Host
	if name == "" {
		name = "(no host name)"
	}
	if r.Order == event.OrderNone {
		fmt.Fprintf(&b, "%s: order unknown (no evidence; %d inbound records decided one by one)", name, r.Inbound)
	} else {
		fmt.Fprintf(&b, "%s: %s order (by %s); %d inbound records, %d local-first, %d by the host's order",
			name, r.Order, r.By, r.Inbound, r.LocalFst, r.ByHost)
	}
	fmt.Fprintf(&b, "; %d addresses of its own seen", r.Addrs)
	if len(r.Votes) > 0 {
		b.WriteString("; evidence packet:local-first")
		for _, v := range r.Votes {
			fmt.Fprintf(&b, " %s %d:%d", v.By, v.Packet, v.LocalFirst)
		}
	}
	return b.String()
}
