// Package event holds wfpwatch's one event model: every source (the Security
// audit log, WFP net events, the firewall log, saved files) decodes into an
// Event, and everything downstream (classification, suppression, storage,
// output) works on it alone.
//
// Field names follow the Elastic Common Schema where ECS has one; the JSON
// encoding (see json.go) is ECS-shaped so that output drops into
// Elastic/OpenSearch/Splunk without an ingest pipeline. WFP-specific fields
// live in a "wfp" group.
package event

import (
	"net/netip"
	"time"
)

// Verdict says whether an event is a real policy block, a routine drop, or a
// permit. It is the first thing a user filters on.
type Verdict string

// The verdicts. VerdictBlock is a policy decision at connection level (a rule
// or a named default block); VerdictDrop is everything else WFP throws away.
const (
	VerdictBlock  Verdict = "block"
	VerdictDrop   Verdict = "drop"
	VerdictPermit Verdict = "permit"
)

// Kind says at what level WFP acted.
type Kind string

// The kinds of event.
const (
	KindConnection Kind = "connection" // ALE auth connect / receive-accept (5156/5157)
	KindListen     Kind = "listen"     // ALE auth listen (5154/5155)
	KindBind       Kind = "bind"       // ALE resource assignment (5158/5159)
	KindPacket     Kind = "packet"     // packet drop (5150–5153, classify drops below ALE)
	KindAccept     Kind = "accept"     // firewall service blocked an app from accepting (5031)
)

// ConnectionLevel reports whether k is an ALE (connection-level) kind, where a
// block is a policy decision rather than a routine packet drop.
func (k Kind) ConnectionLevel() bool {
	switch k {
	case KindConnection, KindListen, KindBind, KindAccept:
		return true
	}
	return false
}

// Direction is the direction of the traffic as WFP saw it.
type Direction string

// The directions. DirectionUnknown is the empty string so that it is omitted
// from JSON.
const (
	DirectionUnknown  Direction = ""
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
	DirectionForward  Direction = "forward"
)

// Source names where an event came from. An event seen by more than one
// source (after correlation) carries several.
type Source uint8

// The sources.
const (
	SourceEvtlog   Source = 1 << iota // live Security audit log
	SourceNetevent                    // WFP net-event API
	SourceFwlog                       // Windows Firewall log (pfirewall.log)
	SourceFile                        // a saved file: .evtx, event XML, JSON export, netsh XML
)

var sourceNames = [...]struct {
	s    Source
	name string
}{
	{SourceEvtlog, "evtlog"},
	{SourceNetevent, "netevent"},
	{SourceFwlog, "fwlog"},
	{SourceFile, "file"},
}

