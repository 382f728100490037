// Package fwlog reads the Windows Firewall log (pfirewall.log): it parses
// the W3C-style text by its "#Fields:" header, follows the live file across
// rotation and truncation with a persisted position, and (on Windows) reads
// and changes the firewall's logging settings with a snapshot to restore.
//
// # What a line becomes
//
// Each data line is one packet or connection the firewall logged. ALLOW
// lines become permits (event.VerdictPermit, shown only with --permits).
// DROP lines become blocks or drops. INFO-EVENTS-LOST lines are not events:
// they say how many lines the firewall could not write, and readers report
// them as problems so that a gap is never silent.
//
// # How DROP lines are classified
//
// A DROP line carries no filter id, layer or rule: the log says only that
// the firewall threw a packet away. wfpwatch decides from what the line
// does say, the way an administrator reads the log:
//
//   - Outbound (path SEND) to a unicast address: an application tried to
//     reach a peer and the firewall stopped it. Windows allows outbound
//     traffic by default, so such a drop is almost always a block rule or
//     service hardening: kind "connection", verdict block.
//   - Inbound (path RECEIVE) TCP with SYN and without ACK, to a unicast
//     address: someone tried to open a connection to this host and the
//     firewall refused it (no allow rule, or no listener in stealth mode).
//     This is what "why can't they connect to my server" is about: kind
//     "connection", verdict block.
//   - Inbound TCP without SYN (or with SYN+ACK, RST, FIN, a lone ACK): a
//     packet of no known flow, typically a late packet of a closed
//     connection: kind "packet", verdict drop.
//   - Inbound UDP to a unicast address: an application's datagram traffic
//     refused at the door (the audit log reports these at the
//     Receive/Accept layer, as 5157): kind "connection", verdict block.
//   - Inbound ICMP echo request (type 8, or 128 for ICMPv6) to a unicast
//     address: "ping does not answer" is a connection-level question
//     (5157 in the audit log): kind "connection", verdict block. Other ICMP
//     types are kind "packet", verdict drop.
//   - Anything sent to a multicast or broadcast address (mDNS, SSDP,
//     LLMNR, NetBIOS, DHCP, IPv6 neighbour discovery): kind "packet",
//     verdict drop. These make up most of a real log (11,688 of 16,809
//     lines in one real home-network log) and are routine noise. An IPv4
//     address ending in .255 counts as a broadcast: the log does not carry
//     the subnet mask, and a unicast host at .255 is rare.
//   - Other protocols (IGMP, GRE…), forwarded traffic, and inbound lines
//     whose destination address is missing or unreadable: kind "packet",
//     verdict drop.
//
// The reason stays "unresolved" (no filter information exists), so blocks
// and drops follow event.Classify like every other source.
//
// # Time
//
// The firewall writes local time of the host that wrote the log
// ("#Time Format: Local") without a zone. Parser.Location says which zone
// that was; the default is the zone of the machine running wfpwatch, right
// for live tailing and for analysing a log from the same host.
package fwlog

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Column identifies a known "#Fields:" column.
type Column int

// The columns the Windows Firewall writes, in the order of a default log.
// Newer Windows builds append ColPID.
const (
	ColDate Column = iota
	ColTime
	ColAction
	ColProtocol
	ColSrcIP
	ColDstIP
	ColSrcPort
	ColDstPort
	ColSize
	ColTCPFlags
	ColTCPSyn
	ColTCPAck
	ColTCPWin
	ColICMPType
	ColICMPCode
	ColInfo
	ColPath
	ColPID
	numColumns
)

var columnNames = [numColumns]string{
	"date", "time", "action", "protocol", "src-ip", "dst-ip", "src-port", "dst-port",
	"size", "tcpflags", "tcpsyn", "tcpack", "tcpwin", "icmptype", "icmpcode", "info", "path", "pid",
}

// DefaultFields is the "#Fields:" line of a default Windows log, used for
// data lines that come before any header (a pasted excerpt).
const DefaultFields = "date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path"

// LineKind says what a parsed line was.
type LineKind int

// The kinds of line.
const (
	LineBlank  LineKind = iota // empty line
	LineHeader                 // a "#…" directive
	LineEvent                  // an ALLOW or DROP line: the event was filled
	LineLost                   // INFO-EVENTS-LOST: Result.Lost lines were not written
)

// Result is what ParseLine found.
type Result struct {
	Kind LineKind
	Lost uint64 // for LineLost: how many events the firewall lost (0 if it did not say)
}

// ErrNoHeader is reported (once per input) when data lines come before a
// "#Fields:" header; DefaultFields is assumed.
var ErrNoHeader = errors.New("data before any #Fields: header; assuming the default Windows column order")

