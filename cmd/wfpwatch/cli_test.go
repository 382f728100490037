package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs the whole command line as main does and returns stdout,
// stderr and the exit status.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestFlagsAfterFiles checks flags may come after the file names, as with
// every cobra/pflag command line.
func TestFlagsAfterFiles(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", fixture, "--format", "json", "--packets"},
		{"analyze", "--format", "json", fixture, "--packets"},
		{"analyze", fixture, "--format=json", "--packets", "-q"},
		{"analyze", "-format", "json", "-packets", fixture}, // the Go flag package's single-dash form
	} {
		out, errOut, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 2 {
			t.Fatalf("%q: %d lines", args, len(lines))
		}
		for _, l := range lines {
			if !json.Valid([]byte(l)) {
				t.Fatalf("%q: not JSON: %s", args, l)
			}
		}
	}
}

// TestHelpOnStdout checks --help, -h and 'help CMD' print to standard
// output and exit 0, for every command.
func TestHelpOnStdout(t *testing.T) {
	cmds := [][]string{{}, {"analyze"}, {"watch"}, {"query"}, {"audit"}, {"audit", "enable"}, {"fwlog"}, {"fwlog", "tail"},
		{"evtx"}, {"evtx", "dump"}, {"selftest"}, {"version"}, {"completion"}}
	for _, c := range cmds {
		for _, args := range [][]string{append(append([]string{}, c...), "--help"), append(append([]string{}, c...), "-h"), append([]string{"help"}, c...)} {
			out, errOut, code := runCLI(t, args...)
			if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") {
				t.Errorf("%q: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
			}
		}
	}
	out, _, _ := runCLI(t, "analyze", "--help")
	for _, want := range []string{"-q, --quiet", "-r, --recursive", "-v, --verbose", "--format format", "--since TIME", "--top DIM"} {
		if !strings.Contains(out, want) {
			t.Errorf("analyze --help lacks %q", want)
		}
	}
	if out, _, code := runCLI(t); code != 0 || !strings.Contains(out, "analyze") {
		t.Errorf("no arguments: exit %d:\n%s", code, out)
	}
}

// TestBadValues checks each bad value gives one line on stderr that says
// what is wanted, and exit status 2.
func TestBadValues(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"analyze", fixture, "--window", "5"}, `wfpwatch analyze: --window "5": want a duration such as 5m`},
		{[]string{"analyze", fixture, "--format", "yaml"}, `--format "yaml": want table, json or csv`},
		{[]string{"analyze", fixture, "--direction", "sideways"}, `--direction "sideways": want inbound or outbound`},
		{[]string{"analyze", fixture, "--protocol", "smtp"}, `--protocol "smtp": want tcp, udp, icmp, icmpv6 or a number`},
		{[]string{"analyze", fixture, "--verdict", "maybe"}, `--verdict "maybe": want block, drop or permit`},
		{[]string{"analyze", fixture, "--since", "yesterday"}, `--since "yesterday": want a duration (10m, 2h, 7d), an RFC 3339 time`},
		{[]string{"analyze", fixture, "--until", "soon"}, `--until "soon": want a duration`},
		{[]string{"analyze", fixture, "--since", "1h", "--until", "2h"}, `--since 1h is not before --until 2h`},
		{[]string{"analyze", fixture, "--port", "http"}, `--port "http": want a port number 0-65535`},
		{[]string{"analyze", fixture, "--port", "70000"}, `--port 70000: not a port`},
		{[]string{"analyze", fixture, "--remote", "nowhere"}, `--remote "nowhere": want an IP address or a CIDR range`},
		{[]string{"analyze", fixture, "--top", "colour"}, `--top "colour": want app, port, remote, rule or host`},
		{[]string{"analyze", fixture, "--limit", "-1"}, `--limit -1: want 0 or more`},
		{[]string{"analyze", fixture, "--max-flows", "many"}, `--max-flows "many": want a whole number`},
		{[]string{"analyze", fixture, "--frmat", "json"}, `unknown flag --frmat (did you mean --format?)`},
		{[]string{"analyze", fixture, "--format"}, `--format needs a value: want a format`},
		{[]string{"analyze"}, `no input: give one or more files`},
		{[]string{"analyse", fixture}, `unknown command "analyse" (did you mean "analyze"?)`},
		{[]string{"query", "--since", "last week"}, `--since: "last week": want a duration`},
		{[]string{"query", "--top", "colour"}, `--top "colour": want app, port, remote, rule or host`},
		{[]string{"query", "--format", "xml"}, `--format "xml": want table, json or csv`},
		{[]string{"query", "extra"}, `unexpected argument "extra"`},
		{[]string{"watch", "--window", "5"}, `--window "5": want a duration such as 5m`},
		{[]string{"watch", "--since", "5"}, `--since "5": want a duration back from now (10m, 2h, 7d)`},
		{[]string{"fwlog", "tail", "--format", "yaml", "x.log"}, `unknown output format "yaml" (want one of table, json, csv)`},
		{[]string{"watch", "--render", "html"}, `--render "html": want values or xml`},
		{[]string{"audit", "stat"}, `unknown command "stat" (did you mean "status"?)`},
		{[]string{"audit"}, `give a subcommand: disable, enable, restore or status`},
		{[]string{"audit", "enable", "--packet"}, `unknown flag --packet (did you mean --packets?)`},
		{[]string{"evtx", "dump", "--format", "yaml", "x.evtx"}, `--format "yaml": want xml or json`},
		{[]string{"fwlog", "enable", "--max-size", "big"}, `--max-size "big": want a whole number, 0 or more`},
		{[]string{"selftest", "--timeout", "5"}, `--timeout "5": want a duration such as 5m`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
	}
	for _, tt := range tests {
		_, errOut, code := runCLI(t, tt.args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tt.args, code, errOut)
		}
		if !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: stderr %q, want %q", tt.args, errOut, tt.want)
		}
		if n := strings.Count(errOut, "\n"); n != 1 {
			t.Errorf("%q: %d lines on stderr, want one:\n%s", tt.args, n, errOut)
		}
	}
}

