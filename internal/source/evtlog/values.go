package evtlog

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go wevtapi_windows.go

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unsafe"
)

// ValuePaths are the XPath value paths of the values render context, in
// the order EvtRender returns them: the System fields first, then every
// EventData field Decode knows. XPath is case-sensitive, so both spellings
// of the process id field are asked for.
var ValuePaths = []string{
	"Event/System/Provider/@Name",
	"Event/System/EventID",
	"Event/System/Version",
	"Event/System/EventRecordID",
	"Event/System/TimeCreated/@SystemTime",
	"Event/System/Computer",
	"Event/System/Keywords",
}

// valueDataNames are the EventData names behind ValuePaths[numSystemPaths:].
var valueDataNames = []string{
	"ProcessID", "ProcessId", "Application", "Direction",
	"SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol",
	"FilterRTID", "LayerName", "LayerRTID", "RemoteUserID", "RemoteMachineID",
	"FilterOrigin", "InterfaceIndex", "Profiles",
}

const numSystemPaths = 7

func init() {
	for _, n := range valueDataNames {
		ValuePaths = append(ValuePaths, "Event/EventData/Data[@Name='"+n+"']")
	}
}

// The EVT_VARIANT_TYPE values (winevt.h).
const (
	evtVarTypeNull       = 0
	evtVarTypeString     = 1
	evtVarTypeAnsiString = 2
	evtVarTypeSByte      = 3
	evtVarTypeByte       = 4
	evtVarTypeInt16      = 5
	evtVarTypeUInt16     = 6
	evtVarTypeInt32      = 7
	evtVarTypeUInt32     = 8
	evtVarTypeInt64      = 9
	evtVarTypeUInt64     = 10
	evtVarTypeSingle     = 11
	evtVarTypeDouble     = 12
	evtVarTypeBoolean    = 13
	evtVarTypeBinary     = 14
	evtVarTypeGuid       = 15
	evtVarTypeSizeT      = 16
	evtVarTypeFileTime   = 17
	evtVarTypeSysTime    = 18
	evtVarTypeSid        = 19
	evtVarTypeHexInt32   = 20
	evtVarTypeHexInt64   = 21
	evtVarTypeArray      = 128
)

// variantSize is sizeof(EVT_VARIANT) on 64-bit Windows: an 8-byte union
// @0, DWORD Count @8, DWORD Type @12.
const variantSize = 16

// variantBuffer is the memory EvtRender filled: count EVT_VARIANTs at the
// start, the strings, SIDs and binaries they point to after them. Pointers
// in the variants are absolute addresses; they are checked to fall inside
// the buffer and read from the slice, never dereferenced.
type variantBuffer struct {
	b    []byte
	base uintptr
}

func newVariantBuffer(b []byte) variantBuffer {
	if len(b) == 0 {
		return variantBuffer{}
	}
	return variantBuffer{b: b, base: uintptr(unsafe.Pointer(&b[0]))}
}

// at returns the slice of the buffer from the address p on.
func (v variantBuffer) at(p uint64) ([]byte, bool) {
	if p < uint64(v.base) || p >= uint64(v.base)+uint64(len(v.b)) {
		return nil, false
	}
	return v.b[p-uint64(v.base):], true
}

func (v variantBuffer) utf16z(p uint64, dst []byte) ([]byte, bool) {
	b, ok := v.at(p)
	if !ok {
		return dst, false
	}
	for i := 0; i+1 < len(b); i += 2 {
		c := rune(binary.LittleEndian.Uint16(b[i:]))
		if c == 0 {
			return dst, true
		}
		if c < 0x80 {
			dst = append(dst, byte(c))
			continue
		}
		if utf16.IsSurrogate(c) && i+3 < len(b) {
			r := utf16.DecodeRune(c, rune(binary.LittleEndian.Uint16(b[i+2:])))
			if r != '\uFFFD' {
				dst = append(dst, string(r)...)
				i += 2
				continue
			}
		}
		dst = append(dst, string(c)...)
	}
	return dst, false // not terminated inside the buffer
}

// sid renders the binary SID at p as S-1-….
func (v variantBuffer) sid(p uint64, dst []byte) ([]byte, bool) {
	b, ok := v.at(p)
	if !ok || len(b) < 8 {
		return dst, false
	}
	n := int(b[1])
	if b[0] != 1 || n > 15 || len(b) < 8+4*n {
		return dst, false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, "S-1-"...)
	dst = strconv.AppendUint(dst, auth, 10)
	for i := 0; i < n; i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return dst, true
}

