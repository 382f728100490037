package audit

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// System returns the Policy of this host: AuditQuerySystemPolicy and
// AuditSetSystemPolicy with SeSecurityPrivilege enabled in the process
// token. It fails with ErrNotElevated when the privilege cannot be enabled.
func System() (Policy, error) {
	if err := enableSecurityPrivilege(); err != nil {
		return nil, err
	}
	return systemPolicy{}, nil
}

type systemPolicy struct{}

var privOnce struct {
	sync.Mutex
	done bool
}

// enableSecurityPrivilege enables SeSecurityPrivilege in the process token
// and checks that it is now enabled (AdjustTokenPrivileges succeeds with
// ERROR_NOT_ALL_ASSIGNED when the token lacks the privilege, which Go
// cannot see reliably, so the token is read back).
func enableSecurityPrivilege() error {
	privOnce.Lock()
	defer privOnce.Unlock()
	if privOnce.done {
		return nil
	}
	var luid windows.LUID
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr("SeSecurityPrivilege"), &luid); err != nil {
		return fmt.Errorf("LookupPrivilegeValue(SeSecurityPrivilege): %w", err)
	}
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, &tok); err != nil {
		return fmt.Errorf("OpenProcessToken: %w", err)
	}
	defer tok.Close()
	tp := windows.Tokenprivileges{PrivilegeCount: 1}
	tp.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	if err := windows.AdjustTokenPrivileges(tok, false, &tp, 0, nil, nil); err != nil {
		return fmt.Errorf("AdjustTokenPrivileges(SeSecurityPrivilege): %w", err)
	}
	enabled, err := privilegeEnabled(tok, luid)
	if err != nil {
		return err
	}
	if !enabled {
		return ErrNotElevated
	}
	privOnce.done = true
	return nil
}

func privilegeEnabled(tok windows.Token, luid windows.LUID) (bool, error) {
	var n uint32
	_ = windows.GetTokenInformation(tok, windows.TokenPrivileges, nil, 0, &n)
	if n == 0 {
		return false, errors.New("GetTokenInformation(TokenPrivileges): no size returned")
	}
	buf := make([]byte, n)
	if err := windows.GetTokenInformation(tok, windows.TokenPrivileges, &buf[0], n, &n); err != nil {
		return false, fmt.Errorf("GetTokenInformation(TokenPrivileges): %w", err)
	}
	tp := (*windows.Tokenprivileges)(unsafe.Pointer(&buf[0]))
	for _, p := range tp.AllPrivileges() {
		if p.Luid == luid {
			return p.Attributes&windows.SE_PRIVILEGE_ENABLED != 0, nil
		}
	}
	return false, nil
}

func mapErr(call string, err error) error {
	switch {
	case errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD), errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%s: %v: %w", call, err, ErrNotElevated)
	}
	return fmt.Errorf("%s: %w", call, err)
}

// Query calls AuditQuerySystemPolicy. The buffer it returns (an array of
// AUDIT_POLICY_INFORMATION owned by the system) is copied and released with
// AuditFree before Query returns.
func (systemPolicy) Query(subcats []GUID) ([]Setting, error) {
	if len(subcats) == 0 {
		return nil, nil
	}
	var p *auditPolicyInformation
	if err := auditQuerySystemPolicy(&subcats[0], uint32(len(subcats)), &p); err != nil {
		return nil, mapErr("AuditQuerySystemPolicy", err)
	}
	if p == nil {
		return nil, errors.New("AuditQuerySystemPolicy: returned no buffer")
	}
	defer auditFree(unsafe.Pointer(p))
	infos := unsafe.Slice(p, len(subcats))
	out := make([]Setting, len(subcats))
	for i, g := range subcats {
		if infos[i].SubCategory != g {
			return nil, fmt.Errorf("AuditQuerySystemPolicy: entry %d is %s, asked for %s", i, infos[i].SubCategory, g)
		}
		out[i] = Setting(infos[i].Information)
	}
	return out, nil
}

// Set calls AuditSetSystemPolicy with one AUDIT_POLICY_INFORMATION per
// subcategory (the category GUID is ignored by Windows and left zero).
func (systemPolicy) Set(subcats []GUID, settings []Setting) error {
	if len(subcats) == 0 {
		return nil
	}
	infos := make([]auditPolicyInformation, len(subcats))
	for i, g := range subcats {
		if settings[i] == Unchanged {
			return errors.New("internal error: refusing to write POLICY_AUDIT_EVENT_UNCHANGED")
		}
		infos[i] = auditPolicyInformation{SubCategory: g, Information: uint32(settings[i])}
	}
	if err := auditSetSystemPolicy(&infos[0], uint32(len(infos))); err != nil {
		return mapErr("AuditSetSystemPolicy", err)
	}
	return nil
}

// LegacyMayOverride reports whether SCENoApplyLegacyAuditPolicy is not 1,
// so that a category-level (legacy) audit policy from Group Policy can
// override the subcategory settings.
func (systemPolicy) LegacyMayOverride() (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\Lsa`, registry.QUERY_VALUE)
	if err != nil {
		return false, fmt.Errorf("open HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa: %w", err)
	}
	defer k.Close()
	v, _, err := k.GetIntegerValue("SCENoApplyLegacyAuditPolicy")
	if errors.Is(err, registry.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read SCENoApplyLegacyAuditPolicy: %w", err)
	}
	return v != 1, nil
}

// Self returns the Owner describing this process (for a watch).
func Self(command string) Owner {
	return Owner{Command: command, PID: os.Getpid(), Started: processStart(windows.CurrentProcess())}
}

func processStart(h windows.Handle) time.Time {
	var c, e, k, u windows.Filetime
	if err := windows.GetProcessTimes(h, &c, &e, &k, &u); err != nil {
		return time.Time{}
	}
	return time.Unix(0, c.Nanoseconds()).UTC()
}

// Alive reports whether the process of o still runs: its pid exists, has
// not exited, and started when o says (so that a reused pid is not taken
// for the owner).
func Alive(o Owner) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(o.PID))
	if err != nil {
		// Access denied means the process exists (a protected one); a
		// missing pid gives ERROR_INVALID_PARAMETER.
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err == nil && code != 259 /* STILL_ACTIVE */ {
		return false
	}
	if o.Started.IsZero() {
		return true
	}
	return processStart(h).Equal(o.Started)
}

// DefaultStatePath is where the snapshot lives:
// %ProgramData%\wfpwatch\audit-snapshot.json, in the locked-down state
// directory (see statedir).
func DefaultStatePath() string { return statedir.Path("audit-snapshot.json") }
