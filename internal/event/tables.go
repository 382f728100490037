package event

import "strings"

// Audit subcategory GUIDs. Never use the localized names.
const (
	SubcategoryConnection = "{0CCE9226-69AE-11D9-BED3-505054503030}" // Filtering Platform Connection
	SubcategoryPacketDrop = "{0CCE9225-69AE-11D9-BED3-505054503030}" // Filtering Platform Packet Drop
)

// AuditID describes one Security audit event id of the Filtering Platform.
type AuditID struct {
	Code        int
	Kind        Kind
	Permit      bool   // a permit event (5154, 5156, 5158)
	Subcategory string // the GUID of the audit subcategory that produces it
	Title       string // Microsoft's title of the event, in English
}

// AuditIDs lists the Filtering Platform audit events wfpwatch decodes.
var AuditIDs = map[int]AuditID{
	5031: {5031, KindAccept, false, SubcategoryConnection, "The Windows Firewall Service blocked an application from accepting incoming connections on the network."},
	5150: {5150, KindPacket, false, SubcategoryPacketDrop, "The Windows Filtering Platform blocked a packet."},
	5151: {5151, KindPacket, false, SubcategoryPacketDrop, "A more restrictive Windows Filtering Platform filter has blocked a packet."},
	5152: {5152, KindPacket, false, SubcategoryPacketDrop, "The Windows Filtering Platform blocked a packet."},
	5153: {5153, KindPacket, false, SubcategoryPacketDrop, "A more restrictive Windows Filtering Platform filter has blocked a packet."},
	5154: {5154, KindListen, true, SubcategoryConnection, "The Windows Filtering Platform has permitted an application or service to listen on a port for incoming connections."},
	5155: {5155, KindListen, false, SubcategoryConnection, "The Windows Filtering Platform has blocked an application or service from listening on a port for incoming connections."},
	5156: {5156, KindConnection, true, SubcategoryConnection, "The Windows Filtering Platform has permitted a connection."},
	5157: {5157, KindConnection, false, SubcategoryConnection, "The Windows Filtering Platform has blocked a connection."},
	5158: {5158, KindBind, true, SubcategoryConnection, "The Windows Filtering Platform has permitted a bind to a local port."},
	5159: {5159, KindBind, false, SubcategoryConnection, "The Windows Filtering Platform has blocked a bind to a local port."},
}

// IsWFPAuditID reports whether code is one of AuditIDs.
func IsWFPAuditID(code int) bool {
	_, ok := AuditIDs[code]
	return ok
}

// IsPermitID reports whether code is a permit event (5154, 5156, 5158).
func IsPermitID(code int) bool { return AuditIDs[code].Permit }

// messageCodes maps the message-table insertion codes that raw event XML
// carries ("%%14592") to a stable English name. They come from the
// documented tables (msobjs.dll), never from localized rendered text.
var messageCodes = map[string]string{
	"%%14592": "Inbound",
	"%%14593": "Outbound",
	"%%14594": "Forward",
	"%%14595": "Bidirectional",
	"%%14596": "IP Packet",
	"%%14597": "Transport",
	"%%14598": "Forward",
	"%%14599": "Stream",
	"%%14600": "Datagram Data",
	"%%14601": "ICMP Error",
	"%%14602": "MAC 802.3",
	"%%14603": "MAC Native",
	"%%14604": "vSwitch",
	"%%14608": "Resource Assignment",
	"%%14609": "Listen",
	"%%14610": "Receive/Accept",
	"%%14611": "Connect",
	"%%14612": "Flow Established",
	"%%14614": "Resource Release",
	"%%14615": "Endpoint Closure",
	"%%14616": "Connect Redirect",
	"%%14617": "Bind Redirect",
	"%%14624": "Stream Packet",
}

// MessageCode returns the English name of a "%%NNNNN" insertion code and
// whether it is known. Text that is not a code (already rendered by a
// forwarder) is returned as is, with ok true.
func MessageCode(s string) (name string, ok bool) {
	if !strings.HasPrefix(s, "%%") {
		return s, true
	}
	name, ok = messageCodes[s]
	if !ok {
		return s, false
	}
	return name, true
}

// ParseDirection maps a direction as sources give it ("%%14592", "Inbound",
// "in", "RECEIVE", "MS_FWP_DIRECTION_IN", "0x3900"…) to a Direction.
func ParseDirection(s string) Direction {
	switch s { // the raw codes, without allocating
	case "%%14592":
		return DirectionInbound
	case "%%14593":
		return DirectionOutbound
	}
	s = strings.TrimSpace(s)
	if name, ok := MessageCode(s); ok {
		s = name
	}
	switch strings.ToLower(s) {
	case "inbound", "in", "receive", "recv", "ms_fwp_direction_in", "fwp_direction_inbound", "0x3900", "14592":
		return DirectionInbound
	case "outbound", "out", "send", "ms_fwp_direction_out", "fwp_direction_outbound", "0x3901", "14593":
		return DirectionOutbound
	case "forward", "ms_fwp_direction_forward", "0x3902":
		return DirectionForward
	}
	return DirectionUnknown
}

