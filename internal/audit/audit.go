// Package audit reads, changes and restores the two Filtering Platform
// audit subcategories that make Windows write the 5031/5150–5159 events to
// the Security log, and does so without harming the host: the policy is
// snapshotted to a state file before anything is changed, only what was off
// is turned on, and restore writes back exactly what was there — "no
// auditing" as POLICY_AUDIT_EVENT_NONE (4), never as 0, which means
// "unchanged" to AuditSetSystemPolicy and would leave auditing on.
//
// The logic (what to change, the snapshot, restore, crash-leftover repair,
// drift checks) is portable and works on a Policy; on Windows, System
// returns the Policy backed by AuditQuerySystemPolicy/AuditSetSystemPolicy,
// elsewhere it returns ErrNeedsWindows. Subcategories are identified by GUID
// only, never by their localized names.
package audit

import (
	"errors"
	"fmt"
	"strings"
)

// GUID is a Windows GUID in its in-memory layout.
type GUID struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

// String formats g as {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.
func (g GUID) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		g.Data1, g.Data2, g.Data3, g.Data4[0], g.Data4[1],
		g.Data4[2], g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7])
}

// ParseGUID parses "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (braces
// optional, any case).
func ParseGUID(s string) (GUID, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var g GUID
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return g, fmt.Errorf("%q is not a GUID", s)
	}
	hex := strings.ReplaceAll(t, "-", "")
	var b [16]byte
	for i := range b {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return GUID{}, fmt.Errorf("%q is not a GUID", s)
		}
		b[i] = hi<<4 | lo
	}
	g.Data1 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	g.Data2 = uint16(b[4])<<8 | uint16(b[5])
	g.Data3 = uint16(b[6])<<8 | uint16(b[7])
	copy(g.Data4[:], b[8:])
	return g, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// MarshalText writes the braced form, so that state files are readable.
func (g GUID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText parses the braced form.
func (g *GUID) UnmarshalText(b []byte) error {
	v, err := ParseGUID(string(b))
	if err != nil {
		return err
	}
	*g = v
	return nil
}

// The Filtering Platform subcategories (category Object Access).
var (
	// Connection is "Filtering Platform Connection": 5031, 5154–5159
	// (failure: blocks; success: permits).
	Connection = GUID{0x0CCE9226, 0x69AE, 0x11D9, [8]byte{0xBE, 0xD3, 0x50, 0x50, 0x54, 0x50, 0x30, 0x30}}
	// PacketDrop is "Filtering Platform Packet Drop": 5150–5153.
	PacketDrop = GUID{0x0CCE9225, 0x69AE, 0x11D9, [8]byte{0xBE, 0xD3, 0x50, 0x50, 0x54, 0x50, 0x30, 0x30}}
	// ObjectAccess is the category of both.
	ObjectAccess = GUID{0x6997984A, 0x797A, 0x11D9, [8]byte{0xBE, 0xD3, 0x50, 0x50, 0x54, 0x50, 0x30, 0x30}}
)

// Subcategories lists the subcategories this package manages, in the order
// they are queried, snapshotted and restored.
var Subcategories = []GUID{Connection, PacketDrop}

// Name returns an English name for a managed subcategory, for output only.
func Name(g GUID) string {
	switch g {
	case Connection:
		return "Filtering Platform Connection"
	case PacketDrop:
		return "Filtering Platform Packet Drop"
	}
	return g.String()
}

// Setting is an AuditingInformation mask (POLICY_AUDIT_EVENT_*).
type Setting uint32

// The flags of a Setting.
const (
	// Unchanged (0) tells AuditSetSystemPolicy to change nothing. It is
	// never written by this package.
	Unchanged Setting = 0
	Success   Setting = 1
	Failure   Setting = 2
	// None (4) switches auditing off for the subcategory. A query may
	// return it, or 0, for "no auditing".
	None Setting = 4
)

// Audited returns only the success/failure bits of s: what is actually
// audited. None and 0 both give 0.
func (s Setting) Audited() Setting { return s & (Success | Failure) }

// Has reports whether every audited bit of want is set in s.
func (s Setting) Has(want Setting) bool { return s.Audited()&want.Audited() == want.Audited() }

// Write returns the value to pass to AuditSetSystemPolicy so that the
// subcategory ends up auditing exactly s.Audited(): "no auditing" is written
// as None (4), never as 0.
func (s Setting) Write() Setting {
	if a := s.Audited(); a != 0 {
		return a
	}
	return None
}

// String names the setting the way auditpol does: "Success and Failure",
// "Success", "Failure" or "No Auditing".
func (s Setting) String() string {
	switch s.Audited() {
	case Success | Failure:
		return "Success and Failure"
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	}
	return "No Auditing"
}

// Policy reads and writes the system audit policy of subcategories. The
// Windows implementation calls AuditQuerySystemPolicy/AuditSetSystemPolicy;
// tests use a fake.
type Policy interface {
	// Query returns the current setting of each subcategory, in order.
	Query(subcats []GUID) ([]Setting, error)
	// Set writes settings[i] for subcats[i]. Callers never pass Unchanged.
	Set(subcats []GUID, settings []Setting) error
}

// LegacyChecker is implemented by Policies that can tell whether legacy
// (category-level) audit policy may override subcategory settings, that is,
// whether HKLM\SYSTEM\CurrentControlSet\Control\Lsa\SCENoApplyLegacyAuditPolicy
// is not 1.
type LegacyChecker interface {
	LegacyMayOverride() (bool, error)
}

// Errors a user can act on. The Windows Policy wraps its failures in these
// so that commands can say what to do.
var (
	// ErrNeedsWindows is returned by System on other systems.
	ErrNeedsWindows = errors.New("audit policy needs Windows")
	// ErrNotElevated means SeSecurityPrivilege could not be enabled.
	ErrNotElevated = errors.New("not elevated: run as administrator (SeSecurityPrivilege is needed to read and change audit policy)")
	// ErrLocked means the change did not stick: a policy (Group Policy,
	// legacy category policy) holds the subcategory.
	ErrLocked = errors.New("audit policy is locked: the change did not stick (Group Policy or a legacy category policy holds it); ask the domain administrator to enable \"Audit Filtering Platform Connection\" (and \"Packet Drop\" for --packets) in Group Policy")
)
