package evtlog

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestVariantLayoutAgainstMingw checks the EVT_VARIANT layout and the
// winevt.h constants the decoder and the bindings assume against the real
// header (Debian mingw-w64). Skipped when the cross compiler is missing.
func TestVariantLayoutAgainstMingw(t *testing.T) {
	cc := "x86_64-w64-mingw32-gcc"
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("%s not installed (apt-get install mingw-w64)", cc)
	}
	src := fmt.Sprintf(`#include <windows.h>
#include <winevt.h>
#include <stddef.h>
_Static_assert(sizeof(EVT_VARIANT) == %d, "EVT_VARIANT size");
_Static_assert(offsetof(EVT_VARIANT, Count) == 8, "Count");
_Static_assert(offsetof(EVT_VARIANT, Type) == 12, "Type");
_Static_assert(EvtVarTypeString == %d && EvtVarTypeUInt16 == %d && EvtVarTypeUInt64 == %d && EvtVarTypeSizeT == %d, "types");
_Static_assert(EvtVarTypeFileTime == %d && EvtVarTypeSid == %d && EvtVarTypeHexInt64 == %d && EVT_VARIANT_TYPE_ARRAY == %d, "types");
_Static_assert(EvtSubscribeToFutureEvents == 1 && EvtSubscribeStartAtOldestRecord == 2 && EvtSubscribeStartAfterBookmark == 3 && EvtSubscribeStrict == 0x10000, "subscribe flags");
_Static_assert(EvtRenderEventValues == 0 && EvtRenderEventXml == 1 && EvtRenderBookmark == 2 && EvtRenderContextValues == 0, "render flags");
_Static_assert(EvtQueryChannelPath == 1 && EvtQueryForwardDirection == 0x100, "query flags");
`, variantSize, evtVarTypeString, evtVarTypeUInt16, evtVarTypeUInt64, evtVarTypeSizeT,
		evtVarTypeFileTime, evtVarTypeSid, evtVarTypeHexInt64, evtVarTypeArray)
	f := filepath.Join(wbtest.TempDir(t), "layout.c")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-fsyntax-only", f).CombinedOutput(); err != nil {
		t.Errorf("%v\n%s", err, out)
	}
}
