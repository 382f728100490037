package smoke

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
	"golang.org/x/sys/windows"
)

// TestRealAPI calls real Windows APIs through x/sys/windows. Under Wine it
// also proves the ProcessPrng shim: crypto/rand reads through it.
func TestRealAPI(t *testing.T) {
	if pid := windows.GetCurrentProcessId(); pid == 0 {
		t.Fatal("GetCurrentProcessId returned 0")
	}
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		t.Fatalf("GetSystemDirectory: %v", err)
	}
	if !strings.EqualFold(filepath.Base(sys), "system32") {
		t.Errorf("GetSystemDirectory = %q, want ...\\system32", sys)
	}
	v := windows.RtlGetVersion()
	t.Logf("system directory %s, Windows %d.%d build %d", sys, v.MajorVersion, v.MinorVersion, v.BuildNumber)
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	if b == [32]byte{} {
		t.Error("crypto/rand returned zeros")
	}
}

// TestFakeDLL calls every export of the fake wfpwatchsmoke.dll.
func TestFakeDLL(t *testing.T) {
	wbtest.Need(t)
	if err := modwfpwatchsmoke.Load(); err != nil {
		t.Fatalf("load wfpwatchsmoke.dll from system32: %v", err)
	}
	if got := smokeAdd(40, 2); got != 42 {
		t.Errorf("WfpwatchSmokeAdd(40, 2) = %d, want 42", got)
	}

	var h netEventHeader0
	if err := smokeFill(&h); err != nil {
		t.Fatalf("WfpwatchSmokeFill: %v", err)
	}
	checkHeader(t, &h, 50000)
	if err := smokeFill(nil); !errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		t.Errorf("WfpwatchSmokeFill(NULL) = %v, want ERROR_INVALID_PARAMETER", err)
	}
}

func checkHeader(t *testing.T, h *netEventHeader0, port uint16) {
	t.Helper()
	if got := uint64(h.TimeStamp.HighDateTime)<<32 | uint64(h.TimeStamp.LowDateTime); got != 0x0123456789abcdef {
		t.Errorf("timeStamp = %#x", got)
	}
	if h.Flags != 0x3f || h.IPVersion != 0 || h.IPProtocol != 6 {
		t.Errorf("flags %#x ipVersion %d ipProtocol %d, want 0x3f 0 6", h.Flags, h.IPVersion, h.IPProtocol)
	}
	if h.LocalAddr[0] != 0xC0A80102 || h.RemoteAddr[0] != 0x08080808 {
		t.Errorf("addresses %#x %#x, want 0xc0a80102 0x08080808", h.LocalAddr[0], h.RemoteAddr[0])
	}
	if h.LocalPort != port || h.RemotePort != 443 || h.ScopeID != 0xdeadbeef {
		t.Errorf("ports %d %d scope %#x, want %d 443 0xdeadbeef", h.LocalPort, h.RemotePort, h.ScopeID, port)
	}
	app := windows.UTF16PtrToString((*uint16)(unsafe.Pointer(h.AppID.Data)))
	if want := `\device\harddiskvolume3\windows\system32\svchost.exe`; app != want || h.AppID.Size != uint32(2*(len(want)+1)) {
		t.Errorf("appId %q (%d bytes), want %q", app, h.AppID.Size, want)
	}
	if h.UserID != nil {
		t.Errorf("userId = %p, want nil", h.UserID)
	}
}

// callbackState receives the callbacks of TestFakeCallback.
type callbackState struct {
	mu    sync.Mutex
	ports []uint16
	t     *testing.T
}

var (
	smokeCallbackOnce sync.Once
	smokeCallbackPtr  uintptr

	// callbackStates maps the context value passed through C to the Go
	// state, so that no Go pointer is hidden in a uintptr.
	callbackStates sync.Map // uintptr → *callbackState
)

// smokeCallback is called by WfpwatchSmokeCall: a C function pointer made once
// with windows.NewCallback (callbacks are a limited resource).
func smokeCallback(context uintptr, h *netEventHeader0) uintptr {
	v, ok := callbackStates.Load(context)
	if !ok {
		return 0
	}
	s := v.(*callbackState)
	s.mu.Lock()
	defer s.mu.Unlock()
	checkHeader(s.t, h, uint16(50000+len(s.ports)))
	s.ports = append(s.ports, h.LocalPort)
	return 0
}

