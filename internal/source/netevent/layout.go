// Package netevent decodes WFP net events (FWPM_NET_EVENT0…5, delivered by
// FwpmNetEventSubscribe0…4 and FwpmNetEventEnum0…5) into event.Event, and on
// Windows subscribes to them.
//
// The structs are read field by field from memory at documented offsets
// (see Layouts) instead of being cast to Go structs: the same decoder then
// runs on Linux over byte fixtures built from the C layouts, and a Go test
// checks every offset against the C headers with mingw (layout_test.go).
// All offsets are for 64-bit Windows (amd64 and arm64); windows/386 is not
// supported.
package netevent

// Version is the number of the FWPM_NET_EVENT struct (0…5).
type Version int

// The subscribe functions deliver one struct version each:
// FwpmNetEventSubscribe0 → FWPM_NET_EVENT1 … FwpmNetEventSubscribe4 →
// FWPM_NET_EVENT5. FwpmNetEventEnumN returns FWPM_NET_EVENTN.
const (
	V0 Version = iota
	V1
	V2
	V3
	V4
	V5
)

// SubscribeVersion returns the struct version that FwpmNetEventSubscribe<n>
// delivers.
func SubscribeVersion(n int) Version { return Version(n + 1) }

// Header offsets shared by FWPM_NET_EVENT_HEADER0…3.
const (
	offHdrTimeStamp  = 0
	offHdrFlags      = 8
	offHdrIPVersion  = 12
	offHdrIPProtocol = 16
	offHdrLocalAddr  = 20 // union {UINT32; FWP_BYTE_ARRAY16}: 4-aligned
	offHdrRemoteAddr = 36
	offHdrLocalPort  = 52
	offHdrRemotePort = 54
	offHdrScopeID    = 56
	offHdrAppIDSize  = 64 // FWP_BYTE_BLOB {UINT32 size; UINT8 *data}
	offHdrAppIDData  = 72
	offHdrUserID     = 80 // SID*
	// HEADER2 and HEADER3 only.
	offHdrAddressFamily = 88
	offHdrPackageSid    = 96
	// HEADER3 only.
	offHdrEnterpriseID = 104
	offHdrPolicyFlags  = 112
	offHdrEffName      = 120
)

// Header flags (FWPM_NET_EVENT_FLAG_*).
const (
	FlagIPProtocolSet = 0x1
	FlagLocalAddrSet  = 0x2
	FlagRemoteAddrSet = 0x4
	FlagLocalPortSet  = 0x8
	FlagRemotePortSet = 0x10
	FlagAppIDSet      = 0x20
	FlagUserIDSet     = 0x40
	FlagScopeIDSet    = 0x80
	FlagIPVersionSet  = 0x100
)

// Net-event types (FWPM_NET_EVENT_TYPE).
const (
	TypeIKEExtMMFailure   = 0
	TypeIKEExtQMFailure   = 1
	TypeIKEExtEMFailure   = 2
	TypeClassifyDrop      = 3
	TypeIPsecKernelDrop   = 4
	TypeIPsecDoSPDrop     = 5
	TypeClassifyAllow     = 6
	TypeCapabilityDrop    = 7
	TypeCapabilityAllow   = 8
	TypeClassifyDropMAC   = 9
	TypeLPMPacketArrival  = 10
	numTypes              = 11
	ipVersionV4           = 0 // FWP_IP_VERSION_V4
	ipVersionV6           = 1 // FWP_IP_VERSION_V6
	msFwpDirectionIn      = 0x3900
	msFwpDirectionOut     = 0x3901
	msFwpDirectionForward = 0x3902
	fwpDirectionOutbound  = 0 // FWP_DIRECTION_OUTBOUND
	fwpDirectionInbound   = 1 // FWP_DIRECTION_INBOUND
)

// Layout gives where the parts of one FWPM_NET_EVENTn version are.
type Layout struct {
	Version    Version
	Header     int // FWPM_NET_EVENT_HEADERn version
	HeaderSize int
	OffType    int // FWPM_NET_EVENT_TYPE type
	OffUnion   int // the union of pointers
	Size       int
	Drop       int // CLASSIFY_DROPn version the union points to
	MaxType    int // highest type this version may carry
}

// Layouts lists the FWPM_NET_EVENTn layouts, indexed by Version.
var Layouts = [...]Layout{
	V0: {V0, 0, 88, 88, 96, 104, 0, TypeIPsecDoSPDrop},
	V1: {V1, 1, 144, 144, 152, 160, 1, TypeIPsecDoSPDrop},
	V2: {V2, 2, 104, 104, 112, 120, 2, TypeClassifyDropMAC},
	V3: {V3, 3, 136, 136, 144, 152, 2, TypeClassifyDropMAC},
	V4: {V4, 3, 136, 136, 144, 152, 2, TypeClassifyDropMAC},
	V5: {V5, 3, 136, 136, 144, 152, 2, TypeLPMPacketArrival},
}

// Body layouts.
const (
	// FWPM_NET_EVENT_CLASSIFY_DROP0/1/2 and CLASSIFY_ALLOW0.
	offDropFilterID        = 0
	offDropLayerID         = 8
	offDropReauthReason    = 12
	offDropOriginalProfile = 16
	offDropCurrentProfile  = 20
	offDropMsFwpDirection  = 24
	offDropIsLoopback      = 28
	offDropVSwitchID       = 32 // FWP_BYTE_BLOB, DROP2 only
	offDropVSwitchSrcPort  = 48
	offDropVSwitchDstPort  = 52
	sizeDrop0              = 16
	sizeDrop1              = 32
	sizeDrop2              = 56
	sizeAllow0             = 32

	// FWPM_NET_EVENT_CLASSIFY_DROP_MAC0.
	offMacLocalMac        = 0
	offMacRemoteMac       = 6
	offMacMediaType       = 12
	offMacIfType          = 16
	offMacEtherType       = 20
	offMacNdisPortNumber  = 24
	offMacVlanTag         = 32
	offMacIfLuid          = 40
	offMacFilterID        = 48
	offMacLayerID         = 56
	offMacReauthReason    = 60
	offMacOriginalProfile = 64
	offMacCurrentProfile  = 68
	offMacMsFwpDirection  = 72
	offMacIsLoopback      = 76
	offMacVSwitchID       = 80
	sizeDropMAC0          = 104

	// FWPM_NET_EVENT_CAPABILITY_DROP0 / CAPABILITY_ALLOW0.
	offCapNetworkCapabilityID = 0
	offCapFilterID            = 8
	offCapIsLoopback          = 16
	sizeCap0                  = 24

	// FWPM_NET_EVENT_IPSEC_KERNEL_DROP0.
	offIKDFailureStatus = 0
	offIKDDirection     = 4
	offIKDSpi           = 8
	offIKDFilterID      = 16
	offIKDLayerID       = 24
	sizeIKD0            = 32

	// FWPM_NET_EVENT_IPSEC_DOSP_DROP0.
	offIDPIPVersion     = 0
	offIDPPublicHost    = 4
	offIDPInternalHost  = 20
	offIDPFailureStatus = 36
	offIDPDirection     = 40
	sizeIDP0            = 44
)
