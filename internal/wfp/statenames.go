package wfp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file turns what the engine's enumeration functions return into the
// words "netsh wfp show state" writes, so that a live state reads exactly
// like a dump (package wfpstate's model, package statereport's text).

// KeyName returns the symbol netsh writes for a built-in key
// ("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), the key in braces as netsh writes any
// other key ("{8e44982a-f477-11df-85ce-78e7d1810190}"), or "" for the zero
// GUID.
func KeyName(g GUID) string {
	if g.IsZero() {
		return ""
	}
	if n, ok := wellKnownKeys[g]; ok {
		return n
	}
	return "{" + g.String() + "}"
}

// FWP data types (FWP_DATA_TYPE, fwptypes.h) beyond those a Condition to
// add may carry (guid.go).
const (
	TypeEmpty                  = 0
	TypeInt8                   = 5
	TypeInt16                  = 6
	TypeInt32                  = 7
	TypeInt64                  = 8
	TypeFloat                  = 9
	TypeDouble                 = 10
	TypeSecurityDescriptor     = 14
	TypeTokenInformation       = 15
	TypeTokenAccessInformation = 16
	TypeUnicodeString          = 17
	TypeByteArray6             = 18
	TypeBitmapIndex            = 19
	TypeBitmapArray64          = 20
	TypeV4AddrMask             = 0x100
	TypeV6AddrMask             = 0x101
	TypeRange                  = 0x102
)

var dataTypeNames = map[uint32]string{
	TypeEmpty: "FWP_EMPTY", TypeUint8: "FWP_UINT8", TypeUint16: "FWP_UINT16", TypeUint32: "FWP_UINT32",
	TypeUint64: "FWP_UINT64", TypeInt8: "FWP_INT8", TypeInt16: "FWP_INT16", TypeInt32: "FWP_INT32",
	TypeInt64: "FWP_INT64", TypeFloat: "FWP_FLOAT", TypeDouble: "FWP_DOUBLE",
	TypeByteArray16: "FWP_BYTE_ARRAY16_TYPE", TypeByteBlob: "FWP_BYTE_BLOB_TYPE", TypeSID: "FWP_SID",
	TypeSecurityDescriptor: "FWP_SECURITY_DESCRIPTOR_TYPE", TypeTokenInformation: "FWP_TOKEN_INFORMATION_TYPE",
	TypeTokenAccessInformation: "FWP_TOKEN_ACCESS_INFORMATION_TYPE", TypeUnicodeString: "FWP_UNICODE_STRING_TYPE",
	TypeByteArray6: "FWP_BYTE_ARRAY6_TYPE", TypeBitmapIndex: "FWP_BITMAP_INDEX_TYPE",
	TypeBitmapArray64: "FWP_BITMAP_ARRAY64_TYPE", TypeV4AddrMask: "FWP_V4_ADDR_MASK",
	TypeV6AddrMask: "FWP_V6_ADDR_MASK", TypeRange: "FWP_RANGE_TYPE",
}

// DataTypeName names an FWP_DATA_TYPE ("FWP_UINT16"); an unknown one is
// its number.
func DataTypeName(t uint32) string {
	if n, ok := dataTypeNames[t]; ok {
		return n
	}
	return "FWP_DATA_TYPE_" + strconv.FormatUint(uint64(t), 10)
}

var matchTypeNames = []string{
	"FWP_MATCH_EQUAL", "FWP_MATCH_GREATER", "FWP_MATCH_LESS", "FWP_MATCH_GREATER_OR_EQUAL",
	"FWP_MATCH_LESS_OR_EQUAL", "FWP_MATCH_RANGE", "FWP_MATCH_FLAGS_ALL_SET", "FWP_MATCH_FLAGS_ANY_SET",
	"FWP_MATCH_FLAGS_NONE_SET", "FWP_MATCH_EQUAL_CASE_INSENSITIVE", "FWP_MATCH_NOT_EQUAL",
	"FWP_MATCH_PREFIX", "FWP_MATCH_NOT_PREFIX",
}

// MatchTypeName names an FWP_MATCH_TYPE ("FWP_MATCH_EQUAL").
func MatchTypeName(m uint32) string {
	if int(m) < len(matchTypeNames) {
		return matchTypeNames[m]
	}
	return "FWP_MATCH_TYPE_" + strconv.FormatUint(uint64(m), 10)
}

