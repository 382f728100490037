package event

import "net/netip"

// Order names how an audit event's Source and Destination fields map to the
// local and remote ends. Windows does not write inbound ALE events
// (5154–5159, 5031) the same way on every build: Windows 10 / Server 2016
// and later write the packet's sender in Source (inbound: Source is the
// remote peer), older builds write the local end in Source whatever the
// direction. Outbound events have Source = local everywhere, and packet
// drops (5150–5153) always follow the packet. See docs/orientation.md.
type Order uint8

// The orders. OrderNone means the question does not arise (an outbound or
// one-ended event, or a source whose fields already say local and remote).
const (
	OrderNone       Order = iota
	OrderPacket           // Source is the packet's sender: inbound, Source = remote
	OrderLocalFirst       // Source is the local end, whatever the direction
)

func (o Order) String() string {
	switch o {
	case OrderPacket:
		return "packet"
	case OrderLocalFirst:
		return "local-first"
	}
	return ""
}

// Evidence names what decided an Order, strongest first.
type Evidence uint8

// The kinds of evidence, strongest first (the numeric order is the
// strength order, but for EvidenceLogon, added after EvidenceDefault so
// that stored values keep their meaning: it ranks between EvidencePort and
// EvidenceOS; EvidenceDefault is no evidence at all).
const (
	EvidenceNone Evidence = iota
	// EvidenceLayer: a packet drop (5150–5153) follows the packet on every
	// build; nothing had to be decided.
	EvidenceLayer
	// EvidenceMulticast: one end is a multicast or broadcast address, which
	// is never a packet's sender, so it is the local end.
	EvidenceMulticast
	// EvidenceAddress: one end is an address of this host (seen as the
	// local end of its outbound events, binds, listens and packet drops,
	// or, live, on its adapters) and the other is not.
	EvidenceAddress
	// EvidencePort: one end's port was bound or listened on by the same
	// process (5154/5155/5158/5159, or the local port of its outbound
	// events) and the other's was not.
	EvidencePort
	// EvidenceOS: the live host's Windows build (watch only).
	EvidenceOS
	// EvidenceICMP: only one order gives a valid ICMP type and code (WFP
	// keeps the type in the local port).
	EvidenceICMP
	// EvidenceServicePort: one end has a well-known or registered port and
	// the other an ephemeral one; an inbound accept's local end is the
	// service.
	EvidenceServicePort
	// EvidenceDefault: nothing was known; the packet order (Windows 10 and
	// later) was assumed.
	EvidenceDefault
	// EvidenceLogon: a logon or share access of the same host a few
	// seconds away (4624/4625/5140/5145) names one end, by IpAddress and
	// IpPort, as the client: that end is remote. It ranks after
	// EvidencePort and before EvidenceOS.
	EvidenceLogon
)

var evidenceNames = [...]string{
	EvidenceNone:        "",
	EvidenceLayer:       "layer",
	EvidenceMulticast:   "multicast",
	EvidenceAddress:     "address",
	EvidencePort:        "port",
	EvidenceOS:          "os",
	EvidenceICMP:        "icmp",
	EvidenceServicePort: "service-port",
	EvidenceDefault:     "default",
	EvidenceLogon:       "logon",
}

func (v Evidence) String() string {
	if int(v) < len(evidenceNames) {
		return evidenceNames[v]
	}
	return ""
}

// End names one end of a connection.
type End uint8

// The ends.
const (
	EndUnknown End = iota
	EndLocal
	EndRemote
)

// Orientation records how the local and remote ends of an event were
// decided (wfp.orientation in JSON). Decoders of the Security audit events
// set Order for every inbound event with two ends; package orient may
// change it with evidence from the rest of the log.
type Orientation struct {
	Order Order    // the order applied to Source/Destination
	By    Evidence // what decided it
	Host  bool     // decided for the whole host (true) or from this record alone
	// Service is the end known to offer the service (a port the host
	// listens on), EndUnknown when nothing is known; ServiceEnd uses it.
	Service End
}

// Orientable reports whether e is an inbound audit event whose two ends
// the Windows build may have written either way: an ALE (connection-level)
// event with both addresses. Packet drops and outbound events are not.
func (e *Event) Orientable() bool {
	return e.Orient.Order != OrderNone && e.Orient.By != EvidenceLayer
}

// SetOrder re-maps e's ends to order o, given that its fields currently
// follow e.Orient.Order, and records by and host. It swaps the local and
// remote ends (and the ICMP type and code, which WFP keeps in the local
// and remote ports) when the order changes. It does nothing to an event
// without an order.
func (e *Event) SetOrder(o Order, by Evidence, host bool) {
	if e.Orient.Order == OrderNone || o == OrderNone {
		return
	}
	if o != e.Orient.Order {
		e.LocalIP, e.RemoteIP = e.RemoteIP, e.LocalIP
		e.LocalPort, e.RemotePort = e.RemotePort, e.LocalPort
		e.HasLocalPort, e.HasRemotePort = e.HasRemotePort, e.HasLocalPort
		if e.HasProtocol && (e.Protocol == 1 || e.Protocol == 58) {
			e.ICMPType, e.ICMPCode = e.ICMPCode, e.ICMPType
		}
		e.Orient.Order = o
	}
	e.Orient.By, e.Orient.Host = by, host
}

