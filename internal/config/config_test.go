package config

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/errors.golden")

var cases = []struct {
	name, text string
}{
	{"full", `# the service's settings
[watch]
packets = true
since = "10m"
output = ["syslog+tcp://siem.example:514", 'file://C:\logs\blocks.json']
pair-window = "3s"
batch = 128

[dashboard]
enabled = true
listen = "127.0.0.1:8089"
token-file = 'C:\ProgramData\wfpwatch\token.txt'

[log]
file = 'C:\ProgramData\wfpwatch\service.log'
max-size = "10MiB"
keep = 5
`},
	{"empty", ``},
	{"bom and CRLF", "\ufeff[watch]\r\npermits = true\r\n"},
	{"dashboard off", "[dashboard]\nenabled = false\nlisten = \"0.0.0.0:1\"\n"},
	{"underscores", "[watch]\nno_audit = true\n"},
	{"syntax", "[watch]\npackets = tru\n"},
	{"unclosed string", "[watch]\nsince = \"10m\n"},
	{"top-level key", "packets = true\n[watch]\n"},
	{"unknown section", "[watch]\npackets = true\n[outputs]\nurl = \"x\"\n"},
	{"table in watch", "[watch]\n[watch.output]\nurl = \"x\"\n"},
	{"nested list", "[watch]\noutput = [[\"a\"], [\"b\"]]\n"},
	{"bad log", "[log]\nmax-size = \"10 parsecs\"\nkeep = -1\nfile = 7\ncolour = \"red\"\n"},
	{"enabled not bool", "[dashboard]\nenabled = \"yes\"\n"},
	{"NUL", "[watch]\x00\n"},
	{"control chars", "[watch]\n\"pack\\u001b[31mets\" = 1\n[\"bad\\u001b\"]\n"},
	{"duplicate key", "[watch]\npackets = true\npackets = false\n"},
}

func TestParse(t *testing.T) {
	var golden strings.Builder
	for _, tc := range cases {
		c, err := Parse("wfpwatch.toml", []byte(tc.text))
		golden.WriteString("## " + tc.name + "\n")
		if err != nil {
			golden.WriteString(err.Error() + "\n")
			continue
		}
		args, lines := c.WatchArgs()
		for i := range args {
			golden.WriteString("watch " + args[i] + " @" + itoa(lines[i]) + "\n")
		}
		if c.Dashboard != nil {
			args, lines := c.DashboardArgs()
			golden.WriteString("dashboard on\n")
			for i := range args {
				golden.WriteString("dashboard " + args[i] + " @" + itoa(lines[i]) + "\n")
			}
		}
		if c.Log != (Log{}) {
			golden.WriteString("log " + c.Log.File + " " + itoa(int(c.Log.MaxSize)) + " " + itoa(c.Log.Keep) + "\n")
		}
	}
	path := filepath.Join("testdata", "parse.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got := golden.String(); got != string(want) {
		t.Errorf("parse results differ from %s (go test -update after checking):\n%s", path, got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTooLarge(t *testing.T) {
	_, err := Parse("big.toml", make([]byte, MaxSize+1))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadNamedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.toml")
	os.WriteFile(p, []byte("[watch]\npackets = true\n"), 0o600)
	c, err := Load(p)
	if err != nil || len(c.Watch) != 1 || c.Watch[0].Text != "--packets=true" || c.Watch[0].Line != 2 {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("a missing file is no error")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("a directory is no error")
	}
}

// FuzzParse: no input panics, every error names the file, and what parses
// gives arguments that start with "--".
func FuzzParse(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.text))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse("f.toml", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.toml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, a := range append(c.Watch, c.Dashboard...) {
			if !strings.HasPrefix(a.Text, "--") {
				t.Fatalf("argument %q", a.Text)
			}
		}
	})
}