// Action types (FWP_ACTION_TYPE, fwptypes.h).
const (
	ActionPermit             = 0x1002
	ActionCalloutTerminating = 0x5003
	ActionCalloutInspection  = 0x6004
	ActionCalloutUnknown     = 0x4005
	ActionContinue           = 0x2006
	ActionNone               = 0x7
	ActionNoneNoMatch        = 0x8
	// actionFlagCallout is FWP_ACTION_FLAG_CALLOUT: the action calls a
	// callout, named by FWPM_ACTION0.calloutKey.
	actionFlagCallout = 0x4000
)

var actionNames = map[uint32]string{
	ActionBlock: "FWP_ACTION_BLOCK", ActionPermit: "FWP_ACTION_PERMIT",
	ActionCalloutTerminating: "FWP_ACTION_CALLOUT_TERMINATING", ActionCalloutInspection: "FWP_ACTION_CALLOUT_INSPECTION",
	ActionCalloutUnknown: "FWP_ACTION_CALLOUT_UNKNOWN", ActionContinue: "FWP_ACTION_CONTINUE",
	ActionNone: "FWP_ACTION_NONE", ActionNoneNoMatch: "FWP_ACTION_NONE_NO_MATCH",
}

// ActionName names an FWP_ACTION_TYPE ("FWP_ACTION_BLOCK").
func ActionName(a uint32) string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return fmt.Sprintf("FWP_ACTION_0x%X", a)
}

// IsCalloutAction reports whether an action type calls a callout.
func IsCalloutAction(a uint32) bool { return a&actionFlagCallout != 0 }

type flagName struct {
	bit  uint32
	name string
}

// Flag tables of the objects the state enumerates (fwpmtypes.h). netsh
// also writes FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN, whose value no public
// header gives: an unnamed bit is written as its hex value.
var (
	filterFlagNames = []flagName{
		{0x1, "FWPM_FILTER_FLAG_PERSISTENT"}, {0x2, "FWPM_FILTER_FLAG_BOOTTIME"},
		{0x4, "FWPM_FILTER_FLAG_HAS_PROVIDER_CONTEXT"}, {0x8, "FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT"},
		{0x10, "FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED"}, {0x20, "FWPM_FILTER_FLAG_DISABLED"},
		{0x40, "FWPM_FILTER_FLAG_INDEXED"}, {0x80, "FWPM_FILTER_FLAG_HAS_SECURITY_REALM_PROVIDER_CONTEXT"},
		{0x100, "FWPM_FILTER_FLAG_SYSTEMOS_ONLY"}, {0x200, "FWPM_FILTER_FLAG_GAMEOS_ONLY"},
		{0x400, "FWPM_FILTER_FLAG_SILENT_MODE"}, {0x800, "FWPM_FILTER_FLAG_IPSEC_NO_ACQUIRE_INITIATE"},
	}
	providerFlagNames = []flagName{{0x1, "FWPM_PROVIDER_FLAG_PERSISTENT"}, {0x10, "FWPM_PROVIDER_FLAG_DISABLED"}}
	subLayerFlagNames = []flagName{{0x1, "FWPM_SUBLAYER_FLAG_PERSISTENT"}}
	layerFlagNames    = []flagName{
		{0x1, "FWPM_LAYER_FLAG_KERNEL"}, {0x2, "FWPM_LAYER_FLAG_BUILTIN"},
		{0x4, "FWPM_LAYER_FLAG_CLASSIFY_MOSTLY"}, {0x8, "FWPM_LAYER_FLAG_BUFFERED"},
	}
	calloutFlagNames = []flagName{
		{0x10000, "FWPM_CALLOUT_FLAG_PERSISTENT"}, {0x20000, "FWPM_CALLOUT_FLAG_USES_PROVIDER_CONTEXT"},
		{0x40000, "FWPM_CALLOUT_FLAG_REGISTERED"},
	}
)

// flagList lists the set bits of v by name, lowest first; a bit without a
// name is written as prefix and its hex value.
func flagList(v uint32, table []flagName, prefix string) []string {
	var out []string
	for v != 0 {
		bit := v & -v
		v &^= bit
		name := ""
		for _, f := range table {
			if f.bit == bit {
				name = f.name
			}
		}
		if name == "" {
			name = fmt.Sprintf("%s0x%08X", prefix, bit)
		}
		out = append(out, name)
	}
	return out
}

