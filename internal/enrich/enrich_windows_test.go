package enrich

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestWinbenchLoaders runs the Windows loaders for real (under Wine in the
// bench, or on Windows): volumes, this process, a well-known SID, casing.
func TestWinbenchLoaders(t *testing.T) {
	wbtest.Need(t)
	maps, err := LoadMappings()
	if err != nil || len(maps) == 0 {
		t.Fatalf("LoadMappings: %v %v", maps, err)
	}
	hasC := false
	for _, m := range maps {
		hasC = hasC || strings.EqualFold(m.DOS, `C:\`)
	}
	if !hasC {
		t.Errorf("no C: mapping in %v", maps)
	}
	x := New()
	exe, _ := os.Executable()
	pi, ok := x.Procs.Lookup(uint32(os.Getpid()), time.Now())
	if !ok || !strings.EqualFold(pi.Image, exe) || pi.Start.IsZero() || pi.Start.After(time.Now()) {
		t.Errorf("own process: %+v %v (exe %s)", pi, ok, exe)
	}
	// SID lookups run off the caller's path: the name may come on a later
	// call.
	sysName := ""
	for deadline := time.Now().Add(10 * time.Second); sysName == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sysName = x.SIDs.Name("S-1-5-18")
	}
	if sysName == "" {
		t.Error("S-1-5-18 has no name")
	}
	if got := x.Casing.Fix(`\\wfpwatch-no-such-host\share\a.exe`); got != `\\wfpwatch-no-such-host\share\a.exe` {
		t.Errorf("UNC path changed: %q", got)
	}
	if got := x.Casing.Fix(strings.ToLower(exe)); got != exe {
		t.Errorf("casing: %q, want %q", got, exe)
	}
	t.Logf("%d mappings; own image %s; S-1-5-18 = %s", len(maps), pi.Image, x.SIDs.Name("S-1-5-18"))
}
