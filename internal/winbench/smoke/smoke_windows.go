package smoke

import "golang.org/x/sys/windows"

//sys	smokeAdd(a uint32, b uint32) (sum uint32) = wfpwatchsmoke.WfpwatchSmokeAdd
//sys	smokeOptional() (v uint32) = wfpwatchsmoke.WfpwatchSmokeOptional
//sys	smokeFill(h *netEventHeader0) (ret error) = wfpwatchsmoke.WfpwatchSmokeFill
//sys	smokeCall(cb uintptr, context uintptr, n uint32) (ret error) = wfpwatchsmoke.WfpwatchSmokeCall
//sys	smokeScenario(value *uint32) (ret error) = wfpwatchsmoke.WfpwatchSmokeScenario
//sys	auditQuerySystemPolicy(subcats *windows.GUID, n uint32, policy **auditPolicyInformation) (err error) [failretval&0xff==0] = advapi32.AuditQuerySystemPolicy
//sys	auditFree(buf unsafe.Pointer) = advapi32.AuditFree

// byteBlob mirrors FWP_BYTE_BLOB: size bytes at data, owned by the caller of
// the API that returned it.
//
//winbench:layout FWP_BYTE_BLOB
type byteBlob struct {
	Size uint32 `c:"size"`
	Data *byte  `c:"data"`
}

// netEventHeader0 mirrors FWPM_NET_EVENT_HEADER0 (fwpmtypes.h). The address
// unions are [4]uint32, not [16]byte: the C union is 4-byte aligned and
// starts at 20, where a [16]byte would start at 17.
//
//winbench:layout FWPM_NET_EVENT_HEADER0
type netEventHeader0 struct {
	TimeStamp  windows.Filetime `c:"timeStamp"`
	Flags      uint32           `c:"flags"`
	IPVersion  uint32           `c:"ipVersion"`
	IPProtocol uint8            `c:"ipProtocol"`
	LocalAddr  [4]uint32        `c:"localAddrV6"`
	RemoteAddr [4]uint32        `c:"remoteAddrV6"`
	LocalPort  uint16           `c:"localPort"`
	RemotePort uint16           `c:"remotePort"`
	ScopeID    uint32           `c:"scopeId"`
	AppID      byteBlob         `c:"appId"`
	UserID     *windows.SID     `c:"userId"`
}

// auditPolicyInformation mirrors AUDIT_POLICY_INFORMATION (ntsecapi.h).
//
//winbench:layout AUDIT_POLICY_INFORMATION
type auditPolicyInformation struct {
	AuditSubCategoryGUID windows.GUID `c:"AuditSubCategoryGuid"`
	AuditingInformation  uint32
	AuditCategoryGUID    windows.GUID `c:"AuditCategoryGuid"`
}
