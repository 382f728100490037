package wfp

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

//sys	fwpmEngineOpen0(serverName *uint16, authnService uint32, authIdentity uintptr, session *fwpmSession0, engineHandle *windows.Handle) (ret error) = fwpuclnt.FwpmEngineOpen0
//sys	fwpmEngineClose0(engineHandle windows.Handle) (ret error) = fwpuclnt.FwpmEngineClose0
//sys	fwpmEngineGetOption0(engineHandle windows.Handle, option uint32, value **fwpValue0) (ret error) = fwpuclnt.FwpmEngineGetOption0
//sys	fwpmEngineSetOption0(engineHandle windows.Handle, option uint32, newValue *fwpValue0) (ret error) = fwpuclnt.FwpmEngineSetOption0
//sys	fwpmFreeMemory0(p *unsafe.Pointer) = fwpuclnt.FwpmFreeMemory0
//sys	fwpmNetEventSubscribe0(engineHandle windows.Handle, subscription *fwpmNetEventSubscription0, callback uintptr, context uintptr, eventsHandle *windows.Handle) (ret error) = fwpuclnt.FwpmNetEventSubscribe0
//sys	fwpmNetEventSubscribe1(engineHandle windows.Handle, subscription *fwpmNetEventSubscription0, callback uintptr, context uintptr, eventsHandle *windows.Handle) (ret error) = fwpuclnt.FwpmNetEventSubscribe1
//sys	fwpmNetEventSubscribe2(engineHandle windows.Handle, subscription *fwpmNetEventSubscription0, callback uintptr, context uintptr, eventsHandle *windows.Handle) (ret error) = fwpuclnt.FwpmNetEventSubscribe2
//sys	fwpmNetEventSubscribe3(engineHandle windows.Handle, subscription *fwpmNetEventSubscription0, callback uintptr, context uintptr, eventsHandle *windows.Handle) (ret error) = fwpuclnt.FwpmNetEventSubscribe3
//sys	fwpmNetEventSubscribe4(engineHandle windows.Handle, subscription *fwpmNetEventSubscription0, callback uintptr, context uintptr, eventsHandle *windows.Handle) (ret error) = fwpuclnt.FwpmNetEventSubscribe4
//sys	fwpmNetEventUnsubscribe0(engineHandle windows.Handle, eventsHandle windows.Handle) (ret error) = fwpuclnt.FwpmNetEventUnsubscribe0
//sys	fwpmNetEventCreateEnumHandle0(engineHandle windows.Handle, enumTemplate *fwpmNetEventEnumTemplate0, enumHandle *windows.Handle) (ret error) = fwpuclnt.FwpmNetEventCreateEnumHandle0
//sys	fwpmNetEventDestroyEnumHandle0(engineHandle windows.Handle, enumHandle windows.Handle) (ret error) = fwpuclnt.FwpmNetEventDestroyEnumHandle0
//sys	fwpmNetEventEnum0(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmNetEventEnum0
//sys	fwpmNetEventEnum1(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmNetEventEnum1
//sys	fwpmNetEventEnum2(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmNetEventEnum2
//sys	fwpmNetEventEnum3(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmNetEventEnum3
//sys	fwpmNetEventEnum4(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmNetEventEnum4
//sys	fwpmNetEventEnum5(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmNetEventEnum5
//sys	fwpmFilterGetById0(engineHandle windows.Handle, id uint64, filter **fwpmFilter0) (ret error) = fwpuclnt.FwpmFilterGetById0
//sys	fwpmLayerGetById0(engineHandle windows.Handle, id uint16, layer **fwpmLayer0) (ret error) = fwpuclnt.FwpmLayerGetById0
//sys	fwpmProviderGetByKey0(engineHandle windows.Handle, key *GUID, provider **fwpmProvider0) (ret error) = fwpuclnt.FwpmProviderGetByKey0
//sys	fwpmFilterSubscribeChanges0(engineHandle windows.Handle, subscription *fwpmFilterSubscription0, callback uintptr, context uintptr, changeHandle *windows.Handle) (ret error) = fwpuclnt.FwpmFilterSubscribeChanges0
//sys	fwpmFilterUnsubscribeChanges0(engineHandle windows.Handle, changeHandle windows.Handle) (ret error) = fwpuclnt.FwpmFilterUnsubscribeChanges0
//sys	fwpmSubLayerAdd0(engineHandle windows.Handle, subLayer *fwpmSubLayer0, sd uintptr) (ret error) = fwpuclnt.FwpmSubLayerAdd0
//sys	fwpmFilterAdd0(engineHandle windows.Handle, filter *fwpmFilter0, sd uintptr, id *uint64) (ret error) = fwpuclnt.FwpmFilterAdd0
//sys	fwpmFilterDeleteById0(engineHandle windows.Handle, id uint64) (ret error) = fwpuclnt.FwpmFilterDeleteById0
//sys	fwpmTransactionBegin0(engineHandle windows.Handle, flags uint32) (ret error) = fwpuclnt.FwpmTransactionBegin0
//sys	fwpmTransactionCommit0(engineHandle windows.Handle) (ret error) = fwpuclnt.FwpmTransactionCommit0
//sys	fwpmTransactionAbort0(engineHandle windows.Handle) (ret error) = fwpuclnt.FwpmTransactionAbort0
//sys	fwpmFilterCreateEnumHandle0(engineHandle windows.Handle, enumTemplate uintptr, enumHandle *windows.Handle) (ret error) = fwpuclnt.FwpmFilterCreateEnumHandle0
//sys	fwpmFilterEnum0(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmFilterEnum0
//sys	fwpmFilterDestroyEnumHandle0(engineHandle windows.Handle, enumHandle windows.Handle) (ret error) = fwpuclnt.FwpmFilterDestroyEnumHandle0
//sys	fwpmProviderCreateEnumHandle0(engineHandle windows.Handle, enumTemplate uintptr, enumHandle *windows.Handle) (ret error) = fwpuclnt.FwpmProviderCreateEnumHandle0
//sys	fwpmProviderEnum0(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmProviderEnum0
//sys	fwpmProviderDestroyEnumHandle0(engineHandle windows.Handle, enumHandle windows.Handle) (ret error) = fwpuclnt.FwpmProviderDestroyEnumHandle0
//sys	fwpmSubLayerCreateEnumHandle0(engineHandle windows.Handle, enumTemplate uintptr, enumHandle *windows.Handle) (ret error) = fwpuclnt.FwpmSubLayerCreateEnumHandle0
//sys	fwpmSubLayerEnum0(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmSubLayerEnum0
//sys	fwpmSubLayerDestroyEnumHandle0(engineHandle windows.Handle, enumHandle windows.Handle) (ret error) = fwpuclnt.FwpmSubLayerDestroyEnumHandle0
//sys	fwpmLayerCreateEnumHandle0(engineHandle windows.Handle, enumTemplate uintptr, enumHandle *windows.Handle) (ret error) = fwpuclnt.FwpmLayerCreateEnumHandle0
//sys	fwpmLayerEnum0(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmLayerEnum0
//sys	fwpmLayerDestroyEnumHandle0(engineHandle windows.Handle, enumHandle windows.Handle) (ret error) = fwpuclnt.FwpmLayerDestroyEnumHandle0
//sys	fwpmCalloutCreateEnumHandle0(engineHandle windows.Handle, enumTemplate uintptr, enumHandle *windows.Handle) (ret error) = fwpuclnt.FwpmCalloutCreateEnumHandle0
//sys	fwpmCalloutEnum0(engineHandle windows.Handle, enumHandle windows.Handle, numEntriesRequested uint32, entries *unsafe.Pointer, numEntriesReturned *uint32) (ret error) = fwpuclnt.FwpmCalloutEnum0
//sys	fwpmCalloutDestroyEnumHandle0(engineHandle windows.Handle, enumHandle windows.Handle) (ret error) = fwpuclnt.FwpmCalloutDestroyEnumHandle0
//sys	fwpmGetAppIdFromFileName0(fileName *uint16, appID **fwpByteBlob) (ret error) = fwpuclnt.FwpmGetAppIdFromFileName0

