package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCheckServiceConfig(t *testing.T) {
	tests := []struct {
		name, text string
		err        string
	}{
		{"good", "[watch]\npackets = true\nno-db = true\nsource = 'evtlog'\nrender = 'xml'\nrecheck = '5m'\n", ""},
		{"unknown flag", "[watch]\npackets = true\npakets = true\n", "cfg.toml:3: unknown flag --pakets (did you mean --packets?)"},
		{"bad value", "[watch]\n\nrecheck = 'soon'\n", "cfg.toml:3: --recheck \"soon\""},
		{"value on a switch", "[watch]\npackets = 'yes'\n", "cfg.toml:2: --packets \"yes\""},
		{"bad source", "[watch]\nsource = 'evtlog,etw'\n", "--source \"etw\""},
		{"bad render", "[watch]\nrender = 'html'\n", "--render \"html\""},
		{"help", "[watch]\nhelp = true\n", "--help has no place"},
		{"old format", "--packets\n", "cfg.toml:1: TOML syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "cfg.toml")
			os.WriteFile(p, []byte(tt.text), 0o600)
			o, _, err := checkServiceConfig(p)
			if tt.err == "" {
				if err != nil || o == nil {
					t.Fatalf("err = %v", err)
				}
				if !o.view.packets || !o.noDB || o.sources != "evtlog" || o.render != "xml" || o.command != "service" {
					t.Errorf("options not set from the file: %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestServiceInstallChecksConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(bad, []byte("[watch]\nnope = true\n"), 0o600)
	os.WriteFile(good, []byte("[watch]\npackets = true\n"), 0o600)
	exe, _ := os.Executable()
	var out, errb bytes.Buffer
	err := execute(context.Background(), newServiceCmd(&out, &errb), []string{"install", "--config", bad, "--exe", exe}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "bad.toml:2: unknown flag --nope") || !strings.Contains(err.Error(), "nothing was installed") {
		t.Errorf("bad config: err = %v", err)
	}
	err = execute(context.Background(), newServiceCmd(&out, &errb), []string{"install", "--config", filepath.Join(dir, "missing.toml"), "--exe", exe}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing config: err = %v", err)
	}
	if runtime.GOOS == "windows" {
		return // the rest would install a service
	}
	out.Reset()
	err = execute(context.Background(), newServiceCmd(&out, &errb), []string{"install", "--config", good, "--exe", exe}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "the service needs Windows") {
		t.Errorf("on %s: err = %v, want the service needs Windows", runtime.GOOS, err)
	}
	for _, sub := range []string{"status", "start", "stop", "uninstall"} {
		err = execute(context.Background(), newServiceCmd(&out, &errb), []string{sub}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "needs Windows") {
			t.Errorf("service %s on %s: err = %v", sub, runtime.GOOS, err)
		}
	}
}