// FilterFlags, ProviderFlags, SubLayerFlags, LayerFlags and CalloutFlags
// list the flags of those objects as netsh writes them.
func FilterFlags(v uint32) []string   { return flagList(v, filterFlagNames, "FWPM_FILTER_FLAG_") }
func ProviderFlags(v uint32) []string { return flagList(v, providerFlagNames, "FWPM_PROVIDER_FLAG_") }
func SubLayerFlags(v uint32) []string { return flagList(v, subLayerFlagNames, "FWPM_SUBLAYER_FLAG_") }
func LayerFlags(v uint32) []string    { return flagList(v, layerFlagNames, "FWPM_LAYER_FLAG_") }
func CalloutFlags(v uint32) []string  { return flagList(v, calloutFlagNames, "FWPM_CALLOUT_FLAG_") }

// Value is an FWP_VALUE0 or FWP_CONDITION_VALUE0 copied out of the
// engine's memory: Type says which of the other fields holds it.
type Value struct {
	Type uint32
	// Uint holds every integer type (signed ones as their two's
	// complement), an IPv4 address of FWP_V4_ADDR_MASK, and the bits of a
	// float or double.
	Uint uint64
	// Mask is the mask of FWP_V4_ADDR_MASK, the prefix length of
	// FWP_V6_ADDR_MASK.
	Mask uint32
	// Bytes holds byte arrays, blobs, an IPv6 address and a bitmap.
	Bytes []byte
	// Text holds a SID or security descriptor in its string form, or a
	// unicode string.
	Text string
	// Low and High are the ends of FWP_RANGE_TYPE.
	Low, High *Value
}

// String renders v the way a dump's condition value reads: a number, an
// address, "low-high" for a range, a blob's text when it is UTF-16 text
// (an application id), else its bytes in hex.
func (v Value) String() string {
	switch v.Type {
	case TypeEmpty:
		return ""
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64, TypeBitmapIndex:
		return strconv.FormatUint(v.Uint, 10)
	case TypeInt8:
		return strconv.FormatInt(int64(int8(v.Uint)), 10)
	case TypeInt16:
		return strconv.FormatInt(int64(int16(v.Uint)), 10)
	case TypeInt32:
		return strconv.FormatInt(int64(int32(v.Uint)), 10)
	case TypeInt64:
		return strconv.FormatInt(int64(v.Uint), 10)
	case TypeFloat:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v.Uint))), 'g', -1, 32)
	case TypeDouble:
		return strconv.FormatFloat(math.Float64frombits(v.Uint), 'g', -1, 64)
	case TypeByteArray16:
		if len(v.Bytes) == 16 {
			return netip.AddrFrom16([16]byte(v.Bytes)).String()
		}
	case TypeByteArray6:
		if len(v.Bytes) == 6 {
			parts := make([]string, 6)
			for i, b := range v.Bytes {
				parts[i] = fmt.Sprintf("%02x", b)
			}
			return strings.Join(parts, "-")
		}
	case TypeByteBlob:
		if s, ok := utf16Text(v.Bytes); ok {
			return s
		}
	case TypeSID, TypeSecurityDescriptor, TypeUnicodeString:
		return v.Text
	case TypeV4AddrMask:
		a := netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, uint32(v.Uint))))
		if ones := bits.LeadingZeros32(^v.Mask); v.Mask<<ones == 0 {
			return fmt.Sprintf("%s/%d", a, ones)
		}
		m := netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, v.Mask)))
		return a.String() + "/" + m.String()
	case TypeV6AddrMask:
		if len(v.Bytes) == 16 {
			return fmt.Sprintf("%s/%d", netip.AddrFrom16([16]byte(v.Bytes)), v.Mask)
		}
	case TypeRange:
		if v.Low != nil && v.High != nil {
			return v.Low.String() + "-" + v.High.String()
		}
	case TypeTokenInformation:
		return "(token information)"
	case TypeTokenAccessInformation:
		return "(token access information)"
	}
	return hex.EncodeToString(v.Bytes)
}

// utf16Text decodes b as NUL-terminated UTF-16LE text when it is that: an
// even length, a NUL at the end, printable runes before it.
func utf16Text(b []byte) (string, bool) {
	if len(b) < 4 || len(b)%2 != 0 || b[len(b)-1] != 0 || b[len(b)-2] != 0 {
		return "", false
	}
	u := make([]uint16, 0, len(b)/2-1)
	for i := 0; i+1 < len(b)-2; i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c < 0x20 {
			return "", false
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), true
}