// TestFakeCallback has C call a Go callback with a struct pointer, the way
// FwpmNetEventSubscribe and EvtSubscribe deliver events.
func TestFakeCallback(t *testing.T) {
	wbtest.Need(t)
	smokeCallbackOnce.Do(func() { smokeCallbackPtr = windows.NewCallback(smokeCallback) })
	s := &callbackState{t: t}
	const key = 1
	callbackStates.Store(uintptr(key), s)
	defer callbackStates.Delete(uintptr(key))
	if err := smokeCall(smokeCallbackPtr, key, 3); err != nil {
		t.Fatalf("WfpwatchSmokeCall: %v", err)
	}
	if len(s.ports) != 3 || s.ports[2] != 50002 {
		t.Errorf("callback saw ports %v, want [50000 50001 50002]", s.ports)
	}
}

// TestFakeScenario writes a scenario file and has the fake read it from the
// path in an environment variable, the way the wevtapi and fwpuclnt fakes
// are scripted.
func TestFakeScenario(t *testing.T) {
	wbtest.Need(t)
	dir := wbtest.TempDir(t)
	p := filepath.Join(dir, "scenario.txt")
	if err := os.WriteFile(p, []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WFPWATCH_SMOKE_SCENARIO", p)
	var v uint32
	if err := smokeScenario(&v); err != nil {
		t.Fatalf("WfpwatchSmokeScenario(%s): %v", p, err)
	}
	if v != 4242 {
		t.Errorf("scenario value %d, want 4242", v)
	}
	t.Setenv("WFPWATCH_SMOKE_SCENARIO", filepath.Join(dir, "missing.txt"))
	if err := smokeScenario(&v); !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		t.Errorf("missing scenario file: %v, want ERROR_FILE_NOT_FOUND", err)
	}
}

// TestAuditQuerySystemPolicy calls advapi32!AuditQuerySystemPolicy for the
// Filtering Platform Connection subcategory. On Windows it needs
// SeSecurityPrivilege; Wine 8 implements it as a stub that fails. The test
// logs what happened and checks the result only when the call succeeds.
func TestAuditQuerySystemPolicy(t *testing.T) {
	if err := procAuditQuerySystemPolicy.Find(); err != nil {
		t.Skipf("advapi32 has no AuditQuerySystemPolicy: %v", err)
	}
	connection, err := windows.GUIDFromString("{0CCE9226-69AE-11D9-BED3-505054503030}")
	if err != nil {
		t.Fatal(err)
	}
	var p *auditPolicyInformation
	err = auditQuerySystemPolicy(&connection, 1, &p)
	if err != nil {
		t.Logf("AuditQuerySystemPolicy: %v (Wine stubs it; real Windows needs SeSecurityPrivilege)", err)
		return
	}
	defer auditFree(unsafe.Pointer(p))
	if p.AuditSubCategoryGUID != connection {
		t.Errorf("subcategory %v, want %v", p.AuditSubCategoryGUID, connection)
	}
	if p.AuditingInformation&^7 != 0 {
		t.Errorf("AuditingInformation = %#x, want a combination of 1, 2, 4", p.AuditingInformation)
	}
	t.Logf("Connection subcategory: AuditingInformation=%d category %v", p.AuditingInformation, p.AuditCategoryGUID)
}

// TestDisabledExport switches an export of the fake off through
// WFPWATCH_FAKE_DISABLE in a child process: LazyProc.Find fails for it, the
// way it fails for FwpmNetEventSubscribe4 on an older Windows, while the
// other exports still work.
func TestDisabledExport(t *testing.T) {
	wbtest.Need(t)
	if wbtest.Subprocess(t, wbtest.DisableEnv+"=wfpwatchsmoke!WfpwatchSmokeOptional,otherdll!WfpwatchSmokeAdd") {
		return
	}
	if err := procWfpwatchSmokeOptional.Find(); err == nil {
		t.Errorf("WfpwatchSmokeOptional found although %s switched it off", wbtest.DisableEnv)
	}
	if err := procWfpwatchSmokeAdd.Find(); err != nil {
		t.Fatalf("WfpwatchSmokeAdd (switched off for another DLL only): %v", err)
	}
	if got := smokeAdd(1, 2); got != 3 {
		t.Errorf("WfpwatchSmokeAdd(1, 2) = %d", got)
	}
}

// TestOptionalExport is the control: without the variable the export works.
func TestOptionalExport(t *testing.T) {
	wbtest.Need(t)
	if os.Getenv(wbtest.DisableEnv) != "" {
		t.Skip(wbtest.DisableEnv + " is set")
	}
	if got := smokeOptional(); got != 7 {
		t.Errorf("WfpwatchSmokeOptional() = %d, want 7", got)
	}
}

// TestTempDir uses t.TempDir and os.RemoveAll, whose Go 1.26 implementation
// needs FileDispositionInformationEx; under Wine 8 this passes only with the
// bench's Deleteat overlay (go run ./internal/winbench -overlay=false shows
// the failure: "unlinkat ...: Invalid function").
func TestTempDir(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatalf("os.RemoveAll: %v", err)
	}
}