// Go mirrors of the fwpmtypes.h structs passed to or read from fwpuclnt.
// Their sizes are pinned at compile time in sizes_windows.go and checked
// against C by the layout test.

// fwpmDisplayData0 mirrors FWPM_DISPLAY_DATA0.
//
//winbench:layout FWPM_DISPLAY_DATA0
type fwpmDisplayData0 struct {
	Name        *uint16 `c:"name"`
	Description *uint16 `c:"description"`
}

// fwpByteBlob mirrors FWP_BYTE_BLOB.
//
//winbench:layout FWP_BYTE_BLOB
type fwpByteBlob struct {
	Size uint32 `c:"size"`
	_    uint32
	Data *byte `c:"data"`
}

// fwpValue0 is FWP_VALUE0 and FWP_CONDITION_VALUE0: a type and an 8-byte
// union (an integer up to 32 bits, or a pointer).
//
//winbench:layout FWP_VALUE0
type fwpValue0 struct {
	Type  uint32 `c:"type"`
	_     uint32
	Value uintptr `c:"uint64"`
}

// fwpmFilterCondition0 mirrors FWPM_FILTER_CONDITION0.
//
//winbench:layout FWPM_FILTER_CONDITION0
type fwpmFilterCondition0 struct {
	FieldKey       GUID   `c:"fieldKey"`
	MatchType      uint32 `c:"matchType"`
	_              uint32
	ConditionValue fwpValue0 `c:"conditionValue"`
}

// fwpmAction0 mirrors FWPM_ACTION0.
//
//winbench:layout FWPM_ACTION0
type fwpmAction0 struct {
	Type       uint32 `c:"type"`
	FilterType GUID   `c:"filterType"`
}

// fwpmFilter0 mirrors FWPM_FILTER0.
//
//winbench:layout FWPM_FILTER0
type fwpmFilter0 struct {
	FilterKey           GUID             `c:"filterKey"`
	DisplayData         fwpmDisplayData0 `c:"displayData"`
	Flags               uint32           `c:"flags"`
	_                   uint32
	ProviderKey         *GUID       `c:"providerKey"`
	ProviderData        fwpByteBlob `c:"providerData"`
	LayerKey            GUID        `c:"layerKey"`
	SubLayerKey         GUID        `c:"subLayerKey"`
	Weight              fwpValue0   `c:"weight"`
	NumFilterConditions uint32      `c:"numFilterConditions"`
	_                   uint32
	FilterCondition     *fwpmFilterCondition0 `c:"filterCondition"`
	Action              fwpmAction0           `c:"action"`
	_                   uint32
	ProviderContextKey  GUID      `c:"providerContextKey"` // union { UINT64 rawContext; GUID providerContextKey }
	Reserved            *GUID     `c:"reserved"`
	FilterID            uint64    `c:"filterId"`
	EffectiveWeight     fwpValue0 `c:"effectiveWeight"`
}

// fwpmSubLayer0 mirrors FWPM_SUBLAYER0.
//
//winbench:layout FWPM_SUBLAYER0
type fwpmSubLayer0 struct {
	SubLayerKey  GUID             `c:"subLayerKey"`
	DisplayData  fwpmDisplayData0 `c:"displayData"`
	Flags        uint16           `c:"flags"`
	_            [6]byte
	ProviderKey  *GUID       `c:"providerKey"`
	ProviderData fwpByteBlob `c:"providerData"`
	Weight       uint16      `c:"weight"`
	_            [6]byte
}

// fwpmLayer0 mirrors FWPM_LAYER0.
//
//winbench:layout FWPM_LAYER0
type fwpmLayer0 struct {
	LayerKey           GUID             `c:"layerKey"`
	DisplayData        fwpmDisplayData0 `c:"displayData"`
	Flags              uint32           `c:"flags"`
	NumFields          uint32           `c:"numFields"`
	Field              uintptr          `c:"field"`
	DefaultSubLayerKey GUID             `c:"defaultSubLayerKey"`
	LayerID            uint16           `c:"layerId"`
	_                  [6]byte
}

// fwpmProvider0 mirrors FWPM_PROVIDER0.
//
//winbench:layout FWPM_PROVIDER0
type fwpmProvider0 struct {
	ProviderKey  GUID             `c:"providerKey"`
	DisplayData  fwpmDisplayData0 `c:"displayData"`
	Flags        uint32           `c:"flags"`
	_            uint32
	ProviderData fwpByteBlob `c:"providerData"`
	ServiceName  *uint16     `c:"serviceName"`
}

