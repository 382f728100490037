package fwlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// fakeConfig is a firewall whose settings live in memory.
type fakeConfig struct {
	local, gpo map[string]ProfileLog
	sets       []string
	failSet    error
}

func newFake() *fakeConfig {
	f := &fakeConfig{local: map[string]ProfileLog{}, gpo: map[string]ProfileLog{}}
	for _, p := range Profiles {
		f.local[p] = ProfileLog{Profile: p, LogBlocked: False, LogAllowed: False, FileName: `%systemroot%\system32\LogFiles\Firewall\pfirewall.log`, MaxSizeKB: 4096}
	}
	return f
}

func (f *fakeConfig) Get() (local, eff []ProfileLog, err error) {
	for _, p := range Profiles {
		l := f.local[p]
		l.Store = "PersistentStore"
		local = append(local, l)
		e := l
		e.Store = "ActiveStore"
		if g, ok := f.gpo[p]; ok {
			e.LogBlocked, e.GPO = g.LogBlocked, true
		}
		eff = append(eff, e)
	}
	return local, eff, nil
}

func (f *fakeConfig) Set(profile string, s Setting, v any) error {
	if f.failSet != nil {
		return f.failSet
	}
	p := f.local[profile]
	switch s {
	case SettingLogBlocked:
		p.LogBlocked = v.(Tristate)
	case SettingFileName:
		p.FileName = v.(string)
	case SettingMaxSizeKB:
		p.MaxSizeKB = v.(uint64)
	}
	f.local[profile] = p
	f.sets = append(f.sets, profile+" "+string(s))
	return nil
}

func TestEnableRestore(t *testing.T) {
	f := newFake()
	f.local["Domain"] = ProfileLog{Profile: "Domain", LogBlocked: True, FileName: `C:\logs\fw.log`, MaxSizeKB: 16384}
	f.gpo["Public"] = ProfileLog{LogBlocked: False}
	path := filepath.Join(tempDir(t), "snap.json")
	snap := &Snapshot{}
	saves := 0
	changes, warns, err := Enable(f, EnableOptions{MaxSizeKB: 16384}, snap, func(s *Snapshot) error { saves++; return SaveSnapshot(path, s) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	want := []string{
		"Private profile: LogBlocked False → True",
		"Private profile: LogMaxSizeKilobytes 4096 → 16384",
		"Public profile: LogBlocked False → True",
		"Public profile: LogMaxSizeKilobytes 4096 → 16384",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s", strings.Join(got, "\n"))
	}
	if saves != 4 || len(warns) != 2 || !strings.Contains(warns[0], "Domain profile: dropped packets are already logged") || !strings.Contains(warns[1], "Group Policy") {
		t.Errorf("saves %d warnings %q", saves, warns)
	}

	// Someone changes Public's size afterwards: restore leaves it.
	p := f.local["Public"]
	p.MaxSizeKB = 32767
	f.local["Public"] = p

	loaded, ok, err := LoadSnapshot(path)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	restored, skipped, err := Restore(f, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 3 || len(skipped) != 1 || !strings.Contains(skipped[0], "Public profile: LogMaxSizeKilobytes is now 32767") {
		t.Errorf("restored %v skipped %v", restored, skipped)
	}
	if f.local["Private"].LogBlocked != False || f.local["Private"].MaxSizeKB != 4096 || f.local["Public"].LogBlocked != False || f.local["Domain"].LogBlocked != True {
		t.Errorf("after restore: %+v", f.local)
	}
}

func TestEnableTwiceKeepsFirstOriginal(t *testing.T) {
	f := newFake()
	snap := &Snapshot{}
	if _, _, err := Enable(f, EnableOptions{Profiles: []string{"public"}}, snap, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Enable(f, EnableOptions{Profiles: []string{"Public"}, FileName: `D:\fw.log`}, snap, nil); err != nil {
		t.Fatal(err)
	}
	if len(snap.Changes) != 2 || snap.Changes[0].Old != "False" || snap.Changes[1].Old == `D:\fw.log` {
		t.Errorf("snapshot %+v", snap.Changes)
	}
	if _, _, err := Enable(f, EnableOptions{Profiles: []string{"Work"}}, snap, nil); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestEnableSetFails(t *testing.T) {
	f := newFake()
	f.failSet = errors.New("access denied")
	snap := &Snapshot{}
	changes, _, err := Enable(f, EnableOptions{}, snap, nil)
	if err == nil || len(changes) != 0 || len(snap.Changes) != 1 {
		t.Errorf("err %v changes %v snapshot %v", err, changes, snap.Changes)
	}
}

func TestExpandPath(t *testing.T) {
	env := map[string]string{"SYSTEMROOT": `C:\Windows`}
	got := ExpandPath(`%systemroot%\system32\LogFiles\Firewall\pfirewall.log`, func(k string) string { return env[k] })
	if got != `C:\Windows\system32\LogFiles\Firewall\pfirewall.log` {
		t.Error(got)
	}
	if got := ExpandPath(`%nope%\x`, func(string) string { return "" }); got != `%nope%\x` {
		t.Error(got)
	}
}

// plantedFwlogSnapshots record changes 'fwlog enable' never makes.
var plantedFwlogSnapshots = []string{
	`{"changes":[{"profile":"Evil","setting":"LogBlocked","old":"False","new":"True"}]}`,
	`{"changes":[{"profile":"Public","setting":"LogDroppedConnections","old":"x","new":"True"}]}`,
	`{"changes":[{"profile":"Public","setting":"LogBlocked","old":"Maybe","new":"True"}]}`,
	`{"changes":[{"profile":"Public","setting":"LogMaxSizeKilobytes","old":"-1","new":"4096"}]}`,
}

// TestLoadSnapshotRefusesPlanted: a snapshot that names a profile or a
// setting wfpwatch never changes, or an invalid old value, is refused
// (restoring it could point the firewall's log at any file or value).
func TestLoadSnapshotRefusesPlanted(t *testing.T) {
	path := filepath.Join(wbtest.TempDir(t), "fwlog-snapshot.json")
	for _, content := range plantedFwlogSnapshots {
		os.WriteFile(path, []byte(content), 0o600)
		if _, _, err := LoadSnapshot(path); !errors.Is(err, statedir.ErrUntrusted) {
			t.Errorf("%s: %v, want ErrUntrusted", content, err)
		}
	}
	os.WriteFile(path, []byte(`{"changes":[{"profile":"public","setting":"LogBlocked","old":"False","new":"True"}]}`), 0o600)
	snap, ok, err := LoadSnapshot(path)
	if err != nil || !ok || snap.Changes[0].Profile != "Public" {
		t.Fatalf("valid snapshot: %+v %v %v", snap, ok, err)
	}
}

// FuzzLoadSnapshot: a snapshot that loads names only known profiles and
// settings with values Restore can write.
func FuzzLoadSnapshot(f *testing.F) {
	for _, c := range plantedFwlogSnapshots {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"changes":[{"profile":"public","setting":"LogBlocked","old":"False","new":"True"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(wbtest.TempDir(t), "fwlog-snapshot.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		snap, ok, err := LoadSnapshot(path)
		if err != nil || !ok {
			return
		}
		for _, ch := range snap.Changes {
			if _, known := canonicalProfile(ch.Profile); !known {
				t.Fatalf("profile %q accepted", ch.Profile)
			}
			if _, err := parseValue(ch.Setting, ch.Old); err != nil {
				t.Fatalf("change %+v accepted: %v", ch, err)
			}
		}
	})
}
