package audit

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestSystemPolicy calls the real advapi32 bindings. On an elevated Windows
// prompt it reads the two subcategories; without elevation it must report
// ErrNotElevated; under Wine 8 (where AuditQuerySystemPolicy is a stub) it
// must fail cleanly with the call named. It never writes the policy.
func TestSystemPolicy(t *testing.T) {
	p, err := System()
	if errors.Is(err, ErrNotElevated) {
		t.Skipf("not elevated: %v", err)
	}
	if err != nil {
		t.Fatalf("System: %v", err)
	}
	got, err := p.Query(Subcategories)
	if err != nil {
		if wbtest.Enabled() {
			t.Logf("under Wine: %v", err)
			if !errors.Is(err, windows.ERROR_CALL_NOT_IMPLEMENTED) && !errors.Is(err, ErrNotElevated) {
				t.Errorf("unexpected error from the Wine stub: %v", err)
			}
			return
		}
		t.Fatalf("Query: %v", err)
	}
	for i, s := range got {
		if s&^(Success|Failure|None) != 0 {
			t.Errorf("%s: setting %#x out of range", Name(Subcategories[i]), uint32(s))
		}
		t.Logf("%s: %s", Name(Subcategories[i]), s)
	}
	if lc, ok := p.(LegacyChecker); ok {
		v, err := lc.LegacyMayOverride()
		t.Logf("legacy may override: %v %v", v, err)
	}
}

// TestAliveAndSelf uses the real process APIs (which Wine implements).
func TestAliveAndSelf(t *testing.T) {
	me := Self("watch")
	if me.PID != os.Getpid() || me.Started.IsZero() || time.Since(me.Started) > time.Hour {
		t.Fatalf("Self = %+v", me)
	}
	if !Alive(me) {
		t.Error("this process is not alive")
	}
	reused := me
	reused.Started = me.Started.Add(-time.Hour)
	if Alive(reused) {
		t.Error("a pid with another start time counts as the owner")
	}
	if Alive(Owner{Command: "watch", PID: 0x7ffffff0, Started: me.Started}) {
		t.Error("a pid that does not exist is alive")
	}
	if p := DefaultStatePath(); p == "" {
		t.Error("no default state path")
	}
}