// fwpmCallout0 mirrors FWPM_CALLOUT0.
//
//winbench:layout FWPM_CALLOUT0
type fwpmCallout0 struct {
	CalloutKey      GUID             `c:"calloutKey"`
	DisplayData     fwpmDisplayData0 `c:"displayData"`
	Flags           uint32           `c:"flags"`
	_               uint32
	ProviderKey     *GUID       `c:"providerKey"`
	ProviderData    fwpByteBlob `c:"providerData"`
	ApplicableLayer GUID        `c:"applicableLayer"`
	CalloutID       uint32      `c:"calloutId"`
	_               uint32
}

// fwpV4AddrAndMask mirrors FWP_V4_ADDR_AND_MASK (host byte order).
//
//winbench:layout FWP_V4_ADDR_AND_MASK
type fwpV4AddrAndMask struct {
	Addr uint32 `c:"addr"`
	Mask uint32 `c:"mask"`
}

// fwpV6AddrAndMask mirrors FWP_V6_ADDR_AND_MASK.
//
//winbench:layout FWP_V6_ADDR_AND_MASK
type fwpV6AddrAndMask struct {
	Addr         [16]byte `c:"addr"`
	PrefixLength uint8    `c:"prefixLength"`
}

// fwpRange0 mirrors FWP_RANGE0.
//
//winbench:layout FWP_RANGE0
type fwpRange0 struct {
	ValueLow  fwpValue0 `c:"valueLow"`
	ValueHigh fwpValue0 `c:"valueHigh"`
}

// fwpmSession0 mirrors FWPM_SESSION0.
//
//winbench:layout FWPM_SESSION0
type fwpmSession0 struct {
	SessionKey           GUID             `c:"sessionKey"`
	DisplayData          fwpmDisplayData0 `c:"displayData"`
	Flags                uint32           `c:"flags"`
	TxnWaitTimeoutInMSec uint32           `c:"txnWaitTimeoutInMSec"`
	ProcessID            uint32           `c:"processId"`
	_                    uint32
	SID                  *windows.SID `c:"sid"`
	Username             *uint16      `c:"username"`
	KernelMode           int32        `c:"kernelMode"`
	_                    uint32
}

// fwpmNetEventEnumTemplate0 mirrors FWPM_NET_EVENT_ENUM_TEMPLATE0.
//
//winbench:layout FWPM_NET_EVENT_ENUM_TEMPLATE0
type fwpmNetEventEnumTemplate0 struct {
	StartTime           windows.Filetime `c:"startTime"`
	EndTime             windows.Filetime `c:"endTime"`
	NumFilterConditions uint32           `c:"numFilterConditions"`
	_                   uint32
	FilterCondition     *fwpmFilterCondition0 `c:"filterCondition"`
}

// fwpmNetEventSubscription0 mirrors FWPM_NET_EVENT_SUBSCRIPTION0.
//
//winbench:layout FWPM_NET_EVENT_SUBSCRIPTION0
type fwpmNetEventSubscription0 struct {
	EnumTemplate *fwpmNetEventEnumTemplate0 `c:"enumTemplate"`
	Flags        uint32                     `c:"flags"`
	SessionKey   GUID                       `c:"sessionKey"`
	_            uint32
}

// fwpmFilterSubscription0 mirrors FWPM_FILTER_SUBSCRIPTION0.
//
//winbench:layout FWPM_FILTER_SUBSCRIPTION0
type fwpmFilterSubscription0 struct {
	EnumTemplate uintptr `c:"enumTemplate"` // FWPM_FILTER_ENUM_TEMPLATE0*; nil = all filters
	Flags        uint32  `c:"flags"`
	SessionKey   GUID    `c:"sessionKey"`
	_            uint32
}

// fwpmFilterChange0 mirrors FWPM_FILTER_CHANGE0.
//
//winbench:layout FWPM_FILTER_CHANGE0
type fwpmFilterChange0 struct {
	ChangeType uint32 `c:"changeType"` // FWPM_CHANGE_ADD 1, FWPM_CHANGE_DELETE 2
	FilterKey  GUID   `c:"filterKey"`
	FilterID   uint64 `c:"filterId"`
}

// ptrAt turns an address that fwpuclnt handed out (a pointer inside memory
// it owns) into an unsafe.Pointer.
func ptrAt(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }
