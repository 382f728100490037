// Package wfp talks to the Windows Filtering Platform base filtering engine
// (fwpuclnt.dll): the engine handle and its options, net-event
// subscription and enumeration, filter and layer lookups kept in a cache
// that filter-change notifications keep right, firewall rule names, and the
// dynamic session and block filters of `wfpwatch selftest`.
//
// The portable files hold what can be decided without Windows (GUIDs, the
// self-test plan, caches, rule-string parsing) and are tested on Linux; the
// _windows.go files are thin bindings generated with mkwinsyscall.
package wfp

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID has the memory layout of the Windows GUID struct.
type GUID struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

// ParseGUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with or without
// braces.
func ParseGUID(s string) (GUID, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return GUID{}, fmt.Errorf("not a GUID: %q", s)
	}
	b, err := hex.DecodeString(t[0:8] + t[9:13] + t[14:18] + t[19:23] + t[24:])
	if err != nil {
		return GUID{}, fmt.Errorf("not a GUID: %q", s)
	}
	var g GUID
	g.Data1 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	g.Data2 = uint16(b[4])<<8 | uint16(b[5])
	g.Data3 = uint16(b[6])<<8 | uint16(b[7])
	copy(g.Data4[:], b[8:])
	return g, nil
}

// MustGUID is ParseGUID for constants; it panics on a malformed literal.
func MustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String formats g in lower case without braces.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%02x%02x-%x", g.Data1, g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2:])
}

// IsZero reports whether g is all zeros.
func (g GUID) IsZero() bool { return g == GUID{} }

// Layer keys (FWPM_LAYER_*) used by the self-test; values from fwpmu.h.
var (
	LayerALEAuthListenV4         = MustGUID("88bb5dad-76d7-4227-9c71-df0a3ed7be7e")
	LayerALEAuthListenV6         = MustGUID("7ac9de24-17dd-4814-b4bd-a9fbc95a321b")
	LayerALEAuthRecvAcceptV4     = MustGUID("e1cd9fe7-f4b5-4273-96c0-592e487b8650")
	LayerALEAuthRecvAcceptV6     = MustGUID("a3b42c97-9f04-4672-b87e-cee9c483257f")
	LayerALEAuthConnectV4        = MustGUID("c38d57d1-05a7-4c33-904f-7fbceee60e82")
	LayerALEAuthConnectV6        = MustGUID("4a72393b-319f-44bc-84c3-ba54dcb3b6b4")
	LayerALEResourceAssignmentV4 = MustGUID("1247d66d-0b60-4a15-8d44-7155d0f53a0c")
	LayerALEResourceAssignmentV6 = MustGUID("55a650e1-5f0a-4eca-a653-88f53b26aa8c")
)

// Condition field keys (FWPM_CONDITION_*); values from fwpmu.h.
var (
	CondIPProtocol      = MustGUID("3971ef2b-623e-4f9a-8cb1-6e79b806b9a7")
	CondIPLocalAddress  = MustGUID("d9ee00de-c1ef-4617-bfe3-ffd8f5a08957")
	CondIPRemoteAddress = MustGUID("b235ae9a-1d64-49b8-a44c-5ff3d9095045")
	CondIPLocalPort     = MustGUID("0c1ba1af-5765-453f-af22-a8f791ac775b")
	CondIPRemotePort    = MustGUID("c35a604d-d22b-4e1a-91b4-68f674ee674b")
	CondALEAppID        = MustGUID("d78e1e87-8644-4ea5-9437-d809ecefc971")
	CondALEUserID       = MustGUID("af043a0a-b34d-4f86-979c-c90371af6e66")
)

// ConditionName returns the FWPM_CONDITION_ name of a field key this
// package uses, or the GUID.
func ConditionName(g GUID) string {
	switch g {
	case CondIPProtocol:
		return "IP_PROTOCOL"
	case CondIPLocalAddress:
		return "IP_LOCAL_ADDRESS"
	case CondIPRemoteAddress:
		return "IP_REMOTE_ADDRESS"
	case CondIPLocalPort:
		return "IP_LOCAL_PORT"
	case CondIPRemotePort:
		return "IP_REMOTE_PORT"
	case CondALEAppID:
		return "ALE_APP_ID"
	case CondALEUserID:
		return "ALE_USER_ID"
	}
	return g.String()
}

// FWP data types (FWP_DATA_TYPE) a Condition may carry.
const (
	TypeUint8       = 1
	TypeUint16      = 2
	TypeUint32      = 3
	TypeUint64      = 4
	TypeByteArray16 = 11 // FWP_BYTE_ARRAY16_TYPE: an IPv6 address
	TypeByteBlob    = 12 // FWP_BYTE_BLOB_TYPE: an app id
	TypeSID         = 13 // FWP_SID
)

