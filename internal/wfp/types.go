package wfp

import (
	"errors"
	"fmt"
)

// FilterInfo is what wfpwatch keeps of an FWPM_FILTER0.
type FilterInfo struct {
	ID          uint64
	Key         GUID
	Name        string
	Description string
	ProviderKey GUID // zero when the filter has no provider
	Provider    string
	LayerKey    GUID
	LayerID     uint16 // run-time id of LayerKey, when known
	Weight      uint64 // the effective weight when given, else the weight
	Action      uint32
	// RuleID is the firewall rule id a Windows Firewall filter carries in
	// its provider data (UTF-16), when it has one.
	RuleID string
}

// LayerInfo is what wfpwatch keeps of an FWPM_LAYER0.
type LayerInfo struct {
	ID   uint16
	Key  GUID
	Name string // display name, e.g. "ALE Connect v4 Layer"
}

// Filter is a filter to add: a block filter of the self-test.
type Filter struct {
	Key        GUID // zero: the engine picks one
	Name       string
	Desc       string
	Flags      uint32
	LayerKey   GUID
	Action     uint32
	Conditions []Condition
	// SubLayer is the sublayer the filter goes into (zero: the layer's
	// default sublayer, FWPM_SUBLAYER_UNIVERSAL for most).
	SubLayer GUID
}

// SubLayer is a sublayer to add: the self-test's own, so that its blocks
// are arbitrated before (and, with FilterFlagClearActionRight, cannot be
// overridden by) the filters of other sublayers.
type SubLayer struct {
	Key    GUID
	Name   string
	Desc   string
	Weight uint16 // 0xFFFF is the highest
}

// FilterChange is an FWPM_FILTER_CHANGE0 notification.
type FilterChange struct {
	Added    bool // FWPM_CHANGE_ADD; else FWPM_CHANGE_DELETE
	FilterID uint64
	Key      GUID
}

// ErrNeedsWindows is returned by every engine call on other systems.
var ErrNeedsWindows = errors.New("the WFP engine needs Windows: on other systems use 'wfpwatch analyze' on saved files")

// ErrNoExport means fwpuclnt.dll lacks the function (an older Windows).
var ErrNoExport = errors.New("fwpuclnt.dll does not export this function on this Windows")

// StatusError is a DWORD status returned by an Fwpm* call.
type StatusError struct {
	Call   string
	Status uint32
}

func (e *StatusError) Error() string {
	hint := ""
	switch e.Status {
	case ErrAccessDenied:
		hint = ": access denied: run as administrator (the base filtering engine needs FWPM_ACTRL rights)"
	case ErrEptNotRegistered:
		hint = ": the Base Filtering Engine (BFE) is not running yet; it is retried"
	case ErrRPCServerUnavailable:
		hint = ": the Base Filtering Engine (BFE) service is unavailable: check 'sc query bfe'"
	case ErrFilterNotFound:
		hint = ": filter not found (it may have been removed)"
	case ErrLayerNotFound:
		hint = ": layer not found"
	case ErrNetEventsDisabled:
		hint = ": net-event collection is off on this host"
	case ErrRPCCallFailed, ErrRPCCallFailedDNE, ErrRPCNullContext, ErrSessionAborted:
		hint = ": the Base Filtering Engine restarted or went away; the handle is reopened"
	}
	return fmt.Sprintf("%s: status 0x%08X%s", e.Call, e.Status, hint)
}

// Status returns the DWORD status of err when it is (or wraps) a
// StatusError, else 0.
func Status(err error) uint32 {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}
