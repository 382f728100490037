package enrich

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func TestDOSPath(t *testing.T) {
	loads := 0
	vols := []Mapping{
		{`\Device\HarddiskVolume3`, `C:\`},
		{`\Device\HarddiskVolume3`, `C:\mnt\alias\`}, // a second name of the same volume: drive letter wins
		{`\Device\HarddiskVolume4`, `C:\mnt\data\`},  // a volume mounted in a folder
		{`\Device\HarddiskVolume1`, `D:\`},
	}
	m := &PathMap{Load: func() ([]Mapping, error) { loads++; return vols, nil }}
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	cases := map[string]string{
		`\device\harddiskvolume3\windows\system32\svchost.exe`: `C:\windows\system32\svchost.exe`,
		`\device\harddiskvolume4\app\x.exe`:                    `C:\mnt\data\app\x.exe`,
		`\device\harddiskvolume1\a.exe`:                        `D:\a.exe`,
		`\device\mup\fileserver\share\tools\t.exe`:             `\\fileserver\share\tools\t.exe`,
		`\??\C:\x.exe`:       `C:\x.exe`,
		`C:\already\dos.exe`: `C:\already\dos.exe`,
	}
	for in, want := range cases {
		if got, ok := m.DOSPath(in); !ok || got != want {
			t.Errorf("%s → %s (%v), want %s", in, got, ok, want)
		}
	}
	// HarddiskVolume30 must not match HarddiskVolume3.
	if got, ok := m.DOSPath(`\device\harddiskvolume30\x.exe`); ok {
		t.Errorf("prefix matched across a name: %s", got)
	}
	if loads != 1 {
		t.Errorf("%d loads (the miss reloads only after MinReload)", loads)
	}
	// A new volume appears: a miss reloads once MinReload has passed.
	vols = append(vols, Mapping{`\Device\HarddiskVolume30`, `E:\`})
	now = now.Add(10 * time.Second)
	if got, ok := m.DOSPath(`\device\harddiskvolume30\x.exe`); !ok || got != `E:\x.exe` {
		t.Errorf("new volume: %s %v", got, ok)
	}
	e := event.Event{}
	e.SetExecutable(`\device\harddiskvolume1\tools\curl.exe`)
	(&Enricher{Paths: m}).Enrich(&e)
	if e.Executable != `D:\tools\curl.exe` || e.Name != "curl.exe" {
		t.Errorf("%+v", e)
	}
}

func TestProcsPidReuse(t *testing.T) {
	t0 := time.Unix(5000, 0)
	procs := map[uint32]ProcInfo{700: {PID: 700, Start: t0, Image: `C:\Windows\System32\svchost.exe`, Services: []string{"Dnscache", "NlaSvc"}}}
	loads := 0
	p := NewProcs(func(pid uint32) (ProcInfo, error) {
		loads++
		if pi, ok := procs[pid]; ok {
			return pi, nil
		}
		return ProcInfo{}, errors.New("gone")
	}, 16)
	clock := time.Unix(9000, 0)
	p.now = func() time.Time { return clock }
	if pi, ok := p.Lookup(700, t0.Add(time.Minute)); !ok || len(pi.Services) != 2 {
		t.Fatalf("%+v %v", pi, ok)
	}
	p.Lookup(700, t0.Add(2*time.Minute))
	if loads != 1 {
		t.Errorf("not cached: %d loads", loads)
	}
	// The pid is reused by a process that started after the event: once
	// the cached entry has expired, the new holder is not taken for the old.
	clock = clock.Add(2 * time.Minute)
	procs[700] = ProcInfo{PID: 700, Start: t0.Add(time.Hour), Image: `C:\evil.exe`}
	if pi, ok := p.Lookup(700, t0.Add(30*time.Minute)); ok {
		t.Errorf("reused pid answered: %+v", pi)
	}
	if _, ok := p.Lookup(4, t0); ok {
		t.Error("System looked up")
	}
	e := event.Event{PID: 700, HasPID: true, Time: t0.Add(2 * time.Hour)}
	e.SetExecutable(`C:\svchost.exe`)
	(&Enricher{Procs: p}).Enrich(&e)
	if len(e.Services) != 0 {
		t.Errorf("services of another image attached: %v", e.Services)
	}
}

func TestSIDsAndBounds(t *testing.T) {
	n := 0
	s := NewSIDs(func(sid string) (string, error) { n++; return "NT AUTHORITY\\" + sid, nil }, 3)
	if s.Name("S-1-0-0") != "" || s.Name("") != "" {
		t.Error("none SID named")
	}
	for i := 0; i < 10; i++ {
		s.Name(fmt.Sprintf("S-1-5-%d", i))
	}
	if len(s.c.items) != 3 {
		t.Errorf("cache holds %d", len(s.c.items))
	}
	s.Name("S-1-5-9")
	if n != 10 {
		t.Errorf("%d loads", n)
	}
	e := event.Event{UserID: "S-1-5-18"}
	(&Enricher{SIDs: s}).Enrich(&e)
	if e.UserName != `NT AUTHORITY\S-1-5-18` {
		t.Error(e.UserName)
	}
}

func FuzzDOSPath(f *testing.F) {
	m := &PathMap{Load: func() ([]Mapping, error) { return []Mapping{{`\Device\HarddiskVolume3`, `C:\`}}, nil }}
	for _, s := range []string{`\device\harddiskvolume3\x`, `\device\mup\`, `\??\`, `\device\`, `C:`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { m.DOSPath(s) })
}

func BenchmarkDOSPath(b *testing.B) {
	var maps []Mapping
	for i := 0; i < 20; i++ {
		maps = append(maps, Mapping{fmt.Sprintf(`\Device\HarddiskVolume%d`, i), fmt.Sprintf(`%c:\`, 'C'+i)})
	}
	m := &PathMap{Load: func() ([]Mapping, error) { return maps, nil }}
	b.ReportAllocs()
	for b.Loop() {
		m.DOSPath(`\device\harddiskvolume7\windows\system32\svchost.exe`)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func TestCasing(t *testing.T) {
	loads := 0
	c := NewCasing(func(p string) (string, error) {
		loads++
		switch p {
		case `C:\windows\system32\svchost.exe`:
			return `C:\Windows\System32\svchost.exe`, nil
		case `C:\x\link.exe`:
			return `D:\elsewhere\target.exe`, nil // a link: not just the case
		}
		return "", errors.New("not found")
	}, 8)
	m := &PathMap{Load: func() ([]Mapping, error) { return []Mapping{{`\Device\HarddiskVolume3`, `C:\`}}, nil }}
	e := event.Event{}
	e.SetExecutable(`\device\harddiskvolume3\windows\system32\svchost.exe`)
	(&Enricher{Paths: m, Casing: c}).Enrich(&e)
	if e.Executable != `C:\Windows\System32\svchost.exe` {
		t.Errorf("%q", e.Executable)
	}
	if got := c.Fix(`C:\x\link.exe`); got != `C:\x\link.exe` {
		t.Errorf("link target taken: %q", got)
	}
	c.Fix(`C:\gone.exe`)
	c.Fix(`C:\GONE.exe`)
	if loads != 3 {
		t.Errorf("%d loads", loads)
	}
}
