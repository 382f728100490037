package netevent

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Memory reads n bytes at an address. On Windows it reads the process's own
// memory while the callback (or the enumeration result) is alive; in tests
// it serves byte fixtures at made-up addresses. Bytes returns nil when the
// range cannot be read (a nil pointer, or outside every fixture).
type Memory interface {
	Bytes(addr uint64, n int) []byte
}

// maxBlob bounds the byte blobs and SIDs the decoder follows, so that a
// corrupt size never makes it read or allocate without limit.
const maxBlob = 64 << 10

// TypeName returns the NetEventType name of an FWPM_NET_EVENT_TYPE value
// ("CLASSIFY_DROP"…), or "" for types wfpwatch does not decode.
func TypeName(t uint32) string {
	switch t {
	case TypeClassifyDrop:
		return event.NetEventClassifyDrop
	case TypeClassifyDropMAC:
		return event.NetEventClassifyDropMAC
	case TypeIPsecKernelDrop:
		return event.NetEventIPsecKernelDrop
	case TypeIPsecDoSPDrop:
		return event.NetEventIPsecDoSPDrop
	case TypeClassifyAllow:
		return event.NetEventClassifyAllow
	case TypeCapabilityDrop:
		return event.NetEventCapabilityDrop
	case TypeCapabilityAllow:
		return event.NetEventCapabilityAllow
	}
	return ""
}

// TypeByName maps a net-event type as netsh and the SDK write it
// ("FWPM_NET_EVENT_TYPE_CLASSIFY_DROP", "CLASSIFY_DROP") or a number to its
// value. Readers of saved net events (netsh XML) share it.
func TypeByName(s string) (uint32, bool) {
	if n, ok := event.ParseUint(s, numTypes-1); ok {
		return uint32(n), true
	}
	const prefix = "FWPM_NET_EVENT_TYPE_"
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
	}
	for t := uint32(0); t < numTypes; t++ {
		if n := TypeName(t); n != "" && n == s {
			return t, true
		}
	}
	switch s {
	case "IKEEXT_MM_FAILURE":
		return TypeIKEExtMMFailure, true
	case "IKEEXT_QM_FAILURE":
		return TypeIKEExtQMFailure, true
	case "IKEEXT_EM_FAILURE":
		return TypeIKEExtEMFailure, true
	case "LPM_PACKET_ARRIVAL":
		return TypeLPMPacketArrival, true
	}
	return 0, false
}

// capabilityNames are the FWPM_APPC_NETWORK_CAPABILITY_TYPE values.
var capabilityNames = [...]string{"internetClient", "internetClientServer", "privateNetworkClientServer"}

// ErrNotDecoded is returned (wrapped) for event types wfpwatch does not turn
// into events (IKE failures, LPM packet arrivals): callers skip them.
var ErrNotDecoded = fmt.Errorf("net-event type not decoded")

// Decode reads the FWPM_NET_EVENT<v> at addr in mem into e, which it resets
// first. It sets Sources, Time, the 5-tuple, the process path and user,
// NetEventType, FilterID and LayerID where the event has them, Verdict
// (permit for CLASSIFY_ALLOW and CAPABILITY_ALLOW), and then calls
// event.Classify. Decode keeps no reference to mem.
//
// It returns an error wrapping ErrNotDecoded for types it does not decode,
// and an error naming the struct when memory cannot be read; it never
// panics on bad input.
func Decode(v Version, mem Memory, addr uint64, e *event.Event) error {
	if v < V0 || int(v) >= len(Layouts) {
		return fmt.Errorf("netevent: unknown struct version %d", v)
	}
	l := Layouts[v]
	b := mem.Bytes(addr, l.Size)
	if len(b) < l.Size {
		return fmt.Errorf("netevent: cannot read FWPM_NET_EVENT%d (%d bytes) at %#x", v, l.Size, addr)
	}
	*e = event.Event{ICMPType: -1, ICMPCode: -1, Sources: event.SourceNetevent}
	typ := le32(b, l.OffType)
	name := TypeName(typ)
	if name == "" || int(typ) > l.MaxType {
		return fmt.Errorf("netevent: FWPM_NET_EVENT%d type %d: %w", v, typ, ErrNotDecoded)
	}
	e.NetEventType = name
	decodeHeader(l, b, mem, e)
	body := le64(b, l.OffUnion)
	if err := decodeBody(l, typ, mem, body, e); err != nil {
		return err
	}
	event.Classify(e)
	return nil
}