// Protocols maps the IANA protocol numbers seen in WFP events to ECS
// network.transport names.
var Protocols = map[uint8]string{
	0:   "hopopt",
	1:   "icmp",
	2:   "igmp",
	4:   "ipv4",
	6:   "tcp",
	17:  "udp",
	41:  "ipv6",
	43:  "ipv6-route",
	44:  "ipv6-frag",
	47:  "gre",
	50:  "esp",
	51:  "ah",
	58:  "ipv6-icmp",
	59:  "ipv6-nonxt",
	60:  "ipv6-opts",
	103: "pim",
	112: "vrrp",
	113: "pgm",
	115: "l2tp",
	132: "sctp",
}

// ProtocolName returns the ECS transport name of an IANA protocol number, or
// the number in decimal when it has none.
func ProtocolName(p uint8) string {
	if n, ok := Protocols[p]; ok {
		return n
	}
	return itoa(uint64(p))
}

// ParseProtocol maps a protocol name ("TCP", "udp", "ICMPv6") or number to
// its IANA number.
func ParseProtocol(s string) (uint8, bool) {
	s = strings.TrimSpace(s)
	if n, ok := parseUint(s, 255); ok {
		return uint8(n), true
	}
	switch strings.ToLower(s) {
	case "icmpv6", "icmp6":
		return 58, true
	}
	ls := strings.ToLower(s)
	for num, name := range Protocols {
		if name == ls {
			return num, true
		}
	}
	return 0, false
}

// DefaultBlock is a default-block Filter Origin: a block the firewall makes
// without a rule of the administrator's.
type DefaultBlock struct {
	Origin string // the Filter Origin text as Windows writes it
	Name   string // the short name used in wfp.reason ("default:" + Name)
	Doc    string // what it is, for the dashboard and --help
}

// DefaultBlocks lists the documented default-block Filter Origins.
var DefaultBlocks = []DefaultBlock{
	{"Stealth", "stealth", "port-scan prevention: traffic to a port with no listener"},
	{"WSH Default", "wsh", "Windows Service Hardening: a service tried traffic its hardening rules do not allow"},
	{"Query User Default", "query_user", "an app with no rule tried to listen; the user was not asked or did not allow it"},
	{"Boottime Default", "boottime", "boot-time filter active before the firewall service started"},
	{"Quarantine Default", "quarantine", "the interface is in quarantine until its network profile is known"},
	{"UWP Default", "uwp", "an AppContainer (UWP) app lacks the capability for this traffic"},
	{"AppContainer Loopback", "appcontainer_loopback", "loopback to or from an AppContainer app without an exemption"},
}

// ParseFilterOrigin classifies a Filter Origin value. It returns the reason
// it implies ("rule", "default:<name>", or "" when the value says nothing,
// such as "Unknown" or "-") and the rule id when the origin is a rule.
func ParseFilterOrigin(origin string) (reason, ruleID string) {
	o := strings.TrimSpace(origin)
	for _, none := range noOrigin {
		if strings.EqualFold(o, none) {
			return "", ""
		}
	}
	for i, d := range DefaultBlocks {
		if equalFoldNoSpace(o, d.Origin) {
			if i < len(defaultReasons) && defaultReasons[i] == ReasonDefault+d.Name {
				return defaultReasons[i], "" // shared: no allocation per event
			}
			return ReasonDefault + d.Name, ""
		}
	}
	// Anything else is a firewall rule id ("{GUID}", "CoreNet-DHCP-In",
	// "MsMpEng-In-TCP"…).
	return ReasonRule, o
}

// defaultReasons holds "default:" + Name for each of DefaultBlocks.
var defaultReasons = func() []string {
	r := make([]string, len(DefaultBlocks))
	for i, d := range DefaultBlocks {
		r[i] = ReasonDefault + d.Name
	}
	return r
}()

// noOrigin lists the Filter Origin values that say nothing.
var noOrigin = [...]string{"", "-", "unknown", "%%8193", "n/a", "none"}

// equalFoldNoSpace reports whether a and b are equal ignoring case and
// spaces ("WSH Default" = "wshdefault"). It allocates nothing: it runs for
// every block event. Non-ASCII input takes the strings.EqualFold path, so
// Unicode case folding ("K" KELVIN SIGN = "k") still matches as before.
func equalFoldNoSpace(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && a[i] == ' ' {
			i++
		}
		for j < len(b) && b[j] == ' ' {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		ca, cb := a[i], b[j]
		if ca >= 0x80 || cb >= 0x80 {
			return strings.EqualFold(strings.ReplaceAll(a, " ", ""), strings.ReplaceAll(b, " ", ""))
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
		i, j = i+1, j+1
	}
}

// itoa formats u in decimal without importing strconv in hot paths' callers.
func itoa(u uint64) string {
	if u == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[i:])
}

// parseUint parses a decimal (or 0x-prefixed hex) unsigned integer no larger
// than max. It allocates nothing.
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, s = 16, s[2:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if n > (max-d)/base {
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}

// ParseUint is parseUint for other packages: a decimal or 0x-hex unsigned
// integer no larger than max, without allocation.
func ParseUint(s string, max uint64) (uint64, bool) { return parseUint(s, max) }