// RawEnds returns the Source and Destination endpoints as the audit event
// wrote them, undoing the order applied (for an event without an order,
// local and remote). Ports are zero when unknown; for ICMP they are the
// type and code as WFP stored them.
func (e *Event) RawEnds() (src, dst netip.Addr, srcPort, dstPort uint16, hasSrc, hasDst bool) {
	lp, rp, hl, hr := e.LocalPort, e.RemotePort, e.HasLocalPort, e.HasRemotePort
	if e.HasProtocol && (e.Protocol == 1 || e.Protocol == 58) {
		if e.ICMPType >= 0 {
			lp, hl = uint16(e.ICMPType), true
		}
		if e.ICMPCode >= 0 {
			rp, hr = uint16(e.ICMPCode), true
		}
	}
	if e.Orient.Order == OrderPacket && e.Direction == DirectionInbound {
		return e.RemoteIP, e.LocalIP, rp, lp, hr, hl
	}
	return e.LocalIP, e.RemoteIP, lp, rp, hl, hr
}

// PortRank says how much a port looks like a service's:
//
//	3: well-known ports (below 1024) and the registered ports of services a
//	   Windows host commonly offers or meets (serviceClass: SSDP 1900, RDP
//	   3389, SQL Server 1433, WinRM 5985, mDNS 5353, LLMNR 5355…);
//	2: other registered ports (5001–32767);
//	1: ports that are some system's ephemeral range though registered:
//	   1025–5000 (Windows before Vista) and 32768–49151 (Linux and Android,
//	   whose clients fill the firewall logs of mixed networks);
//	0: the dynamic range since Vista (49152–65535).
//
// A remote client need not run Windows, so an ephemeral port of another OS
// must not outrank a service's port: SSDP from 192.0.2.7:40093 to
// 239.255.255.250:1900 belongs to port 1900.
func PortRank(p uint16) int {
	switch {
	case p < 1024 || serviceClass(p):
		return 3
	case p >= 49152:
		return 0
	case p >= 1025 && p <= 5000, p >= 32768:
		return 1
	}
	return 2
}

// serviceClass reports whether p is the registered port of a service that
// Windows hosts commonly offer or talk to, so that it outranks a client's
// ephemeral port whatever range that port came from.
func serviceClass(p uint16) bool {
	switch p {
	case 1433, 1434, // SQL Server
		1521,       // Oracle
		1701, 1723, // L2TP, PPTP
		1812, 1813, // RADIUS
		1900,       // SSDP
		2049,       // NFS
		2179,       // Hyper-V VMConnect
		3268, 3269, // global catalog
		3306,       // MySQL
		3389,       // RDP
		3478,       // STUN/Teredo
		3702,       // WS-Discovery
		4500,       // IPsec NAT-T
		5060, 5061, // SIP
		5353, 5355, // mDNS, LLMNR
		5357, 5358, // WSD
		5432,       // PostgreSQL
		5985, 5986, // WinRM
		8080, 8443, // HTTP alternates
		8530, 8531, // WSUS
		9389: // AD Web Services
		return true
	}
	return false
}

// ServiceEnd decides which end of e offers the service, and is the one
// place that does (flows, --summary, the history's rollups and
// `query --top port` all use it through ServicePort):
//
//  1. when only one port is known (listen, bind), that one;
//  2. a port the host is known to listen on (Orient.Service, set by
//     package orient);
//  3. the end whose port looks more like a service's (PortRank: well-known,
//     registered, old dynamic range, dynamic range), so that a DNS reply
//     dropped inbound belongs to remote port 53;
//  4. the direction: the local end of inbound traffic, the remote end of
//     outbound traffic.
//
// ok is false when neither port is known.
func (e *Event) ServiceEnd() (end End, port uint16, ok bool) {
	switch {
	case !e.HasLocalPort && !e.HasRemotePort:
		return EndUnknown, 0, false
	case !e.HasRemotePort:
		return EndLocal, e.LocalPort, true
	case !e.HasLocalPort:
		return EndRemote, e.RemotePort, true
	}
	switch e.Orient.Service {
	case EndLocal:
		return EndLocal, e.LocalPort, true
	case EndRemote:
		return EndRemote, e.RemotePort, true
	}
	lr, rr := PortRank(e.LocalPort), PortRank(e.RemotePort)
	switch {
	case lr > rr:
		return EndLocal, e.LocalPort, true
	case rr > lr:
		return EndRemote, e.RemotePort, true
	case e.Direction == DirectionInbound:
		return EndLocal, e.LocalPort, true
	}
	return EndRemote, e.RemotePort, true
}