// Parser parses the lines of one firewall log. It keeps the header's column
// layout between lines and small caches, so one Parser serves one input at
// a time; it is not safe for concurrent use. The zero value is ready to
// use. Events it fills hold no references to the line's bytes.
type Parser struct {
	// Location is the time zone of "#Time Format: Local" logs; nil means
	// time.Local. A "#Time Format: UTC" header overrides it.
	Location *time.Location
	// FilePath is put in each event's FilePath.
	FilePath string

	cols      [numColumns]int // field index of each known column, -1 when absent
	nfields   int
	haveCols  bool
	warnedDef bool
	utc       bool

	fields [48][]byte

	tkey  [13]byte // "YYYY-MM-DD HH" of the cached hour
	tbase time.Time
	tok   bool

	addrs map[string]netip.Addr
}

// SetFields sets the column layout from the text after "#Fields:".
func (p *Parser) SetFields(spec []byte) {
	for i := range p.cols {
		p.cols[i] = -1
	}
	n := 0
	for len(spec) > 0 {
		var f []byte
		f, spec = nextField(spec)
		if f == nil {
			break
		}
		for c := Column(0); c < numColumns; c++ {
			if string(f) == columnNames[c] {
				p.cols[c] = n
			}
		}
		n++
	}
	p.nfields = n
	p.haveCols = true
}

// Columns returns the index of each known column in the current layout
// (-1 when absent) and the number of fields.
func (p *Parser) Columns() ([numColumns]int, int) { return p.cols, p.nfields }

// nextField returns the next space-separated field of b and the rest.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// ParseLine parses one line (a trailing "\r\n" or "\n" is allowed) into e.
// lineNo becomes e.RecordID. For LineEvent, e is overwritten and
// classified; for other kinds e is untouched. With Kind LineEvent or
// LineLost an error is a warning: a *FieldError (some fields unreadable,
// the event keeps the rest) or ErrNoHeader (the line was parsed with
// DefaultFields). With any other kind an error means the line was skipped
// and e is untouched.
func (p *Parser) ParseLine(line []byte, lineNo uint64, e *event.Event) (Result, error) {
	line = trimEOL(line)
	if len(line) == 0 {
		return Result{Kind: LineBlank}, nil
	}
	if line[0] == '#' {
		p.directive(line)
		return Result{Kind: LineHeader}, nil
	}
	var warn error
	if !p.haveCols {
		p.SetFields([]byte(DefaultFields))
		if !p.warnedDef {
			p.warnedDef = true
			warn = ErrNoHeader
		}
	}

	// Split into fields.
	n := 0
	rest := line
	for {
		var f []byte
		f, rest = nextField(rest)
		if f == nil {
			break
		}
		if n == len(p.fields) {
			return Result{}, fmt.Errorf("more than %d fields", len(p.fields))
		}
		p.fields[n] = f
		n++
	}
	if n == 0 {
		return Result{Kind: LineBlank}, nil
	}
	if n != p.nfields {
		return Result{}, fmt.Errorf("%d fields, but the #Fields: header names %d", n, p.nfields)
	}
	action := p.col(ColAction)
	var permit bool
	switch string(action) {
	case "DROP":
	case "ALLOW":
		permit = true
	case "INFO-EVENTS-LOST":
		r := Result{Kind: LineLost}
		if v, ok := parseUint(p.col(ColInfo), 1<<63); ok {
			r.Lost = v
		}
		return r, warn
	case "":
		return Result{}, errors.New("no action column in the #Fields: header")
	default:
		return Result{}, fmt.Errorf("unknown action %q", truncate(action, 32))
	}

	t, err := p.parseTime(p.col(ColDate), p.col(ColTime))
	if err != nil {
		return Result{}, err
	}

	*e = event.Event{
		Time:     t,
		Sources:  event.SourceFwlog,
		RecordID: lineNo,
		ICMPType: -1,
		ICMPCode: -1,
		FilePath: p.FilePath,
	}
	if permit {
		e.Verdict = event.VerdictPermit
	}

	// Field problems do not lose the line: the event keeps everything
	// else (a real log holds a mangled "192.168.1.10055"), and the problems
	// are returned as a *FieldError.
	var probs []string
	src, err := p.addr(p.col(ColSrcIP))
	if err != nil {
		probs = append(probs, "src-ip: "+err.Error())
	}
	dst, err := p.addr(p.col(ColDstIP))
	if err != nil {
		probs = append(probs, "dst-ip: "+err.Error())
	}
	srcPort, hasSrcPort, err := port(p.col(ColSrcPort))
	if err != nil {
		probs = append(probs, "src-port: "+err.Error())
	}
	dstPort, hasDstPort, err := port(p.col(ColDstPort))
	if err != nil {
		probs = append(probs, "dst-port: "+err.Error())
	}

	switch string(p.col(ColPath)) {
	case "RECEIVE":
		e.Direction = event.DirectionInbound
	case "SEND":
		e.Direction = event.DirectionOutbound
	case "FORWARD":
		e.Direction = event.DirectionForward
	}
	if e.Direction == event.DirectionInbound {
		e.RemoteIP, e.RemotePort, e.HasRemotePort = src, srcPort, hasSrcPort
		e.LocalIP, e.LocalPort, e.HasLocalPort = dst, dstPort, hasDstPort
	} else {
		e.LocalIP, e.LocalPort, e.HasLocalPort = src, srcPort, hasSrcPort
		e.RemoteIP, e.RemotePort, e.HasRemotePort = dst, dstPort, hasDstPort
	}

	if pr := p.col(ColProtocol); !isDash(pr) {
		if proto, ok := protocol(pr, src.Is6() || dst.Is6()); ok {
			e.Protocol, e.HasProtocol = proto, true
		} else {
			probs = append(probs, fmt.Sprintf("protocol: %q is not known", truncate(pr, 32)))
		}
	}
	if v := p.col(ColSize); !isDash(v) {
		if n, ok := parseUint(v, 1<<32-1); ok {
			e.Size = uint32(n)
		}
	}
	if v := p.col(ColTCPFlags); !isDash(v) {
		e.TCPFlags = tcpFlags(v)
	}
	if v := p.col(ColICMPType); !isDash(v) {
		if n, ok := parseUint(v, 255); ok {
			e.ICMPType = int16(n)
		}
	}
	if v := p.col(ColICMPCode); !isDash(v) {
		if n, ok := parseUint(v, 255); ok {
			e.ICMPCode = int16(n)
		}
	}
	if v := p.col(ColInfo); !isDash(v) {
		e.Info = string(v)
	}
	if v := p.col(ColPID); !isDash(v) {
		if n, ok := parseUint(v, 1<<32-1); ok {
			e.PID, e.HasPID = uint32(n), true
		}
	}
	e.Kind = kindOf(e, dst)
	event.Classify(e)
	if probs != nil {
		return Result{Kind: LineEvent}, &FieldError{Problems: probs}
	}
	return Result{Kind: LineEvent}, warn
}