// Names returns the names of the sources set in s, in a fixed order.
func (s Source) Names() []string {
	var out []string
	for _, n := range sourceNames {
		if s&n.s != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// String joins the source names with "+".
func (s Source) String() string {
	out := ""
	for i, n := range s.Names() {
		if i > 0 {
			out += "+"
		}
		out += n
	}
	return out
}

// ParseSource returns the Source named name ("evtlog", "netevent", "fwlog",
// "file"), or 0 when the name is unknown.
func ParseSource(name string) Source {
	for _, n := range sourceNames {
		if n.name == name {
			return n.s
		}
	}
	return 0
}

// Reasons, most specific first (see Classify). Default-block reasons are
// "default:" followed by a DefaultBlock name.
const (
	ReasonRule       = "rule"
	ReasonDiscard    = "discard"
	ReasonIPsec      = "ipsec"
	ReasonUnresolved = "unresolved"
	ReasonDefault    = "default:" // prefix
)

// Event is one thing WFP did to one piece of traffic, from any source.
//
// Local and remote are explicit whatever the direction: decoders translate
// the Source/Destination fields of the audit events into them. Numeric fields
// that a source may lack have a Has* flag or a documented "unknown" value, so
// that zero (a valid pid, port or protocol) is never confused with absent.
type Event struct {
	Time     time.Time // @timestamp, UTC
	Sources  Source    // wfp.source
	Code     int       // event.code: the audit event id (5157…); 0 for sources without one
	RecordID uint64    // wfp.record_id: EventRecordID, or the line number of a text log
	Host     string    // host.name

	Verdict Verdict // wfp.verdict
	Kind    Kind    // wfp.kind
	Reason  string  // wfp.reason

	Direction     Direction  // network.direction
	Protocol      uint8      // network.iana_number
	HasProtocol   bool       //
	LocalIP       netip.Addr // invalid when unknown
	LocalPort     uint16     //
	HasLocalPort  bool
	RemoteIP      netip.Addr
	RemotePort    uint16
	HasRemotePort bool
	ICMPType      int16 // -1 when unknown; decoders must set -1 (see Classify)
	ICMPCode      int16 // -1 when unknown

	Orient Orientation // wfp.orientation: how local and remote were decided (orient.go)

	PID        uint32 // process.pid
	HasPID     bool
	Executable string   // process.executable: the path as the source gave it (often an NT device path)
	Name       string   // process.name: the last element of Executable
	Services   []string // wfp.services: services hosted by the process (svchost), from enrichment
	UserID     string   // user.id: a SID
	UserName   string   // user.name: DOMAIN\user, from enrichment

	RemoteUserID    string // wfp.remote_user_id (SID; S-1-0-0 means none)
	RemoteMachineID string // wfp.remote_machine_id
	PackageSID      string // wfp.package_sid: AppContainer package SID

	InterfaceIndex    uint32 // interface.id
	HasInterfaceIndex bool
	Profiles          string // wfp.profiles: "Domain", "Private, Public"… (5031)

	FilterID       uint64 // wfp.filter.id: the filter run-time id (FilterRTID); 0 means none given
	HasFilterID    bool
	FilterName     string // wfp.filter.name, resolved
	FilterProvider string // wfp.filter.provider, resolved
	LayerID        uint16 // wfp.layer.id: the layer run-time id (FWPS_BUILTIN_LAYERS value)
	HasLayerID     bool
	LayerName      string // wfp.layer.name: a stable English key such as "ALE_AUTH_CONNECT_V4" or "Receive/Accept"
	FilterOrigin   string // wfp.filter_origin, as found (rule id or default-block name)
	RuleID         string // rule.id: firewall rule id when Filter Origin is one
	RuleName       string // rule.name: its display name, resolved

	NetEventType string // wfp.net_event_type: CLASSIFY_DROP, IPSEC_KERNEL_DROP… (net events only)
	// Sublayer is wfp.sublayer: the firewall sublayer of the block filter
	// that ended classification, as netsh names it
	// ("FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH"); net events from netsh XML
	// only. It gives a default-block reason when no origin does.
	Sublayer string
	// Capabilities is wfp.capabilities: the AppContainer network
	// capabilities the app held, as netsh lists them for a net event,
	// comma-separated manifest names ("internetClient,privateNetworkClientServer");
	// "none" when an AppContainer app held none, "" unknown.
	Capabilities string
	TCPFlags     string // wfp.tcp_flags (firewall log)
	Size         uint32 // network.bytes (firewall log packet size); 0 unknown
	Info         string // wfp.info: free-form detail from the source (firewall log "info", 5031 text…)

	FilePath string // log.file.path: the file an offline event came from

	Flow *FlowInfo // event.count/start/end, wfp.flow: set when e stands for a flow; nil for one event

	// Fingerprint is a stable identity of a record that has no record id
	// of its own (HasRecordIdentity is false): firewall-log lines, net
	// events, JSON exports without RecordNumber. Readers that know one set
	// it (see Fingerprint and LineFingerprint); 0 lets the history store
	// derive it from the content. The same record read again gets the
	// same value, so it is stored once. Not part of the JSON.
	Fingerprint uint64
}

// ServicePort returns the port of the end that offers the service (see
// ServiceEnd, which decides it).
func (e *Event) ServicePort() (uint16, bool) {
	_, p, ok := e.ServiceEnd()
	return p, ok
}

// DecidedBy names what made the decision, from the most to the least
// readable thing known: the rule name, the rule id, the filter name, the
// Filter Origin, "filter N"; "" when nothing is known.
func (e *Event) DecidedBy() string {
	switch {
	case e.RuleName != "":
		return e.RuleName
	case e.RuleID != "":
		return e.RuleID
	case e.FilterName != "":
		return e.FilterName
	case e.FilterOrigin != "":
		return e.FilterOrigin
	case e.HasFilterID:
		return "filter " + itoa(e.FilterID)
	}
	return ""
}

// Local returns the local endpoint as an AddrPort (the zero value when the
// address is unknown).
func (e *Event) Local() netip.AddrPort {
	if !e.LocalIP.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(e.LocalIP, e.LocalPort)
}

// Remote returns the remote endpoint as an AddrPort (the zero value when the
// address is unknown).
func (e *Event) Remote() netip.AddrPort {
	if !e.RemoteIP.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(e.RemoteIP, e.RemotePort)
}

// SetExecutable sets Executable and derives Name, the base name of the path
// whatever its separator ("\device\harddiskvolume3\windows\system32\svchost.exe"
// gives "svchost.exe"). "-" and "" mean no process and leave both empty.
func (e *Event) SetExecutable(path string) {
	if path == "" || path == "-" {
		e.Executable, e.Name = "", ""
		return
	}
	e.Executable = path
	e.Name = BaseName(path)
}

// BaseName returns the last element of a Windows or NT device path.
func BaseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '\\' || path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}
