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

// DefaultBlock is a default block: traffic the firewall blocks without a
// rule of the administrator's. Windows names it in the Filter Origin of
// audit events; net events name it through the sublayer of the filter that
// ended classification (netsh's terminatingFiltersInfo); the filter itself
// has a display name ("netsh wfp show state", wfpdiag.xml) that says it.
type DefaultBlock struct {
	Origin string // the Filter Origin text as Windows writes it
	Name   string // the short name used in wfp.reason ("default:" + Name)
	Doc    string // what it is, for the dashboard and --help
	// Filters are the display names of the firewall's (MPSSVC) filters
	// that make this block, as a real "netsh wfp show state" names them;
	// an event whose filter resolves to one of them, and that has no
	// Filter Origin, gets this reason.
	Filters []string
	// Sublayer is the suffix of netsh's name of the firewall sublayer
	// (FWPP_SUBLAYER_INTERNAL_FIREWALL_<Sublayer>) whose blocks are this
	// default when no finer name is known; "" when none is its own.
	Sublayer string
}

// DefaultBlocks lists the default blocks: the seven Filter Origins
// Microsoft documents, and the two profile defaults seen in the field. It
// is the one table of defaults; Classify, ParseFilterOrigin and the README
// follow it.
var DefaultBlocks = []DefaultBlock{
	{"Stealth", "stealth", "port-scan prevention: traffic to a port with no listener",
		[]string{"Port Scanning Prevention Filter"}, ""},
	{"WSH Default", "wsh", "Windows Service Hardening: a service tried traffic its hardening rules do not allow",
		[]string{"WSH Default Outbound Block", "WSH Default Inbound Block"}, "WSH"},
	{"Query User Default", "query_user", "an app with no rule tried to listen; the user was not asked or did not allow it",
		[]string{"Query User"}, ""},
	{"Boottime Default", "boottime", "boot-time filter active before the firewall service started",
		[]string{"Boot Time Filter", "AppContainerBoottimeFilter"}, ""},
	{"Quarantine Default", "quarantine", "the interface is in quarantine until its network profile is known",
		[]string{"Quarantine Default Inbound Block"}, "QUARANTINE"},
	{"UWP Default", "uwp", "an AppContainer (UWP) app lacks the capability for this traffic",
		[]string{"UWP Default Outbound Block Rule", "UWP Default Inbound Block Rule", "Block Outbound Default Rule"}, "APP_ISOLATION"},
	{"AppContainer Loopback", "appcontainer_loopback", "loopback to or from an AppContainer app without an exemption",
		[]string{"AppContainerLoopback"}, ""},
	{"Default Outbound", "outbound", "the profile's default outbound action: no rule allowed this outbound traffic",
		[]string{"Default Outbound"}, ""},
	{"Default Inbound", "inbound", "the profile's default inbound action: no rule allowed this inbound traffic",
		[]string{"Default Inbound"}, ""},
}

// SublayerPrefix is how netsh names the firewall's sublayers in a net
// event's terminatingFiltersInfo ("FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH").
const SublayerPrefix = "FWPP_SUBLAYER_INTERNAL_FIREWALL_"

// DefaultOfFilter returns the reason ("default:<name>") of a filter whose
// display name is one of DefaultBlocks' Filters, or "".
func DefaultOfFilter(name string) string {
	if name == "" {
		return ""
	}
	for i, d := range DefaultBlocks {
		for _, f := range d.Filters {
			if equalFoldNoSpace(name, f) {
				return defaultReasons[i]
			}
		}
	}
	return ""
}

// defaultOfSublayer returns the reason of a block whose terminating filter
// is in the firewall sublayer sub (netsh's name, with or without
// SublayerPrefix), or "". An AppContainer app's block in the service
// hardening sublayer is the AppContainer default ("Block Outbound Default
// Rule", which Microsoft's UWP troubleshooting guide shows there on the
// builds it documents), and a loopback block in the app isolation sublayer
// is the AppContainer loopback default.
func defaultOfSublayer(sub string, e *Event) string {
	sub = strings.TrimSpace(sub)
	if len(sub) > len(SublayerPrefix) && strings.EqualFold(sub[:len(SublayerPrefix)], SublayerPrefix) {
		sub = sub[len(SublayerPrefix):]
	}
	if sub == "" {
		return ""
	}
	appContainer := e.PackageSID != "" && e.PackageSID != "S-1-0-0"
	loopback := e.RemoteIP.IsValid() && (e.RemoteIP.IsLoopback() || e.RemoteIP == e.LocalIP)
	switch {
	case strings.EqualFold(sub, "WSH") && appContainer:
		return ReasonDefault + "uwp"
	case strings.EqualFold(sub, "APP_ISOLATION") && loopback:
		return ReasonDefault + "appcontainer_loopback"
	}
	for i, d := range DefaultBlocks {
		if d.Sublayer != "" && strings.EqualFold(sub, d.Sublayer) {
			return defaultReasons[i]
		}
	}
	return ""
}

// OriginKnown reports whether a Filter Origin value is one wfpwatch
// recognizes: empty or a "says nothing" value, a default block, or shaped
// like a firewall rule id (a {GUID}, or a name without spaces such as
// "CoreNet-DHCP-In"). analyze -v lists the others: they are counted as
// rules, but may be a default this table does not know yet.
func OriginKnown(origin string) bool {
	r, id := ParseFilterOrigin(origin)
	if r != ReasonRule {
		return true
	}
	if len(id) >= 2 && id[0] == '{' && id[len(id)-1] == '}' {
		return true
	}
	return !strings.ContainsAny(id, " \t")
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
