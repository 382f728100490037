package audit

// Raw advapi32 bindings, generated into zsyscall_windows.go (see the
// go:generate line in layout.go). The Audit* functions return BOOLEAN, one
// byte: only the low byte of r1 is meaningful.

//sys	auditQuerySystemPolicy(subcats *GUID, count uint32, policy **auditPolicyInformation) (err error) [failretval&0xff==0] = advapi32.AuditQuerySystemPolicy
//sys	auditSetSystemPolicy(policy *auditPolicyInformation, count uint32) (err error) [failretval&0xff==0] = advapi32.AuditSetSystemPolicy
//sys	auditFree(buffer unsafe.Pointer) = advapi32.AuditFree
