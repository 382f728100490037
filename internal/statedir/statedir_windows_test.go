package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

func security(t *testing.T, path string) *windows.SECURITY_DESCRIPTOR {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetNamedSecurityInfo(%s): %v", path, err)
	}
	return sd
}

// TestEnsureCreatesProtectedDir: the directory is created with owner
// Administrators and a protected DACL for SYSTEM and Administrators only.
// Only real Windows keeps them; under Wine the calls are shown to succeed.
func TestEnsureCreatesProtectedDir(t *testing.T) {
	dir := filepath.Join(wbtest.TempDir(t), "wfpwatch")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	sd := security(t, dir)
	t.Logf("created: %s", sd)
	p := filepath.Join(dir, "audit-snapshot.json")
	if err := WriteFile(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	t.Logf("file: %s", security(t, p))
	if _, err := ReadFile(p); err != nil {
		t.Fatalf("ReadFile of our own file: %v", err)
	}
	if wbtest.Enabled() {
		t.Log("under Wine: security descriptors are derived from Unix modes, so owner and DACL are not checked here")
		return
	}
	own, _, err := sd.Owner()
	if err != nil || !trusted(own) {
		t.Errorf("owner %v (%v), want Administrators", own, err)
	}
	if loose(sd) {
		t.Errorf("DACL not locked down: %s", sd)
	}
}

// TestLoose: which DACLs count as locked down.
func TestLoose(t *testing.T) {
	for _, tc := range []struct {
		sddl  string
		loose bool
	}{
		{dirSDDL, false},
		{"O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", false},
		{"O:BAD:P(A;OICI;FA;;;SY)", false},
		{"O:BAD:P(D;OICI;FA;;;WD)(A;OICI;FA;;;BA)", false},
		{"O:BAD:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", true},                   // not protected: ProgramData's entries come in
		{"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;CI;0x116;;;BU)", true}, // Users may create files (ProgramData's default)
		{"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)", true},
		{"O:BAD:NO_ACCESS_CONTROL", true}, // NULL DACL
	} {
		sd, err := windows.SecurityDescriptorFromString(tc.sddl)
		if err != nil {
			t.Logf("%s: %v (not supported here)", tc.sddl, err)
			continue
		}
		if got := loose(sd); got != tc.loose {
			t.Errorf("%s: loose = %v, want %v", tc.sddl, got, tc.loose)
		}
	}
}

// TestEnsureLocksDownInheritedDir: a directory made by an older wfpwatch,
// with the permissions inherited from its parent, gets the protected DACL.
func TestEnsureLocksDownInheritedDir(t *testing.T) {
	dir := filepath.Join(wbtest.TempDir(t), "wfpwatch")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	before := security(t, dir)
	t.Logf("before: %s", before)
	if !loose(before) {
		t.Fatalf("an inherited DACL counts as locked down: %s", before)
	}
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	after := security(t, dir)
	t.Logf("after: %s", after)
	if wbtest.Enabled() {
		t.Log("under Wine: SetNamedSecurityInfo succeeds but Wine keeps no DACL, so the result is not checked here")
		return
	}
	if loose(after) {
		t.Errorf("DACL not locked down: %s", after)
	}
}

// TestUntrustedOwnerRefused: a directory or file owned by someone other
// than SYSTEM and Administrators is refused with a message that says how
// to fix it. Under Wine every file is the test user's, which is exactly
// such an owner once the test trust is off.
func TestUntrustedOwnerRefused(t *testing.T) {
	dir := filepath.Join(wbtest.TempDir(t), "wfpwatch")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "audit-snapshot.json")
	if err := WriteFile(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if wbtest.Enabled() {
		strict = true
		defer func() { strict = false }()
	} else {
		users, err := windows.CreateWellKnownSid(windows.WinBuiltinUsersSid)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{p, dir} {
			if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION, users, nil, nil, nil); err != nil {
				t.Skipf("cannot give %s to BUILTIN\\Users here (needs SeRestorePrivilege): %v", path, err)
			}
		}
	}
	_, err := ReadFile(p)
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("planted file: %v, want ErrUntrusted", err)
	}
	t.Logf("file: %v", err)
	if err := CheckFile(p); !errors.Is(err, ErrUntrusted) {
		t.Errorf("CheckFile: %v", err)
	}
	err = Ensure(dir)
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("directory of another owner: %v, want ErrUntrusted", err)
	}
	t.Logf("dir: %v", err)
	// A new file of an untrusted owner is given to Administrators by
	// WriteFile, or the write fails; it is never left untrusted.
	if err := WriteFile(p, []byte("{}")); err == nil {
		sd := security(t, p)
		if own, _, _ := sd.Owner(); !trusted(own) && !wbtest.Enabled() {
			t.Errorf("WriteFile left owner %s", own)
		}
	}
}

// TestWineDetected: under the bench the Wine user is trusted (Wine keeps
// no owners); on Windows no one but SYSTEM and Administrators is.
func TestWineDetected(t *testing.T) {
	if wbtest.Enabled() && wineUser() == nil {
		t.Fatal("Wine not detected under the bench")
	}
	t.Logf("wine user: %v", wineUser())
}