// FieldError reports fields of a line that could not be read. The line's
// event was still filled with everything else and should be kept.
type FieldError struct {
	Problems []string
}

func (e *FieldError) Error() string { return strings.Join(e.Problems, "; ") }

// kindOf decides the kind of a firewall-log event (see the package
// documentation). dst is the packet's destination address.
func kindOf(e *event.Event, dst netip.Addr) event.Kind {
	if isGroupAddr(dst) {
		return event.KindPacket
	}
	switch e.Direction {
	case event.DirectionOutbound:
		return event.KindConnection
	case event.DirectionInbound:
		if !dst.IsValid() {
			return event.KindPacket // unicast or not, the log does not say
		}
	default:
		return event.KindPacket
	}
	if !e.HasProtocol {
		return event.KindPacket
	}
	switch e.Protocol {
	case 6: // TCP
		if e.TCPFlags == "" {
			// The firewall writes flags for dropped TCP packets; without
			// them (an ALLOW line) this is the connection's first packet.
			return event.KindConnection
		}
		syn, ack := false, false
		for i := 0; i < len(e.TCPFlags); i++ {
			switch e.TCPFlags[i] {
			case 'S':
				syn = true
			case 'A':
				ack = true
			}
		}
		if syn && !ack {
			return event.KindConnection
		}
		return event.KindPacket
	case 17: // UDP
		return event.KindConnection
	case 1:
		if e.ICMPType == 8 {
			return event.KindConnection
		}
	case 58:
		if e.ICMPType == 128 {
			return event.KindConnection
		}
	}
	return event.KindPacket
}

// isGroupAddr reports whether a is a multicast or broadcast address.
func isGroupAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	if a.IsMulticast() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b[3] == 255
	}
	return false
}

func (p *Parser) col(c Column) []byte {
	i := p.cols[c]
	if i < 0 {
		return nil
	}
	return p.fields[i]
}

func (p *Parser) directive(line []byte) {
	const fields, tf = "#Fields:", "#Time Format:"
	switch {
	case hasPrefix(line, fields):
		p.SetFields(line[len(fields):])
	case hasPrefix(line, tf):
		v, _ := nextField(line[len(tf):])
		p.utc = string(v) == "UTC"
		p.tok = false
	}
}

