package enrich

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func TestRemote(t *testing.T) {
	for path, want := range map[string]bool{
		`\\fileserver\share\tools\t.exe`:                                      true,
		`\\?\UNC\fileserver\share\t.exe`:                                      true,
		`\device\mup\fileserver\share\t.exe`:                                  true,
		`\Device\Mup\;LanmanRedirector\;Z:000\srv\share\a.exe`:                true,
		`\device\lanmanredirector\;z:0000000000012345\srv\share\a.exe`:        true,
		`\device\webdavredirector\srv\dav\a.exe`:                              true,
		`\device\rdpdr\;t:1\tsclient\c\a.exe`:                                 true,
		`\device\vboxminirdr\;e:\vboxsvr\share\a.exe`:                         true,
		`\\?\GLOBALROOT\Device\Mup\srv\share\a.exe`:                           true,
		`\device\harddiskvolume3\windows\system32\svchost.exe`:                false,
		`\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\windows\notepad.exe`: false,
		`\\?\C:\tools\a.exe`:                                                  false,
		`\\.\C:\tools\a.exe`:                                                  false,
		`C:\tools\a.exe`:                                                      false,
		`\device\mupx\a.exe`:                                                  false,
		``:                                                                    false,
	} {
		if got := Remote(path); got != want {
			t.Errorf("Remote(%q) = %v", path, got)
		}
	}
}

// TestCasingNeverOpensNetworkPaths: a UNC path (from \device\mup\) or a
// mapped network drive is left as it is; opening it to fix its letter
// case would stall and send the admin's credentials to that server.
func TestCasingNeverOpensNetworkPaths(t *testing.T) {
	var opened []string
	c := NewCasing(func(p string) (string, error) { opened = append(opened, p); return p, nil }, 16)
	m := &PathMap{Load: func() ([]Mapping, error) {
		return []Mapping{
			{`\Device\HarddiskVolume3`, `C:\`},
			{`\Device\LanmanRedirector\;Z:0000000000012345\srv\share`, `Z:\`},
		}, nil
	}}
	x := &Enricher{Paths: m, Casing: c}
	for in, want := range map[string]string{
		`\device\mup\fileserver\share\tools\t.exe`:                         `\\fileserver\share\tools\t.exe`,
		`\device\lanmanredirector\;z:0000000000012345\srv\share\app\a.exe`: `Z:\app\a.exe`,
	} {
		e := event.Event{}
		e.SetExecutable(in)
		x.Enrich(&e)
		if e.Executable != want {
			t.Errorf("%s → %s, want %s", in, e.Executable, want)
		}
	}
	if got := c.Fix(`\\fileserver\share\x.exe`); got != `\\fileserver\share\x.exe` {
		t.Errorf("Fix changed a UNC path: %s", got)
	}
	if len(opened) != 0 {
		t.Fatalf("network paths opened: %q", opened)
	}
	e := event.Event{}
	e.SetExecutable(`\device\harddiskvolume3\tools\a.exe`)
	x.Enrich(&e)
	if len(opened) != 1 || opened[0] != `C:\tools\a.exe` {
		t.Errorf("a local path must still get its case fixed: %q", opened)
	}
}

// nameWithin calls s.Name on another goroutine and fails if it does not
// return: a lookup stalled on a domain controller must never hold the
// event path.
func nameWithin(t *testing.T, s *SIDs, sid string) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() { ch <- s.Name(sid) }()
	select {
	case n := <-ch:
		return n
	case <-time.After(10 * time.Second):
		t.Fatalf("SIDs.Name(%s) blocked on a stalled lookup", sid)
	}
	return ""
}

func TestSIDLookupsNeverBlock(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	var mu sync.Mutex
	called := map[string]int{}
	s := NewSIDs(func(sid string) (string, error) {
		calls.Add(1)
		mu.Lock()
		called[sid]++
		mu.Unlock()
		switch sid {
		case "S-1-5-18":
			return `NT AUTHORITY\SYSTEM`, nil // local: answers at once
		case "S-1-5-21-9-9-9-404":
			return "", errors.New("none mapped")
		}
		<-release // a domain SID: the domain controller does not answer
		return `CORP\` + sid[len(sid)-4:], nil
	}, 64)
	s.Wait = 50 * time.Millisecond
	s.Timeout = 20 * time.Millisecond

	if n := nameWithin(t, s, "S-1-5-18"); n != `NT AUTHORITY\SYSTEM` {
		t.Errorf("local SID: %q (a fast lookup is waited for)", n)
	}
	if n := nameWithin(t, s, "S-1-5-21-1-2-3-1001"); n != "" {
		t.Errorf("stalled SID: %q", n)
	}
	// The same SID again: no second lookup, no wait.
	nameWithin(t, s, "S-1-5-21-1-2-3-1001")
	// A second stalled SID takes the last slot; a third finds none and
	// is not looked up at all.
	nameWithin(t, s, "S-1-5-21-1-2-3-1002")
	nameWithin(t, s, "S-1-5-21-1-2-3-1003")
	mu.Lock()
	if called["S-1-5-21-1-2-3-1001"] != 1 || called["S-1-5-21-1-2-3-1002"] != 1 || called["S-1-5-21-1-2-3-1003"] != 0 {
		t.Errorf("lookups %v (want one each for 1001/1002, none beyond MaxInFlight)", called)
	}
	mu.Unlock()
	// Both ran past Timeout.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		st := s.Stalled
		s.mu.Unlock()
		if st == 2 || time.Now().After(deadline) {
			if st != 2 {
				t.Errorf("%d stalled lookups counted, want 2", st)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The controller answers at last: the late names are kept and later
	// events get them.
	close(release)
	for time.Now().Before(deadline) {
		if s.Name("S-1-5-21-1-2-3-1001") != "" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := nameWithin(t, s, "S-1-5-21-1-2-3-1001"); n != `CORP\1001` {
		t.Errorf("late answer: %q", n)
	}
	// A failed lookup is remembered for NegativeTTL, then tried again.
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	nameWithin(t, s, "S-1-5-21-9-9-9-404")
	nameWithin(t, s, "S-1-5-21-9-9-9-404")
	mu.Lock()
	if called["S-1-5-21-9-9-9-404"] != 1 {
		t.Errorf("failed SID looked up %d times within NegativeTTL", called["S-1-5-21-9-9-9-404"])
	}
	mu.Unlock()
	now = now.Add(11 * time.Minute)
	nameWithin(t, s, "S-1-5-21-9-9-9-404")
	mu.Lock()
	if called["S-1-5-21-9-9-9-404"] != 2 {
		t.Errorf("failed SID not retried after NegativeTTL: %d lookups", called["S-1-5-21-9-9-9-404"])
	}
	mu.Unlock()
	if nameWithin(t, s, "S-1-0-0") != "" || calls.Load() == 0 {
		t.Error("S-1-0-0")
	}
}

// FuzzRemote: Remote never panics, and a path it calls local stays local
// when only its letter case changes.
func FuzzRemote(f *testing.F) {
	for _, s := range []string{`\\srv\share\a.exe`, `\device\mup\srv\a`, `\\?\UNC\srv\a`, `\device\harddiskvolume3\a.exe`, `\\?\GLOBALROOT\Device\Mup\x`, `C:\a`, `\\`, `\device\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if Remote(p) != Remote(strings.ToUpper(p)) && strings.ToLower(strings.ToUpper(p)) == strings.ToLower(p) {
			t.Errorf("Remote depends on case: %q", p)
		}
	})
}
