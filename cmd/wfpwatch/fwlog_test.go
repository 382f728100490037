package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/source/fwlog"
)

type memConfig struct{ p map[string]fwlog.ProfileLog }

func (m *memConfig) Get() (local, eff []fwlog.ProfileLog, err error) {
	for _, n := range fwlog.Profiles {
		local = append(local, m.p[n])
		eff = append(eff, m.p[n])
	}
	return local, eff, nil
}

func (m *memConfig) Set(profile string, s fwlog.Setting, v any) error {
	p := m.p[profile]
	switch s {
	case fwlog.SettingLogBlocked:
		p.LogBlocked = v.(fwlog.Tristate)
	case fwlog.SettingFileName:
		p.FileName = v.(string)
	case fwlog.SettingMaxSizeKB:
		p.MaxSizeKB = v.(uint64)
	}
	m.p[profile] = p
	return nil
}

func TestFwlogEnableStatusRestore(t *testing.T) {
	m := &memConfig{p: map[string]fwlog.ProfileLog{}}
	for _, n := range fwlog.Profiles {
		m.p[n] = fwlog.ProfileLog{Profile: n, FileName: `%systemroot%\system32\LogFiles\Firewall\pfirewall.log`, MaxSizeKB: 4096}
	}
	old := fwlogConfig
	fwlogConfig = func() fwlog.Config { return m }
	defer func() { fwlogConfig = old }()
	snap := filepath.Join(t.TempDir(), "snap.json")

	var out bytes.Buffer
	if err := fwlogEnable([]string{"--profiles", "public,Private", "--snapshot", snap}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "changed: Private profile: LogBlocked False → True") || !strings.Contains(out.String(), "changed: Public profile: LogBlocked False → True") {
		t.Errorf("enable said:\n%s", out.String())
	}
	out.Reset()
	if err := fwlogStatus([]string{"--snapshot", snap}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Public   True") || !strings.Contains(out.String(), "wfpwatch changed these settings") {
		t.Errorf("status said:\n%s", out.String())
	}
	out.Reset()
	if err := fwlogRestore([]string{"--snapshot", snap}, &out); err != nil {
		t.Fatal(err)
	}
	if m.p["Public"].LogBlocked != fwlog.False || !strings.Contains(out.String(), "restored: Public profile: LogBlocked True → False") {
		t.Errorf("restore said:\n%s\n%+v", out.String(), m.p)
	}
	out.Reset()
	fwlogRestore([]string{"--snapshot", snap}, &out)
	if !strings.Contains(out.String(), "Nothing to restore") {
		t.Errorf("second restore said: %s", out.String())
	}
	if err := fwlogEnable([]string{"--profiles", "work"}, &out); err == nil {
		t.Error("bad profile accepted")
	}
}