func (p *Parser) parseTime(d, t []byte) (time.Time, error) {
	if len(d) != 10 || d[4] != '-' || d[7] != '-' || len(t) < 8 || t[2] != ':' || t[5] != ':' {
		return time.Time{}, fmt.Errorf("bad date/time %q %q", truncate(d, 16), truncate(t, 16))
	}
	y, ok1 := digits(d[0:4])
	mo, ok2 := digits(d[5:7])
	dd, ok3 := digits(d[8:10])
	h, ok4 := digits(t[0:2])
	mi, ok5 := digits(t[3:5])
	s, ok6 := digits(t[6:8])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, fmt.Errorf("bad date/time %q %q", truncate(d, 16), truncate(t, 16))
	}
	var key [13]byte
	copy(key[:10], d)
	key[10] = ' '
	key[11], key[12] = t[0], t[1]
	if !p.tok || key != p.tkey {
		loc := p.Location
		if p.utc {
			loc = time.UTC
		} else if loc == nil {
			loc = time.Local
		}
		p.tbase = time.Date(y, time.Month(mo), dd, h, 0, 0, 0, loc)
		p.tkey, p.tok = key, true
	}
	tm := p.tbase.Add(time.Duration(mi*60+s) * time.Second)
	// Fractional seconds, if a writer ever adds them.
	if len(t) > 9 && t[8] == '.' {
		frac := t[9:]
		ns, mult := 0, 100000000
		for i := 0; i < len(frac) && i < 9; i++ {
			c := frac[i]
			if c < '0' || c > '9' {
				return time.Time{}, fmt.Errorf("bad time %q", truncate(t, 16))
			}
			ns += int(c-'0') * mult
			mult /= 10
		}
		tm = tm.Add(time.Duration(ns))
	} else if len(t) != 8 {
		return time.Time{}, fmt.Errorf("bad time %q", truncate(t, 16))
	}
	return tm.UTC(), nil
}

func (p *Parser) addr(b []byte) (netip.Addr, error) {
	if isDash(b) {
		return netip.Addr{}, nil
	}
	if a, ok := parseIPv4(b); ok {
		return a, nil
	}
	if a, ok := p.addrs[string(b)]; ok {
		return a, nil
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", truncate(b, 64))
	}
	a = a.Unmap()
	if p.addrs == nil || len(p.addrs) >= 4096 {
		p.addrs = make(map[string]netip.Addr, 64)
	}
	p.addrs[string(b)] = a
	return a, nil
}

// parseIPv4 parses a dotted-quad IPv4 address without allocating.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	part, n, digitsInPart := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digitsInPart > 0 && n == 0 {
				return netip.Addr{}, false // leading zero
			}
			n = n*10 + int(c-'0')
			digitsInPart++
			if n > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digitsInPart == 0 || part == 3 {
				return netip.Addr{}, false
			}
			out[part] = byte(n)
			part++
			n, digitsInPart = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if part != 3 || digitsInPart == 0 {
		return netip.Addr{}, false
	}
	out[3] = byte(n)
	return netip.AddrFrom4(out), true
}

func port(b []byte) (uint16, bool, error) {
	if isDash(b) {
		return 0, false, nil
	}
	n, ok := parseUint(b, 65535)
	if !ok {
		return 0, false, fmt.Errorf("%q is not a port", truncate(b, 32))
	}
	return uint16(n), true, nil
}

func protocol(b []byte, v6 bool) (uint8, bool) {
	switch string(b) {
	case "TCP":
		return 6, true
	case "UDP":
		return 17, true
	case "ICMP":
		// The firewall writes "ICMP" for ICMPv6 too (types 133–143 next to
		// IPv6 addresses in real logs).
		if v6 {
			return 58, true
		}
		return 1, true
	case "ICMPv6", "ICMPV6":
		return 58, true
	}
	if n, ok := parseUint(b, 255); ok {
		return uint8(n), true
	}
	return event.ParseProtocol(string(b))
}

// tcpFlags returns the flags field as a string, without allocating for the
// common combinations.
func tcpFlags(b []byte) string {
	switch string(b) {
	case "S":
		return "S"
	case "A":
		return "A"
	case "AS", "SA":
		return "AS"
	case "AP", "PA":
		return "AP"
	case "AF", "FA":
		return "AF"
	case "AR", "RA":
		return "AR"
	case "R":
		return "R"
	case "F":
		return "F"
	case "APF", "AFP":
		return "AFP"
	}
	return string(b)
}

func isDash(b []byte) bool { return len(b) == 0 || (len(b) == 1 && b[0] == '-') }

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// LostError reports an INFO-EVENTS-LOST line.
type LostError struct{ Lost uint64 }

func (e *LostError) Error() string {
	if e.Lost == 0 {
		return "the firewall reports lost log entries (INFO-EVENTS-LOST)"
	}
	return "the firewall could not write " + strconv.FormatUint(e.Lost, 10) + " log entries here (INFO-EVENTS-LOST)"
}