// MatchEqual is FWP_MATCH_EQUAL.
const MatchEqual = 0

// Condition is one FWPM_FILTER_CONDITION0 in Go terms. U holds integer
// values (IPv4 addresses in host order, as WFP wants them); B holds byte
// values (an IPv6 address, an app-id blob, a binary SID).
type Condition struct {
	Field GUID
	Match uint32
	Type  uint32
	U     uint64
	B     []byte
}

func (c Condition) String() string {
	switch c.Type {
	case TypeByteArray16:
		return fmt.Sprintf("%s == %x", ConditionName(c.Field), c.B)
	case TypeByteBlob, TypeSID:
		return fmt.Sprintf("%s == (%d bytes)", ConditionName(c.Field), len(c.B))
	}
	return fmt.Sprintf("%s == %d", ConditionName(c.Field), c.U)
}

// Engine options (FWPM_ENGINE_OPTION).
const (
	OptionCollectNetEvents        = 0
	OptionNetEventMatchAnyKeyword = 1
	OptionNameCache               = 2
	OptionMonitorIPsecConnections = 3 // never set: it cannot be turned off again
	OptionPacketQueuing           = 4
	OptionTxnWatchdogTimeout      = 5
)

// Net-event keywords (FWPM_NET_EVENT_KEYWORD_*), the value of
// OptionNetEventMatchAnyKeyword.
const (
	KeywordInboundMcast     = 0x1
	KeywordInboundBcast     = 0x2
	KeywordCapabilityDrop   = 0x4
	KeywordCapabilityAllow  = 0x8
	KeywordClassifyAllow    = 0x10
	KeywordPortScanningDrop = 0x20
	SessionFlagDynamic      = 0x1
	FilterFlagPersistent    = 0x1
	FilterFlagBoottime      = 0x2
	ActionBlock             = 0x1001 // FWP_ACTION_BLOCK
	ErrFilterNotFound       = 0x80320003
	ErrLayerNotFound        = 0x80320004
	ErrNetEventsDisabled    = 0x80320013
	ErrAccessDenied         = 5
	ErrEptNotRegistered     = 1753 // EPT_S_NOT_REGISTERED: BFE not up yet
	ErrInvalidHandle        = 6
	ErrRPCServerUnavailable = 1722
	ErrRPCCallCancelled     = 1818
	ErrFWPNotFound          = 0x80320008 // FWP_E_NOT_FOUND
	ErrFWPAlreadyExists     = 0x80320009
)

// Filter and subscription flags (fwpmtypes.h).
const (
	// FilterFlagClearActionRight is FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT: a
	// block with it cannot be overridden by a permit of a lower-weight
	// sublayer (a third party's "hard permit" included).
	FilterFlagClearActionRight = 0x8
	// SubscriptionNotifyOnAdd and SubscriptionNotifyOnDelete are
	// FWPM_SUBSCRIPTION_FLAG_NOTIFY_ON_ADD/DELETE, the flags of
	// FWPM_FILTER_SUBSCRIPTION0: with neither, no change is reported.
	SubscriptionNotifyOnAdd    = 0x1
	SubscriptionNotifyOnDelete = 0x2
)

// Statuses that mean the engine handle is gone: the Base Filtering Engine
// restarted (or stopped), so every handle, subscription and dynamic object
// of the old one is gone too.
const (
	ErrRPCCallFailed    = 1726       // RPC_S_CALL_FAILED: the remote procedure call failed
	ErrRPCCallFailedDNE = 1727       // RPC_S_CALL_FAILED_DNE: the call failed and did not execute
	ErrRPCNullContext   = 1775       // RPC_X_SS_IN_NULL_CONTEXT: a null context handle reached the server
	ErrSessionAborted   = 0x80320010 // FWP_E_SESSION_ABORTED: the session has been canceled
)

// LostEngine reports whether err says the engine handle is gone (BFE
// restarted or stopped): RPC_S_SERVER_UNAVAILABLE, RPC_S_CALL_FAILED,
// RPC_S_CALL_FAILED_DNE, RPC_X_SS_IN_NULL_CONTEXT, ERROR_INVALID_HANDLE
// (RPC_X_SS_CONTEXT_MISMATCH: a handle of the engine before a restart) or
// FWP_E_SESSION_ABORTED. The cure is to open a new handle and subscribe
// again.
func LostEngine(err error) bool {
	switch Status(err) {
	case ErrRPCServerUnavailable, ErrRPCCallFailed, ErrRPCCallFailedDNE, ErrRPCNullContext, ErrInvalidHandle, ErrSessionAborted:
		return true
	}
	return false
}
