package event

import "strings"

// Net-event types (FWPM_NET_EVENT_TYPE) as the NetEventType field holds them.
const (
	NetEventClassifyDrop    = "CLASSIFY_DROP"
	NetEventClassifyDropMAC = "CLASSIFY_DROP_MAC"
	NetEventIPsecKernelDrop = "IPSEC_KERNEL_DROP"
	NetEventIPsecDoSPDrop   = "IPSEC_DOSP_DROP"
	NetEventClassifyAllow   = "CLASSIFY_ALLOW"
	NetEventCapabilityDrop  = "CAPABILITY_DROP"
	NetEventCapabilityAllow = "CAPABILITY_ALLOW"
)

// Classify fills Kind (when the decoder left it empty), Reason, RuleID (from
// a rule Filter Origin) and Verdict.
//
// Decoders set Verdict to VerdictPermit for permit events and leave it empty
// otherwise; Classify never turns a permit into a block. The reason is the
// most specific that applies:
//
//  1. "rule": the Filter Origin is a firewall rule id, or live resolution
//     already found the rule (RuleID or RuleName set).
//  2. "default:<name>": the Filter Origin names a default block (see
//     DefaultBlocks); or, for a block without an origin, the filter's
//     resolved name is one of a default's filters, or the block ended in a
//     default's sublayer (net events). A 5031 has no origin but is, by
//     definition, the firewall's query-user default ("default:query_user");
//     a capability drop without an origin is the AppContainer default
//     ("default:uwp").
//  3. "discard": a _DISCARD layer, or a packet drop with FilterRTID 0.
//  4. "ipsec": an IPsec kernel or DoS-protection drop.
//  5. "unresolved": nothing above is known; the raw ids stay in the event.
//
// The verdict is "block" for connection-level kinds (connection, listen,
// bind, accept) unless the reason is discard or ipsec, and "drop" for the
// rest. Connection-level events with an unresolved reason count as blocks:
// an ALE block is a policy decision even when an older Windows did not say
// which filter made it, and hiding it would hide the very events
// administrators ask about.
//
// For a permit the reason is set only when the Filter Origin or a resolved
// rule says which rule allowed it; "unresolved" would say nothing useful.
//
// Classify also normalizes ICMP: WFP carries the ICMP type in the local-port
// field and the code in the remote-port field (fwpmu.h defines
// FWPM_CONDITION_ICMP_TYPE as FWPM_CONDITION_IP_LOCAL_PORT and ICMP_CODE as
// IP_REMOTE_PORT), so for ICMP and ICMPv6 events those ports move to
// ICMPType and ICMPCode.
func Classify(e *Event) {
	if e.HasProtocol && (e.Protocol == 1 || e.Protocol == 58) {
		if e.HasLocalPort && e.ICMPType < 0 {
			e.ICMPType, e.LocalPort, e.HasLocalPort = int16(e.LocalPort), 0, false
		}
		if e.HasRemotePort && e.ICMPCode < 0 {
			e.ICMPCode, e.RemotePort, e.HasRemotePort = int16(e.RemotePort), 0, false
		}
	}
	if e.Kind == "" {
		e.Kind = kindOf(e)
	}
	e.Reason = reasonOf(e)
	if e.Verdict == VerdictPermit {
		if e.Reason != ReasonRule && !strings.HasPrefix(e.Reason, ReasonDefault) {
			e.Reason = ""
		}
		return
	}
	switch {
	case e.Kind.ConnectionLevel() && e.Reason != ReasonDiscard && e.Reason != ReasonIPsec:
		e.Verdict = VerdictBlock
	default:
		e.Verdict = VerdictDrop
	}
}

func kindOf(e *Event) Kind {
	if a, ok := AuditIDs[e.Code]; ok {
		return a.Kind
	}
	if e.HasLayerID {
		if l, ok := Layers[e.LayerID]; ok {
			return l.Kind
		}
	}
	if e.LayerName != "" {
		if k, ok := kindOfLayerName(e.LayerName); ok {
			return k
		}
	}
	return KindPacket
}

// kindOfLayerName maps a layer name from an audit event ("Connect",
// "Receive/Accept", "Listen", "Resource Assignment") or a layer key name
// ("ALE_AUTH_CONNECT_V4", "FWPM_LAYER_ALE_AUTH_LISTEN_V6") to a Kind.
func kindOfLayerName(name string) (Kind, bool) {
	n := strings.ToUpper(name)
	switch {
	case n == "CONNECT" || strings.Contains(n, "AUTH_CONNECT"),
		n == "RECEIVE/ACCEPT" || strings.Contains(n, "RECV_ACCEPT"):
		return KindConnection, true
	case n == "LISTEN" || strings.Contains(n, "AUTH_LISTEN"):
		return KindListen, true
	case n == "RESOURCE ASSIGNMENT" || strings.Contains(n, "RESOURCE_ASSIGNMENT"):
		return KindBind, true
	}
	return "", false
}

func reasonOf(e *Event) string {
	if r, ruleID := ParseFilterOrigin(e.FilterOrigin); r != "" {
		if r == ReasonRule && e.RuleID == "" {
			e.RuleID = ruleID
		}
		return r
	}
	if e.RuleID != "" || e.RuleName != "" {
		return ReasonRule
	}
	if e.Verdict != VerdictPermit {
		if r := DefaultOfFilter(e.FilterName); r != "" {
			return r
		}
		if r := defaultOfSublayer(e.Sublayer, e); r != "" {
			return r
		}
	}
	if ThirdPartyProvider(e.FilterProvider) {
		return ReasonProvider
	}
	switch e.NetEventType {
	case NetEventIPsecKernelDrop, NetEventIPsecDoSPDrop:
		return ReasonIPsec
	case NetEventCapabilityDrop:
		return ReasonDefault + "uwp"
	}
	if e.Code == 5031 {
		return ReasonDefault + "query_user"
	}
	if e.HasLayerID {
		if l, ok := Layers[e.LayerID]; ok && l.Discard {
			return ReasonDiscard
		}
	}
	if n := len(e.LayerName); n > 8 && strings.EqualFold(e.LayerName[n-8:], "_DISCARD") {
		return ReasonDiscard
	}
	if e.Kind == KindPacket && e.HasFilterID && e.FilterID == 0 {
		return ReasonDiscard
	}
	return ReasonUnresolved
}

// Selection says which verdicts a view shows. The zero value shows blocks
// only, wfpwatch's default.
type Selection struct {
	Drops   bool // --packets: packet drops and other routine drops too
	Permits bool // --permits: permits too
}

// Includes reports whether e belongs in a view with selection s.
func (s Selection) Includes(e *Event) bool {
	switch e.Verdict {
	case VerdictBlock:
		return true
	case VerdictDrop:
		return s.Drops
	case VerdictPermit:
		return s.Permits
	}
	return false
}
