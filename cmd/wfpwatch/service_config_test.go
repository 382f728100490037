package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestParseServiceConfig(t *testing.T) {
	tests := []struct {
		name, text string
		args       []string
		lines      []int
		err        string
	}{
		{"empty", "", nil, nil, ""},
		{"comments and blanks", "\ufeff# wfpwatch service\r\n\r\n  --packets  \r\n", []string{"--packets"}, []int{3}, ""},
		{"values", "--output file://C:\\logs\\b l.json\n--db-keep=720h\n--since\t10m\n", []string{"--output", "file://C:\\logs\\b l.json", "--db-keep=720h", "--since", "10m"}, []int{1, 1, 2, 3, 3}, ""},
		{"not a flag", "--packets\npackets\n", nil, nil, "cfg:2: \"packets\" is not a flag"},
		{"bare dashes", "--\n", nil, nil, "cfg:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, lines, err := parseServiceConfig("cfg", tt.text)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(args, tt.args) || !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("got %q %v, want %q %v", args, lines, tt.args, tt.lines)
			}
		})
	}
}

func FuzzParseServiceConfig(f *testing.F) {
	for _, s := range []string{"", "--packets\n", "# c\n--output file://x y\n", "packets", "--since\t10m\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		args, lines, err := parseServiceConfig("cfg", text)
		if err != nil {
			return
		}
		if len(args) != len(lines) {
			t.Fatalf("%d args, %d lines", len(args), len(lines))
		}
		_, _ = checkServiceArgs("cfg", args, lines, nil)
	})
}

func TestCheckServiceArgs(t *testing.T) {
	tests := []struct {
		name, text string
		err        string
	}{
		{"good", "--packets\n--no-db\n--source evtlog\n--render=xml\n--recheck 5m\n", ""},
		{"unknown flag", "--packets\n--pakets\n", "cfg:2: unknown flag --pakets (did you mean --packets?)"},
		{"bad value", "\n--recheck soon\n", "cfg:2: --recheck \"soon\""},
		{"value on a switch", "--packets yes\n", "cfg:1: \"yes\" is not a flag"},
		{"bad source", "--source evtlog,etw\n", "--source \"etw\""},
		{"bad render", "--render html\n", "--render \"html\""},
		{"help", "--help\n", "--help has no place"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, lines, err := parseServiceConfig("cfg", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			o, err := checkServiceArgs("cfg", args, lines, nil)
			if tt.err == "" {
				if err != nil || o == nil {
					t.Fatalf("err = %v", err)
				}
				if !o.view.packets || !o.noDB || o.sources != "evtlog" || o.render != "xml" {
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
	bad := filepath.Join(dir, "bad.conf")
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(bad, []byte("--packets\n--nope\n"), 0o600)
	os.WriteFile(good, []byte("--packets\n"), 0o600)
	exe, _ := os.Executable()
	var out, errb bytes.Buffer
	err := execute(context.Background(), newServiceCmd(&out, &errb), []string{"install", "--config", bad, "--exe", exe}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "bad.conf:2: unknown flag --nope") || !strings.Contains(err.Error(), "nothing was installed") {
		t.Errorf("bad config: err = %v", err)
	}
	err = execute(context.Background(), newServiceCmd(&out, &errb), []string{"install", "--config", filepath.Join(dir, "missing.conf"), "--exe", exe}, &out, &errb)
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