// filetimeToTime converts a FILETIME (100 ns since 1601) to UTC.
func filetimeToTime(ft uint64) time.Time {
	const epochDelta = 116444736000000000 // 1601→1970 in 100 ns
	if ft < epochDelta {
		return time.Time{}
	}
	d := ft - epochDelta
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// valueScratch holds reusable memory for recordFromValues.
type valueScratch struct {
	text               []byte
	provider, computer string // last values, reused while they repeat
}

// recordFromValues fills rec from the count EVT_VARIANTs at the start of
// buf, laid out as ValuePaths asks. Absent fields (EvtVarTypeNull) are left
// out of rec.Data. It fails only when the buffer cannot hold the variants;
// a malformed single value is reported and skipped.
func recordFromValues(buf []byte, count int, rec *Record, sc *valueScratch) error {
	rec.Reset()
	if count != len(ValuePaths) {
		return fmt.Errorf("values render returned %d values, asked for %d", count, len(ValuePaths))
	}
	if len(buf) < count*variantSize {
		return fmt.Errorf("values render buffer of %d bytes cannot hold %d values", len(buf), count)
	}
	vb := newVariantBuffer(buf)
	var bad []string
	for i := 0; i < count; i++ {
		off := i * variantSize
		val := binary.LittleEndian.Uint64(buf[off:])
		typ := binary.LittleEndian.Uint32(buf[off+12:])
		if typ == evtVarTypeNull {
			continue
		}
		if typ&evtVarTypeArray != 0 {
			bad = append(bad, fmt.Sprintf("%s: array values are not expected", ValuePaths[i]))
			continue
		}
		switch i {
		case 0, 5: // Provider, Computer
			t, ok := vb.utf16z(val, sc.text[:0])
			sc.text = t
			if typ != evtVarTypeString || !ok {
				bad = append(bad, fmt.Sprintf("%s: type %d", ValuePaths[i], typ))
				continue
			}
			if i == 0 {
				rec.Provider = intern(&sc.provider, t)
			} else {
				rec.Computer = intern(&sc.computer, t)
			}
		case 1, 2: // EventID (UInt16), Version (Byte)
			n, ok := variantUint(val, typ)
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: type %d", ValuePaths[i], typ))
				continue
			}
			if i == 1 {
				rec.EventID = int(n)
			} else {
				rec.Version = int(n)
			}
		case 3: // EventRecordID
			n, ok := variantUint(val, typ)
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: type %d", ValuePaths[i], typ))
				continue
			}
			rec.RecordID = n
		case 4: // TimeCreated
			if typ != evtVarTypeFileTime {
				bad = append(bad, fmt.Sprintf("%s: type %d", ValuePaths[i], typ))
				continue
			}
			rec.Time = filetimeToTime(val)
		case 6: // Keywords
			n, ok := variantUint(val, typ)
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: type %d", ValuePaths[i], typ))
				continue
			}
			rec.Keywords = n
		default:
			t, ok := appendVariant(vb, sc.text[:0], val, typ)
			sc.text = t
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: unreadable value of type %d", ValuePaths[i], typ))
				continue
			}
			rec.Data = append(rec.Data, Field{Name: valueDataNames[i-numSystemPaths], Value: string(t)})
		}
	}
	if bad != nil {
		return &FieldError{EventID: rec.EventID, RecordID: rec.RecordID, Problems: bad}
	}
	return nil
}

func variantUint(val uint64, typ uint32) (uint64, bool) {
	switch typ {
	case evtVarTypeByte:
		return val & 0xff, true
	case evtVarTypeUInt16:
		return val & 0xffff, true
	case evtVarTypeUInt32, evtVarTypeHexInt32:
		return val & 0xffffffff, true
	case evtVarTypeUInt64, evtVarTypeHexInt64, evtVarTypeSizeT:
		return val, true
	}
	return 0, false
}

// appendVariant renders a scalar EventData value the way the event XML
// shows it.
func appendVariant(vb variantBuffer, dst []byte, val uint64, typ uint32) ([]byte, bool) {
	switch typ {
	case evtVarTypeString:
		return vb.utf16z(val, dst)
	case evtVarTypeAnsiString:
		b, ok := vb.at(val)
		if !ok {
			return dst, false
		}
		for _, c := range b {
			if c == 0 {
				return dst, true
			}
			dst = append(dst, c)
		}
		return dst, false
	case evtVarTypeSByte:
		return strconv.AppendInt(dst, int64(int8(val)), 10), true
	case evtVarTypeInt16:
		return strconv.AppendInt(dst, int64(int16(val)), 10), true
	case evtVarTypeInt32:
		return strconv.AppendInt(dst, int64(int32(val)), 10), true
	case evtVarTypeInt64:
		return strconv.AppendInt(dst, int64(val), 10), true
	case evtVarTypeByte, evtVarTypeUInt16, evtVarTypeUInt32, evtVarTypeUInt64, evtVarTypeSizeT:
		n, _ := variantUint(val, typ)
		return strconv.AppendUint(dst, n, 10), true
	case evtVarTypeHexInt32, evtVarTypeHexInt64:
		n, _ := variantUint(val, typ)
		return strconv.AppendUint(append(dst, "0x"...), n, 16), true
	case evtVarTypeBoolean:
		if uint32(val) != 0 {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case evtVarTypeSid:
		return vb.sid(val, dst)
	case evtVarTypeGuid:
		b, ok := vb.at(val)
		if !ok || len(b) < 16 {
			return dst, false
		}
		return fmt.Appendf(dst, "{%08X-%04X-%04X-%X-%X}", binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16]), true
	case evtVarTypeFileTime:
		return filetimeToTime(val).AppendFormat(dst, time.RFC3339Nano), true
	}
	return dst, false
}

// intern returns a string for b, reusing *last when it holds the same
// bytes (provider and computer names repeat in every record).
func intern(last *string, b []byte) string {
	if *last != string(b) {
		*last = string(b)
	}
	return *last
}
