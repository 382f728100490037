package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestFwlogTail(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "pfirewall.log")
	content := "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n" +
		"#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid\n" +
		"2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 51522 3389 52 S 1 0 64240 - - - RECEIVE 4\n" +
		"2024-03-01 09:15:03 DROP UDP 192.0.2.33 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE -\n" +
		"2024-03-01 09:15:04 ALLOW TCP 192.0.2.10 198.51.100.1 50000 443 0 - 0 0 0 - - - SEND 1234\n"
	if err := os.WriteFile(log, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if err := fwlogTail(ctx, []string{"--from-start", "--format", "json", "--state", filepath.Join(dir, "pos.json"), log}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"destination":{"ip":"192.0.2.10","port":3389}`) || !strings.Contains(lines[0], `"verdict":"block"`) {
		t.Errorf("tail printed:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "pos.json")); err != nil {
		t.Errorf("position not saved: %v", err)
	}
}
