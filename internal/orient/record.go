// Package orient decides, for each host, how its Security log orders the
// two ends of inbound connection events, and re-maps local and remote
// accordingly.
//
// Windows 10 / Server 2016 and later write an inbound 5156/5157 with the
// packet's sender (the remote peer) in Source; older builds write the local
// end in Source, as they do for outbound events. The event's Version is 1
// either way, so the order is decided from evidence (docs/orientation.md):
// multicast and broadcast addresses, which are never a sender; the host's
// own addresses, which the local end of every outbound event, bind, listen
// and packet drop shows; ports the same process bound or listened on; an
// ICMP type and code that fit only one way; and, weakest, a service port
// against an ephemeral one. Record weighs what one event shows on its own;
// an Orienter keeps evidence per host (the event's Computer) across a
// stream and applies the host's order to every inbound event of it.
package orient

import (
	"net/netip"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// numEvidence sizes per-kind tables (indexed by event.Evidence).
const numEvidence = int(event.EvidenceLogon) + 1

// strength lists the kinds of evidence strongest first (EvidenceLogon's
// number comes after EvidenceDefault, its strength does not).
var strength = [...]event.Evidence{
	event.EvidenceMulticast,
	event.EvidenceAddress,
	event.EvidencePort,
	event.EvidenceLogon,
	event.EvidenceOS,
	event.EvidenceICMP,
	event.EvidenceServicePort,
}

// votes holds, per kind of evidence, the order one record shows
// (OrderNone when that kind says nothing).
type votes [numEvidence]event.Order

// Record returns the order that e shows, strongest evidence first, and
// which evidence it was; OrderNone when it shows nothing. With h nil it
// uses only what the record proves on its own (multicast or broadcast
// ends, ICMP type and code); with the host's state it also weighs the
// host's addresses, its processes' ports and service against ephemeral
// ports. e must be orientable (event.Event.Orientable).
func Record(e *event.Event, h *Host) (event.Order, event.Evidence) {
	var v votes
	recordVotes(e, h, &v)
	return v.strongest()
}

// strongest returns the order the strongest kind of evidence in v shows.
func (v *votes) strongest() (event.Order, event.Evidence) {
	for _, k := range strength {
		if v[k] != event.OrderNone {
			return v[k], k
		}
	}
	return event.OrderNone, event.EvidenceNone
}

// recordVotes fills v with what each kind of evidence says of e.
func recordVotes(e *event.Event, h *Host, v *votes) {
	src, dst, sp, dp, hs, hd := e.RawEnds()
	sg, dg := groupAddr(src, h), groupAddr(dst, h)
	v[event.EvidenceMulticast] = pick(sg, dg)
	if sg || dg {
		// A group address is the local end and proves the order; it is
		// not among the host's addresses, and the port the process sent
		// from to the group may be its own: nothing else applies.
		return
	}
	icmp := e.HasProtocol && (e.Protocol == 1 || e.Protocol == 58)
	if icmp && hs && hd {
		// WFP keeps the ICMP type in the local port and the code in the
		// remote port: the order under which they make sense wins.
		v[event.EvidenceICMP] = pick(plausibleICMP(e.Protocol, sp, dp), plausibleICMP(e.Protocol, dp, sp))
	}
	if h == nil {
		return
	}
	v[event.EvidenceAddress] = pick(h.Own(src), h.Own(dst))
	if !icmp && hs && hd && e.HasPID && e.HasProtocol {
		v[event.EvidencePort] = pick(h.owns(e.PID, e.Protocol, sp), h.owns(e.PID, e.Protocol, dp))
	}
	if !icmp && hs && hd {
		// An inbound accept's local end is the service: a well-known or
		// registered port against an ephemeral one. Two service-looking
		// ports (445 and 8080, 8080 and 1030) say too little.
		rs, rd := event.PortRank(sp), event.PortRank(dp)
		v[event.EvidenceServicePort] = pick(serviceOver(rs, rd), serviceOver(rd, rs))
	}
	if h.os != event.OrderNone {
		v[event.EvidenceOS] = h.os
	}
	if h.logons != nil {
		v[event.EvidenceLogon] = h.logons.match(e, src, dst, sp, dp, hs && hd)
	}
}

// pick turns "the Source end is local" / "the Destination end is local"
// into an order; both or neither say nothing.
func pick(srcLocal, dstLocal bool) event.Order {
	switch {
	case srcLocal && !dstLocal:
		return event.OrderLocalFirst
	case dstLocal && !srcLocal:
		return event.OrderPacket
	}
	return event.OrderNone
}

// groupAddr reports whether a can never be a packet's sender: a multicast
// address, the limited broadcast, or an IPv4 address ending in .255 (the
// directed broadcast of every /24 and larger network) that is not one of
// the host's own.
func groupAddr(a netip.Addr, h *Host) bool {
	if !a.IsValid() {
		return false
	}
	if a.IsMulticast() {
		return true
	}
	if a.Is4() && a.As4()[3] == 255 {
		return h == nil || !h.Own(a)
	}
	return false
}

// plausibleICMP reports whether typ/code is a possible ICMP (protocol 1) or
// ICMPv6 (58) type and code: codes are small, and echo request and reply
// have code 0.
func plausibleICMP(proto uint8, typ, code uint16) bool {
	if typ > 255 || code > 15 {
		return false
	}
	switch {
	case proto == 1 && (typ == 0 || typ == 8), proto == 58 && (typ == 128 || typ == 129):
		return code == 0
	case proto == 58 && typ == 0:
		return false // reserved
	}
	return true
}

// serviceOver reports whether a port of rank a is a service's against one
// of rank b: any rank against the dynamic range (Vista and later, which
// wrote every log with these events, take client ports there), or two
// ranks apart.
func serviceOver(a, b int) bool {
	return a > b && (b == 0 || a >= b+2)
}
