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
//sys	fwpmFilterAdd0(engineHandle windows.Handle, filter *fwpmFilter0, sd uintptr, id *uint64) (ret error) = fwpuclnt.FwpmFilterAdd0
//sys	fwpmFilterDeleteById0(engineHandle windows.Handle, id uint64) (ret error) = fwpuclnt.FwpmFilterDeleteById0
//sys	fwpmTransactionBegin0(engineHandle windows.Handle, flags uint32) (ret error) = fwpuclnt.FwpmTransactionBegin0
//sys	fwpmTransactionCommit0(engineHandle windows.Handle) (ret error) = fwpuclnt.FwpmTransactionCommit0
//sys	fwpmTransactionAbort0(engineHandle windows.Handle) (ret error) = fwpuclnt.FwpmTransactionAbort0
//sys	fwpmGetAppIdFromFileName0(fileName *uint16, appID **fwpByteBlob) (ret error) = fwpuclnt.FwpmGetAppIdFromFileName0

// Go mirrors of the fwpmtypes.h structs passed to or read from fwpuclnt.
// Their sizes are pinned at compile time in sizes_windows.go and checked
// against C by the layout test.

type fwpmDisplayData0 struct {
	Name        *uint16
	Description *uint16
}

type fwpByteBlob struct {
	Size uint32
	_    uint32
	Data *byte
}

// fwpValue0 is FWP_VALUE0 and FWP_CONDITION_VALUE0: a type and an 8-byte
// union (an integer up to 32 bits, or a pointer).
type fwpValue0 struct {
	Type  uint32
	_     uint32
	Value uintptr
}

type fwpmFilterCondition0 struct {
	FieldKey       GUID
	MatchType      uint32
	_              uint32
	ConditionValue fwpValue0
}

type fwpmAction0 struct {
	Type       uint32
	FilterType GUID
}

type fwpmFilter0 struct {
	FilterKey           GUID
	DisplayData         fwpmDisplayData0
	Flags               uint32
	_                   uint32
	ProviderKey         *GUID
	ProviderData        fwpByteBlob
	LayerKey            GUID
	SubLayerKey         GUID
	Weight              fwpValue0
	NumFilterConditions uint32
	_                   uint32
	FilterCondition     *fwpmFilterCondition0
	Action              fwpmAction0
	_                   uint32
	ProviderContextKey  GUID // union { UINT64 rawContext; GUID providerContextKey }
	Reserved            *GUID
	FilterID            uint64
	EffectiveWeight     fwpValue0
}

type fwpmLayer0 struct {
	LayerKey           GUID
	DisplayData        fwpmDisplayData0
	Flags              uint32
	NumFields          uint32
	Field              uintptr
	DefaultSubLayerKey GUID
	LayerID            uint16
	_                  [6]byte
}

type fwpmProvider0 struct {
	ProviderKey  GUID
	DisplayData  fwpmDisplayData0
	Flags        uint32
	_            uint32
	ProviderData fwpByteBlob
	ServiceName  *uint16
}

type fwpmSession0 struct {
	SessionKey           GUID
	DisplayData          fwpmDisplayData0
	Flags                uint32
	TxnWaitTimeoutInMSec uint32
	ProcessID            uint32
	_                    uint32
	SID                  *windows.SID
	Username             *uint16
	KernelMode           int32
	_                    uint32
}

type fwpmNetEventEnumTemplate0 struct {
	StartTime           windows.Filetime
	EndTime             windows.Filetime
	NumFilterConditions uint32
	_                   uint32
	FilterCondition     *fwpmFilterCondition0
}

type fwpmNetEventSubscription0 struct {
	EnumTemplate *fwpmNetEventEnumTemplate0
	Flags        uint32
	SessionKey   GUID
	_            uint32
}

type fwpmFilterSubscription0 struct {
	EnumTemplate uintptr // FWPM_FILTER_ENUM_TEMPLATE0*; nil = all filters
	Flags        uint32
	SessionKey   GUID
	_            uint32
}

type fwpmFilterChange0 struct {
	ChangeType uint32 // FWPM_CHANGE_ADD 1, FWPM_CHANGE_DELETE 2
	FilterKey  GUID
	FilterID   uint64
}

// ptrAt turns an address that fwpuclnt handed out (a pointer inside memory
// it owns) into an unsafe.Pointer.
func ptrAt(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }
