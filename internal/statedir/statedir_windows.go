package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// dirSDDL is the security descriptor of the state directory: owner
// Administrators (O:BA), a protected DACL (P: nothing inherited from
// ProgramData) granting full control (FA) to SYSTEM (SY) and
// Administrators (BA), inherited by files and subdirectories (OICI).
const dirSDDL = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// dirDACL is the same without the owner, for re-applying the DACL to a
// directory that already has a trusted owner.
const dirDACL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

func defaultDir() string {
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "wfpwatch")
}

func samePath(a, b string) bool { return strings.EqualFold(filepath.Clean(a), filepath.Clean(b)) }

// fixDir is the advice given when the directory cannot be trusted.
func fixDir(dir string) string {
	return fmt.Sprintf(`check the files in it, then either delete it (rmdir /s "%s") and run wfpwatch again, which creates it locked down, or take it back from an elevated prompt: takeown /F "%s" /A /R /D Y && icacls "%s" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F`, dir, dir, dir)
}

// Ensure creates dir (its parents as usual) with the protected DACL of
// dirSDDL when it is missing, or checks it: it must be a directory, not a
// reparse point (junction, symbolic link, mount point), owned by SYSTEM or
// Administrators. A trusted directory whose DACL is not protected or lets
// anyone else in (one created by an older wfpwatch, with the permissions
// inherited from ProgramData) gets the protected DACL again.
func Ensure(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := createLocked(dir); err != nil {
			return err
		}
	}
	h, err := openNoFollow(dir, true)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("open the state directory %s: %w: run wfpwatch from an elevated prompt (the directory is for SYSTEM and Administrators only)", dir, err)
	}
	if err != nil {
		return fmt.Errorf("open the state directory %s: %w", dir, err)
	}
	defer windows.CloseHandle(h)
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fmt.Errorf("GetFileInformationByHandle(%s): %w", dir, err)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		return fmt.Errorf("state directory %s is a junction or symbolic link (a reparse point), which wfpwatch does not follow: %w; remove the link (rmdir \"%s\") and run wfpwatch again, which creates the directory locked down", dir, ErrUntrusted, dir)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		return fmt.Errorf("state directory %s is not a directory: %w; delete it (del \"%s\") and run wfpwatch again", dir, ErrUntrusted, dir)
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("GetSecurityInfo(%s): %w", dir, err)
	}
	own, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", dir, err)
	}
	if !trusted(own) {
		return fmt.Errorf("state directory %s is owned by %s, not by SYSTEM or Administrators, so another user may have planted files in it: %w; %s", dir, account(own), ErrUntrusted, fixDir(dir))
	}
	if loose(sd) {
		if err := lockDown(dir); err != nil {
			return fmt.Errorf("state directory %s lets users other than SYSTEM and Administrators in, and its permissions could not be restricted (%v): run wfpwatch from an elevated prompt, or %s", dir, err, fixDir(dir))
		}
	}
	return nil
}

// createLocked creates dir with dirSDDL. If the owner cannot be set (a
// process that is not elevated may not make Administrators the owner), the
// directory is not created and the error says to run elevated.
func createLocked(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	sd, err := windows.SecurityDescriptorFromString(dirSDDL)
	if err != nil {
		return fmt.Errorf("SecurityDescriptorFromString: %w", err)
	}
	sa := windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(sa))
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	err = windows.CreateDirectory(p, &sa)
	switch {
	case err == nil, errors.Is(err, windows.ERROR_ALREADY_EXISTS):
		return nil
	case errors.Is(err, windows.ERROR_INVALID_OWNER), errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("create the state directory %s: CreateDirectory: %w: run wfpwatch from an elevated prompt (the directory is owned by Administrators)", dir, err)
	}
	return fmt.Errorf("create the state directory %s: CreateDirectory: %w", dir, err)
}

// lockDown sets the protected DACL on dir (SetNamedSecurityInfo also
// brings the permissions of the files in it in line).
func lockDown(dir string) error {
	sd, err := windows.SecurityDescriptorFromString(dirDACL)
	if err != nil {
		return fmt.Errorf("SecurityDescriptorFromString: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("SetNamedSecurityInfo: %w", err)
	}
	return nil
}

// loose reports whether sd's DACL is not protected, is missing (NULL:
// everyone), or has an allow entry for anyone but SYSTEM and
// Administrators.
func loose(sd *windows.SECURITY_DESCRIPTOR) bool {
	ctl, _, err := sd.Control()
	if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
		return true
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return true
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return true
		}
		if ace.Header.AceType == windows.ACCESS_DENIED_ACE_TYPE {
			continue
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			return true // object or callback entries: not ours
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if !trusted(sid) {
			return true
		}
	}
	return false
}

// wineUser is the user running this process when it runs under Wine,
// and nil on Windows. Wine keeps no owners — it derives security
// descriptors from Unix modes and reports the user running Wine as the
// owner of every file — and has no users to protect from each other (every
// process is the same Unix user), so there that user is trusted too;
// otherwise wfpwatch could not keep state under Wine at all (the Windows
// ABI bench runs it there). Whether this is Wine is read from ntdll.dll,
// a system file a standard user cannot replace.
var wineUser = sync.OnceValue(func() *windows.SID {
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() != nil {
		return nil
	}
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_QUERY, &tok); err != nil {
		return nil
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil
	}
	sid, err := u.User.Sid.Copy()
	if err != nil {
		return nil
	}
	return sid
})

// strict turns wineUser off (for the test of the refusal itself).
var strict bool

// trusted reports whether sid is SYSTEM or BUILTIN\Administrators.
func trusted(sid *windows.SID) bool {
	if sid == nil || !sid.IsValid() {
		return false
	}
	if u := wineUser(); u != nil && !strict && sid.Equals(u) {
		return true
	}
	return sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid)
}

// account names sid for a message: DOMAIN\name (S-1-…), or the SID alone.
func account(sid *windows.SID) string {
	if sid == nil {
		return "nobody"
	}
	s := sid.String()
	if a, d, _, err := sid.LookupAccount(""); err == nil {
		if d != "" {
			a = d + `\` + a
		}
		return a + " (" + s + ")"
	}
	return s
}

// openNoFollow opens path for reading its attributes and security (and its
// data, for a file) without following a reparse point.
func openNoFollow(path string, dir bool) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	access := uint32(windows.READ_CONTROL | windows.FILE_READ_ATTRIBUTES)
	flags := uint32(windows.FILE_FLAG_OPEN_REPARSE_POINT)
	if dir {
		flags |= windows.FILE_FLAG_BACKUP_SEMANTICS
	} else {
		access |= windows.GENERIC_READ
	}
	h, err := windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING, flags, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return windows.InvalidHandle, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		return windows.InvalidHandle, &fs.PathError{Op: "CreateFile", Path: path, Err: err}
	}
	return h, nil
}

// openChecked opens the state file path and checks the open handle: not a
// reparse point, not a directory, one link, owner SYSTEM or Administrators.
func openChecked(path string) (*os.File, error) {
	h, err := openNoFollow(path, false)
	if err != nil {
		return nil, err
	}
	if err := checkHandle(h, path); err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return os.NewFile(uintptr(h), path), nil
}

func checkHandle(h windows.Handle, path string) error {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fmt.Errorf("GetFileInformationByHandle(%s): %w", path, err)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		return fmt.Errorf("state file %s is a symbolic link or junction (a reparse point), which wfpwatch does not follow: %w; delete it (del \"%s\") and run again", path, ErrUntrusted, path)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		return fmt.Errorf("state file %s is a directory: %w; remove it and run again", path, ErrUntrusted)
	}
	if info.NumberOfLinks > 1 {
		return fmt.Errorf("state file %s has %d hard links, which no file of wfpwatch has: %w; delete it (del \"%s\") and run again", path, info.NumberOfLinks, ErrUntrusted, path)
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("GetSecurityInfo(%s): %w", path, err)
	}
	own, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", path, err)
	}
	if !trusted(own) {
		return fmt.Errorf("state file %s is owned by %s, not by SYSTEM or Administrators, so wfpwatch did not write it: %w; check what it says, then delete it (del \"%s\") and run again", path, account(own), ErrUntrusted, path)
	}
	return nil
}

// trustOwner makes Administrators the owner of the new file path when the
// process token made someone else its owner (the policy "Default owner for
// objects created by members of the Administrators group: Object creator"
// makes it the user). A file owned by SYSTEM (the service) is left so.
func trustOwner(path string) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("GetNamedSecurityInfo(%s): %w", path, err)
	}
	if own, _, err := sd.Owner(); err == nil && trusted(own) {
		return nil
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return fmt.Errorf("CreateWellKnownSid(Administrators): %w", err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION, admins, nil, nil, nil); err != nil {
		return fmt.Errorf("make Administrators the owner of %s: SetNamedSecurityInfo: %w: run wfpwatch from an elevated prompt", path, err)
	}
	return nil
}
