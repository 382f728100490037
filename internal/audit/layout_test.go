package audit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestLayoutAgainstMingw compiles _Static_assert lines generated from the Go
// mirror against the real ntsecapi.h (Debian mingw-w64). Skipped when the
// cross compiler is missing.
func TestLayoutAgainstMingw(t *testing.T) {
	for _, cc := range []string{"x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(cc); err != nil {
			t.Logf("%s not installed (apt-get install mingw-w64): skipping it", cc)
			continue
		}
		var a auditPolicyInformation
		src := fmt.Sprintf(`#include <windows.h>
#include <ntsecapi.h>
#include <stddef.h>
_Static_assert(sizeof(AUDIT_POLICY_INFORMATION) == %d, "size");
_Static_assert(offsetof(AUDIT_POLICY_INFORMATION, AuditingInformation) == %d, "AuditingInformation");
_Static_assert(offsetof(AUDIT_POLICY_INFORMATION, AuditCategoryGuid) == %d, "AuditCategoryGuid");
_Static_assert(POLICY_AUDIT_EVENT_UNCHANGED == %d && POLICY_AUDIT_EVENT_SUCCESS == %d && POLICY_AUDIT_EVENT_FAILURE == %d && POLICY_AUDIT_EVENT_NONE == %d, "flags");
`, unsafe.Sizeof(a), unsafe.Offsetof(a.Information), unsafe.Offsetof(a.Category), Unchanged, Success, Failure, None)
		f := filepath.Join(wbtest.TempDir(t), "layout.c")
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(cc, "-fsyntax-only", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", cc, err, out)
		}
	}
}