func decodeHeader(l Layout, b []byte, mem Memory, e *event.Event) {
	e.Time = FileTime(le64(b, offHdrTimeStamp))
	flags := le32(b, offHdrFlags)
	if flags&FlagIPProtocolSet != 0 {
		e.Protocol, e.HasProtocol = b[offHdrIPProtocol], true
	}
	v6 := le32(b, offHdrIPVersion) == ipVersionV6
	if flags&FlagLocalAddrSet != 0 {
		e.LocalIP = addrAt(b, offHdrLocalAddr, v6)
	}
	if flags&FlagRemoteAddrSet != 0 {
		e.RemoteIP = addrAt(b, offHdrRemoteAddr, v6)
	}
	if flags&FlagLocalPortSet != 0 {
		e.LocalPort, e.HasLocalPort = le16(b, offHdrLocalPort), true
	}
	if flags&FlagRemotePortSet != 0 {
		e.RemotePort, e.HasRemotePort = le16(b, offHdrRemotePort), true
	}
	if flags&FlagAppIDSet != 0 {
		if p := utf16Blob(mem, le32(b, offHdrAppIDSize), le64(b, offHdrAppIDData)); p != "" {
			e.SetExecutable(p)
		}
	}
	if flags&FlagUserIDSet != 0 {
		e.UserID = sidAt(mem, le64(b, offHdrUserID))
	}
	if l.Header >= 2 {
		if s := sidAt(mem, le64(b, offHdrPackageSid)); s != "" && s != "S-1-0-0" {
			e.PackageSID = s
		}
	}
}

func decodeBody(l Layout, typ uint32, mem Memory, p uint64, e *event.Event) error {
	need := 0
	switch typ {
	case TypeClassifyDrop:
		need = [...]int{sizeDrop0, sizeDrop1, sizeDrop2}[l.Drop]
	case TypeClassifyAllow:
		need = sizeAllow0
	case TypeClassifyDropMAC:
		need = sizeDropMAC0
	case TypeCapabilityDrop, TypeCapabilityAllow:
		need = sizeCap0
	case TypeIPsecKernelDrop:
		need = sizeIKD0
	case TypeIPsecDoSPDrop:
		need = sizeIDP0
	}
	b := mem.Bytes(p, need)
	if len(b) < need {
		return fmt.Errorf("netevent: cannot read the %s body (%d bytes) at %#x", e.NetEventType, need, p)
	}
	var info []byte
	switch typ {
	case TypeClassifyDrop, TypeClassifyAllow:
		e.FilterID, e.HasFilterID = le64(b, offDropFilterID), true
		e.LayerID, e.HasLayerID = le16(b, offDropLayerID), true
		if typ == TypeClassifyAllow || l.Drop >= 1 {
			e.Direction = msDirection(le32(b, offDropMsFwpDirection))
			if le32(b, offDropIsLoopback) != 0 {
				info = append(info, "loopback"...)
			}
		}
		if typ == TypeClassifyAllow {
			e.Verdict = event.VerdictPermit
		}
	case TypeClassifyDropMAC:
		e.FilterID, e.HasFilterID = le64(b, offMacFilterID), true
		e.LayerID, e.HasLayerID = le16(b, offMacLayerID), true
		e.Direction = msDirection(le32(b, offMacMsFwpDirection))
		info = fmt.Appendf(info, "mac local=%s remote=%s ethertype=0x%04x", mac(b[offMacLocalMac:]), mac(b[offMacRemoteMac:]), le16(b, offMacEtherType))
		if le32(b, offMacIsLoopback) != 0 {
			info = append(info, " loopback"...)
		}
	case TypeCapabilityDrop, TypeCapabilityAllow:
		e.FilterID, e.HasFilterID = le64(b, offCapFilterID), true
		if c := le32(b, offCapNetworkCapabilityID); int(c) < len(capabilityNames) {
			info = append(info, "capability="+capabilityNames[c]...)
		} else {
			info = fmt.Appendf(info, "capability=%d", c)
		}
		if le32(b, offCapIsLoopback) != 0 {
			info = append(info, " loopback"...)
		}
		if typ == TypeCapabilityAllow {
			e.Verdict = event.VerdictPermit
		}
	case TypeIPsecKernelDrop:
		e.FilterID, e.HasFilterID = le64(b, offIKDFilterID), true
		e.LayerID, e.HasLayerID = le16(b, offIKDLayerID), true
		e.Direction = fwpDirection(le32(b, offIKDDirection))
		info = fmt.Appendf(info, "status=0x%08X spi=0x%08X", le32(b, offIKDFailureStatus), le32(b, offIKDSpi))
	case TypeIPsecDoSPDrop:
		v6 := le32(b, offIDPIPVersion) == ipVersionV6
		e.Direction = fwpDirection(le32(b, offIDPDirection))
		// The DoS-protection drop names the public and internal hosts;
		// keep the header's addresses when it has them.
		if !e.RemoteIP.IsValid() {
			e.RemoteIP = addrAt(b, offIDPPublicHost, v6)
		}
		if !e.LocalIP.IsValid() {
			e.LocalIP = addrAt(b, offIDPInternalHost, v6)
		}
		info = fmt.Appendf(info, "status=0x%08X", le32(b, offIDPFailureStatus))
	}
	if e.Direction == event.DirectionUnknown && e.HasLayerID {
		if ly, ok := event.Layers[e.LayerID]; ok {
			e.Direction = ly.Direction
		}
	}
	if e.HasLayerID {
		if ly, ok := event.Layers[e.LayerID]; ok {
			e.LayerName = ly.Name
		}
	}
	e.Info = string(info)
	return nil
}

