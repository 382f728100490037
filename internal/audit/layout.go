package audit

import "unsafe"

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go syscall_windows.go

// auditPolicyInformation mirrors AUDIT_POLICY_INFORMATION (ntsecapi.h):
// GUID AuditSubCategoryGuid @0, ULONG AuditingInformation @16, GUID
// AuditCategoryGuid @20; 36 bytes, 4-byte aligned on every Windows
// architecture. The category GUID is ignored by AuditSetSystemPolicy.
type auditPolicyInformation struct {
	SubCategory GUID
	Information uint32
	Category    GUID
}

// Compile-time pins: the build fails if the mirror drifts from the C layout.
var (
	_ [36]byte = [unsafe.Sizeof(auditPolicyInformation{})]byte{}
	_ [16]byte = [unsafe.Offsetof(auditPolicyInformation{}.Information)]byte{}
	_ [20]byte = [unsafe.Offsetof(auditPolicyInformation{}.Category)]byte{}
	_ [4]byte  = [unsafe.Alignof(auditPolicyInformation{})]byte{}
	_ [16]byte = [unsafe.Sizeof(GUID{})]byte{}
)