// TestNothingShownExplains checks an empty result says why on stderr in
// one line, exits 0, and that -q silences it.
func TestNothingShownExplains(t *testing.T) {
	dir := tempDir(t)
	other := filepath.Join(dir, "logon.xml")
	var b strings.Builder
	b.WriteString("<Events>")
	for i := 0; i < 1200; i++ {
		b.WriteString(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4624</EventID><TimeCreated SystemTime="2026-03-02T09:15:01Z"/><Channel>Security</Channel></System></Event>`)
	}
	b.WriteString("</Events>")
	os.WriteFile(other, []byte(b.String()), 0o644)
	empty := filepath.Join(dir, "empty.xml")
	os.WriteFile(empty, []byte("<Events></Events>"), 0o644)

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"analyze", other}, "nothing to show: " + other + " (xml) held 1,200 event records, none from the Filtering Platform"},
		{[]string{"analyze", empty}, "nothing to show: " + empty + " (xml) held no events"},
		{[]string{"analyze", other, empty}, "nothing to show: the 2 inputs (xml) held 1,200 event records, none from the Filtering Platform"},
		{[]string{"analyze", fixture, "--app", "no-such-app"}, "nothing to show: 14 events read, all hidden: 5 packet drops (--packets shows them), 3 permits (--permits shows them), 6 not matching the filters"},
		{[]string{"analyze", fixture, "--since", "1h"}, "6 outside --since/--until"},
		{[]string{"analyze", fixture, "--suppress", "app=svchost.exe", "--app", "svchost", "--packets", "--permits"}, " suppressed"},
		{[]string{"analyze", fixture, "--top", "app", "--app", "nothing"}, "not matching the filters"},
		{[]string{"analyze", fixture, "--summary", "--direction", "inbound", "--app", "nothing"}, "not matching the filters"},
	}
	for _, tt := range tests {
		_, errOut, code := runCLI(t, tt.args...)
		if code != 0 {
			t.Errorf("%q: exit %d, want 0: %s", tt.args, code, errOut)
		}
		if !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: stderr %q\nwant %q", tt.args, errOut, tt.want)
		}
		if n := strings.Count(errOut, "nothing to show"); n != 1 {
			t.Errorf("%q: %d notes", tt.args, n)
		}
		q := append(append([]string{}, tt.args...), "-q")
		if _, errOut, code := runCLI(t, q...); code != 0 || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q, want nothing", q, code, errOut)
		}
	}
	// Something shown: no note.
	if _, errOut, _ := runCLI(t, "analyze", fixture); strings.Contains(errOut, "nothing") {
		t.Errorf("a note although blocks were shown: %s", errOut)
	}
}

// TestAnalyzeTop checks analyze --top counts the events read as query
// --top counts the history, and that the old --top N of --summary works.
func TestAnalyzeTop(t *testing.T) {
	out, errOut, code := runCLI(t, "analyze", fixture, "--packets", "--permits", "--top", "port", "--limit", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "COUNT") || !strings.Contains(lines[4], "(all 14 matching events)") {
		t.Errorf("top port:\n%s", out)
	}
	out, _, _ = runCLI(t, "analyze", fixture, "--top", "app", "--format", "json")
	var total int64
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct{ Count int64 }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		total += r.Count
	}
	if total != 6 {
		t.Errorf("top app counts %d blocks, want 6", total)
	}
	a, _, _ := runCLI(t, "analyze", fixture, "--summary", "--top", "2")
	b, _, _ := runCLI(t, "analyze", fixture, "--summary", "--limit", "2")
	if a != b || a == "" {
		t.Errorf("--summary --top 2 and --limit 2 differ:\n%s\n%s", a, b)
	}
	if _, errOut, code := runCLI(t, "analyze", fixture, "--summary", "--top", "app"); code != 2 || !strings.Contains(errOut, "choose one") {
		t.Errorf("--summary --top app: exit %d %s", code, errOut)
	}
}

// TestAnalyzeSinceUntil checks --since/--until keep the events of a span.
func TestAnalyzeSinceUntil(t *testing.T) {
	all, _, _ := runCLI(t, "analyze", fixture, "--packets", "--permits", "--no-aggregate", "--format", "json")
	span, errOut, code := runCLI(t, "analyze", fixture, "--packets", "--permits", "--no-aggregate", "--format", "json",
		"--since", "2026-03-02T09:15:08Z", "--until", "2026-03-02T09:20:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	n, m := strings.Count(all, "\n"), strings.Count(span, "\n")
	if m == 0 || m >= n {
		t.Errorf("%d of %d events in the span", m, n)
	}
	for _, l := range strings.Split(strings.TrimSpace(span), "\n") {
		var e struct {
			TS string `json:"@timestamp"`
		}
		json.Unmarshal([]byte(l), &e)
		if e.TS < "2026-03-02T09:15:08Z" || e.TS >= "2026-03-02T09:20:00Z" {
			t.Errorf("event at %s outside the span", e.TS)
		}
	}
}

// TestCompletion checks a completion script comes out for each shell.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"powershell", "bash", "zsh", "fish"} {
		out, errOut, code := runCLI(t, "completion", sh)
		if code != 0 || len(out) < 500 || !strings.Contains(out, "wfpwatch") {
			t.Errorf("%s: exit %d, %d bytes, stderr %q", sh, code, len(out), errOut)
		}
	}
	// The values of a flag are completed.
	out, _, code := runCLI(t, "__complete", "analyze", "--format", "")
	if code != 0 || !strings.Contains(out, "json") || !strings.Contains(out, "csv") {
		t.Errorf("completing --format: %d %s", code, out)
	}
	out, _, _ = runCLI(t, "__complete", "an")
	if !strings.Contains(out, "analyze") {
		t.Errorf("completing a command: %s", out)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"format", "format", 0}, {"frmat", "format", 1}, {"packet", "packets", 1}, {"abc", "", 3}, {"kitten", "sitting", 3}} {
		if d := editDistance(tt.a, tt.b); d != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 3561: "3,561", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSinceValue(t *testing.T) {
	saved := queryNow
	defer func() { queryNow = saved }()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	queryNow = func() time.Time { return now }
	for in, want := range map[string]time.Duration{"10m": 10 * time.Minute, "1d2h": 26 * time.Hour, "2026-11-26T11:00:00Z": time.Hour, "2026-11-26": 12 * time.Hour} {
		var d time.Duration
		if err := (sinceValue{&d}).Set(in); err != nil || d != want {
			t.Errorf("%q: %v, %v; want %v", in, d, err, want)
		}
	}
	for _, bad := range []string{"5", "-1m", "2027-01-01", "soon"} {
		var d time.Duration
		if err := (sinceValue{&d}).Set(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzLongFlagCompat checks the rewrite of single-dash long flags only
// ever adds a dash to a known flag, and leaves everything after -- alone.
func FuzzLongFlagCompat(f *testing.F) {
	for _, s := range []string{"analyze -format json x", "analyze -rv -q x", "analyze x -- -format", "query -since=1h -top app", "-help", "audit enable -packets", "analyze -", "evtx dump -carve -format=json f"} {
		f.Add(s)
	}
	root := newRoot(io.Discard, io.Discard)
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		got := longFlagCompat(root, args)
		if len(got) != len(args) {
			t.Fatalf("%q → %q", args, got)
		}
		dashdash := false
		for i := range args {
			if args[i] == "--" {
				dashdash = true
			}
			if got[i] != args[i] && (dashdash || got[i] != "-"+args[i] || strings.HasPrefix(args[i], "--")) {
				t.Fatalf("%q: arg %d %q → %q", args, i, args[i], got[i])
			}
		}
	})
}

// TestPermissionHint: an access-denied error says what to do, once.
func TestPermissionHint(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "wfpwatch.db", Err: fs.ErrPermission}
	for _, tc := range []struct {
		err  error
		hint bool
	}{
		{denied, true},
		{fmt.Errorf("history database: %w", denied), true},
		{fmt.Errorf("OpenSCManager: %w: run this from an elevated prompt (Run as administrator)", denied), false},
		{errors.New("no such file"), false},
	} {
		var b bytes.Buffer
		report(nil, tc.err, &b)
		got := strings.Contains(b.String(), "give it files")
		if got != tc.hint {
			t.Errorf("%v: hint %v, want %v: %s", tc.err, got, tc.hint, b.String())
		}
	}
}