// FileTime converts a FILETIME (100 ns ticks since 1601-01-01 UTC) to UTC
// time. Zero stays the zero time.
func FileTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601→1970 in 100 ns ticks
	if ft < epochDiff {
		return time.Unix(0, 0).UTC()
	}
	t := ft - epochDiff
	return time.Unix(int64(t/1e7), int64(t%1e7)*100).UTC()
}

// ToFileTime converts t to a FILETIME.
func ToFileTime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()/100) + 116444736000000000
}

func msDirection(d uint32) event.Direction {
	switch d {
	case msFwpDirectionIn:
		return event.DirectionInbound
	case msFwpDirectionOut:
		return event.DirectionOutbound
	case msFwpDirectionForward:
		return event.DirectionForward
	}
	return event.DirectionUnknown
}

func fwpDirection(d uint32) event.Direction {
	switch d {
	case fwpDirectionInbound:
		return event.DirectionInbound
	case fwpDirectionOutbound:
		return event.DirectionOutbound
	}
	return event.DirectionUnknown
}

// addrAt reads an address union: a host-order UINT32 for IPv4, 16 bytes in
// network order for IPv6.
func addrAt(b []byte, off int, v6 bool) netip.Addr {
	if v6 {
		var a [16]byte
		copy(a[:], b[off:off+16])
		return netip.AddrFrom16(a)
	}
	v := le32(b, off)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// utf16Blob reads a FWP_BYTE_BLOB holding a NUL-terminated UTF-16LE string.
func utf16Blob(mem Memory, size uint32, data uint64) string {
	if size < 2 || data == 0 {
		return ""
	}
	if size > maxBlob {
		size = maxBlob
	}
	b := mem.Bytes(data, int(size))
	if b == nil {
		return ""
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := uint16(b[i]) | uint16(b[i+1])<<8
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// sidAt reads a SID at p and formats it ("S-1-5-18"); "" for nil or
// unreadable.
func sidAt(mem Memory, p uint64) string {
	if p == 0 {
		return ""
	}
	h := mem.Bytes(p, 8)
	if len(h) < 8 || h[0] != 1 || h[1] > 15 {
		return ""
	}
	b := mem.Bytes(p, 8+4*int(h[1]))
	if b == nil {
		return ""
	}
	return FormatSID(b)
}

// FormatSID formats a binary SID as a string ("S-1-5-21-…"), or "" when b
// is not a well-formed SID.
func FormatSID(b []byte) string {
	if len(b) < 8 || b[0] != 1 || b[1] > 15 || len(b) < 8+4*int(b[1]) {
		return ""
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	out := make([]byte, 0, 64)
	out = append(out, "S-1-"...)
	if auth >= 1<<32 {
		out = fmt.Appendf(out, "0x%012X", auth)
	} else {
		out = strconv.AppendUint(out, auth, 10)
	}
	for i := 0; i < int(b[1]); i++ {
		out = append(out, '-')
		out = strconv.AppendUint(out, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return string(out)
}

func mac(b []byte) string {
	return fmt.Sprintf("%02x-%02x-%02x-%02x-%02x-%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
