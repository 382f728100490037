package event

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// HasRecordIdentity reports whether e is a Security-log record that can be
// told apart from every other by its own ids: an audit event (Code, which
// only the Security log has) with its EventRecordID and computer name, and
// not a firewall-log line (whose RecordID is a line number). Other records
// need a Fingerprint.
func HasRecordIdentity(e *Event) bool {
	return e.Code != 0 && e.RecordID != 0 && e.Host != "" && e.Sources&SourceFwlog == 0
}

// Fingerprint returns a stable identity of a record that has no record id
// (a net event, a JSON export line without RecordNumber): a hash of what
// its source said, so that the same record read again — from a renamed,
// copied or compressed file — gets the same value. occurrence tells apart
// records whose content is the same (the second identical record of an
// input is occurrence 1). The result is in 1..2^63-1 (it is stored as a
// signed integer, and 0 means none).
//
// Only what the source wrote counts: the time, event id, host, direction,
// protocol, both endpoints (in a fixed order, so that deciding which end
// is local differently does not change it), process, user, package,
// interface, profiles, filter and layer ids and names as given, origin,
// net-event type, sublayer, capabilities, TCP flags, size and info. What
// wfpwatch derives or looks up (verdict, kind, reason, rule and filter
// names, services, account names) and where it was read from (file path,
// position, source) do not.
func Fingerprint(e *Event, occurrence uint32) uint64 {
	var arr [512]byte
	b := arr[:0]
	b = binary.AppendVarint(b, timeKey(e.Time))
	b = binary.AppendUvarint(b, uint64(e.Code))
	b = appendField(b, e.Host)
	b = appendField(b, string(e.Direction))
	if e.HasProtocol {
		b = append(b, 1, e.Protocol)
	} else {
		b = append(b, 0)
	}
	l := endpointKey(e.LocalIP, e.HasLocalPort, e.LocalPort, e.ICMPType)
	r := endpointKey(e.RemoteIP, e.HasRemotePort, e.RemotePort, e.ICMPCode)
	if string(r[:]) < string(l[:]) {
		l, r = r, l
	}
	b = append(b, l[:]...)
	b = append(b, r[:]...)
	b = appendOpt(b, e.HasPID, uint64(e.PID))
	exe := e.Executable
	if exe == "" {
		exe = e.Name
	}
	b = appendField(b, exe)
	b = appendField(b, e.UserID)
	b = appendField(b, e.PackageSID)
	b = appendField(b, e.RemoteUserID)
	b = appendField(b, e.RemoteMachineID)
	b = appendOpt(b, e.HasInterfaceIndex, uint64(e.InterfaceIndex))
	b = appendField(b, e.Profiles)
	b = appendOpt(b, e.HasFilterID, e.FilterID)
	b = appendOpt(b, e.HasLayerID, uint64(e.LayerID))
	b = appendField(b, e.LayerName)
	b = appendField(b, e.FilterOrigin)
	b = appendField(b, e.NetEventType)
	b = appendField(b, e.Sublayer)
	b = appendField(b, e.Capabilities)
	b = appendField(b, e.TCPFlags)
	b = binary.AppendUvarint(b, uint64(e.Size))
	b = appendField(b, e.Info)
	b = binary.AppendUvarint(b, uint64(occurrence))
	return digest(b)
}

// LineFingerprint returns the identity of line number lineNo, whose text
// is line (without its end of line), of a text log whose identity is file
// (the firewall log uses a SHA-256 of its lines up to the first record:
// the same for a copy or a rotated pfirewall.log.old, different for
// another log). Identical lines at different
// positions differ, as they are different records; the same file read
// again, renamed or compressed, gives the same values.
func LineFingerprint(file [32]byte, lineNo uint64, line []byte) uint64 {
	// The file's identity, a SHA-256, is computed once; a line costs a
	// multiply per 8 bytes (the firewall log is read at millions of lines
	// a second). The line number and the file already tell lines apart;
	// the text is there so that a different line at the same place of a
	// file that starts the same is not taken for it.
	// Two lanes of 8 bytes each, so that the multiplies overlap.
	const k1, k2 = 0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f
	h1 := binary.LittleEndian.Uint64(file[:]) ^ uint64(len(line))*k1
	h2 := binary.LittleEndian.Uint64(file[8:]) ^ lineNo*k2
	for len(line) >= 16 {
		h1 = (h1 ^ binary.LittleEndian.Uint64(line)) * k1
		h2 = (h2 ^ binary.LittleEndian.Uint64(line[8:])) * k2
		h1 ^= h1 >> 29
		h2 ^= h2 >> 31
		line = line[16:]
	}
	var tail [16]byte
	copy(tail[:], line)
	h1 = (h1 ^ binary.LittleEndian.Uint64(tail[:])) * k1
	h2 = (h2 ^ binary.LittleEndian.Uint64(tail[8:]) ^ uint64(len(line))<<56) * k2
	v := mix64(h1^mix64(h2)) & math.MaxInt64
	if v == 0 {
		v = 1
	}
	return v
}

// mix64 is SplitMix64's finalizer: every input bit affects every output
// bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Occurrence derives the identity of the n-th repeat of a record from the
// identity of its first (n = 0 returns fp itself).
func Occurrence(fp uint64, n uint32) uint64 {
	if n == 0 {
		return fp
	}
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:], fp)
	binary.LittleEndian.PutUint32(b[8:], n)
	return digest(b[:])
}

// timeKey is the time in nanoseconds, or math.MinInt64 when unknown.
func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// endpointKey encodes an endpoint for Fingerprint: 16 address bytes, a
// byte saying what is known, the port and the ICMP value kept with it.
func endpointKey(a netip.Addr, hasPort bool, port uint16, icmp int16) [21]byte {
	var k [21]byte
	if a.IsValid() {
		b := a.Unmap().As16()
		copy(k[:16], b[:])
		k[16] |= 1
	}
	if hasPort {
		k[16] |= 2
		binary.BigEndian.PutUint16(k[17:], port)
	}
	binary.BigEndian.PutUint16(k[19:], uint16(icmp))
	return k
}

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendOpt(b []byte, ok bool, v uint64) []byte {
	if !ok {
		return append(b, 0)
	}
	return binary.AppendUvarint(append(b, 1), v)
}

func digest(b []byte) uint64 {
	sum := sha256.Sum256(b)
	return finish(sum[:])
}

// finish makes a 63-bit identity, never 0, from a digest.
func finish(sum []byte) uint64 {
	v := binary.LittleEndian.Uint64(sum) & math.MaxInt64
	if v == 0 {
		v = 1
	}
	return v
}
