package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The example, with every key uncommented, is a valid configuration that
// sets each flag to its default; and every flag of watch and serve is in it.
func TestConfigExampleParses(t *testing.T) {
	ex := configExample()
	keyLine := regexp.MustCompile(`(?m)^# ([a-z][a-z0-9-]*) = (.*)$`)
	on := strings.Replace(ex, "# enabled = false", "enabled = true", 1)
	on = keyLine.ReplaceAllString(on, "$1 = $2")
	// The defaults of paths depend on the machine; the file stands alone.
	p := filepath.Join(t.TempDir(), "all.toml")
	if err := os.WriteFile(p, []byte(on), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := checkConfig(p)
	if err != nil {
		t.Fatalf("the uncommented example does not check: %v\n%s", err, on)
	}
	if cfg.Dashboard == nil {
		t.Error("dashboard not on")
	}
	for _, fs := range []*pflag.FlagSet{newWatchCmd(nil, nil).Flags(), newServeCmd(nil, nil).Flags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			switch f.Name {
			case "help", "config", "db", "live":
				return
			}
			if !strings.Contains(ex, "# "+f.Name+" = ") {
				t.Errorf("flag --%s has no key in the example", f.Name)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want string
		code             int
	}{
		{"good", "[watch]\npackets = true\noutput = ['file://x.json']\n[dashboard]\nlisten = '127.0.0.1:9'\n", "OK: watch --packets=true --output=file://x.json; dashboard on --listen=127.0.0.1:9", 0},
		{"unknown watch key", "[watch]\npackets = true\n\npakets = true\n", "bad.toml:4:", 1},
		{"bad value", "[watch]\nrecheck = 'soon'\n", "bad.toml:2: --recheck \"soon\"", 1},
		{"bad source", "[watch]\nsource = 'evtlog,foo'\n", "--source \"foo\"", 1},
		{"bad dashboard", "[dashboard]\nlisen = '1'\n", "bad.toml:2: [dashboard]", 1},
		{"syntax", "[watch\n", "TOML syntax", 1},
		{"bad output", "[watch]\npackets = true\noutput = ['file://a', 'sylog+tcp://x:1']\n", "bad.toml:3: --output \"sylog+tcp://x:1\": unknown output scheme", 1},
		{"open dashboard", "[dashboard]\nenabled = true\nlisten = '0.0.0.0:80'\n", "bad.toml:3: [dashboard] --listen \"0.0.0.0:80\" is not a loopback", 1},
		{"open dashboard with token", "[dashboard]\nlisten = '0.0.0.0:80'\ntoken-file = 't.txt'\n", "OK", 0},
	} {
		p := filepath.Join(dir, "bad.toml")
		if tc.code == 0 {
			p = filepath.Join(dir, "good.toml")
		}
		os.WriteFile(p, []byte(tc.text), 0o600)
		var out, errb bytes.Buffer
		code := run([]string{"config", "check", p}, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("%s: exit %d, out %q, err %q; want exit %d and %q", tc.name, code, out.String(), errb.String(), tc.code, tc.want)
		}
	}
}

// watch --config: the file's settings apply, the command line wins, and a
// repeatable flag takes every value of its list.
func TestWatchConfigFlag(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.toml")
	os.WriteFile(p, []byte("[watch]\npackets = true\nbatch = 7\noutput = ['file://a.json', 'file://b.json']\nsource = 'evtlog'\n"), 0o600)
	o := &watchOptions{}
	c := newWatchCmdWith(o, nil, nil)
	if err := c.ParseFlags([]string{"--config", p, "--batch", "9"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(c.Flags(), o.config); err != nil {
		t.Fatal(err)
	}
	if !o.view.packets || o.batchSize != 9 || len(o.outputs) != 2 || o.sources != "evtlog" {
		t.Errorf("packets %v batch %d outputs %q source %q", o.view.packets, o.batchSize, o.outputs, o.sources)
	}
	os.WriteFile(p, []byte("[watch]\nconfig = 'x.toml'\n"), 0o600)
	if err := applyConfig(c.Flags(), p); err == nil || !strings.Contains(err.Error(), "cannot name another") {
		t.Errorf("config in config: %v", err)
	}
}
