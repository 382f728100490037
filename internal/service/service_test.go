package service

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		exe    string
		config string
		want   string
	}{
		{`C:\wfpwatch\wfpwatch.exe`, `C:\ProgramData\wfpwatch\wfpwatch.conf`, `C:\wfpwatch\wfpwatch.exe service run --config C:\ProgramData\wfpwatch\wfpwatch.conf`},
		{`C:\Program Files\wfpwatch\wfpwatch.exe`, `C:\My Config\w.conf`, `"C:\Program Files\wfpwatch\wfpwatch.exe" service run --config "C:\My Config\w.conf"`},
		{`C:\a b\`, `x"y`, `"C:\a b\\" service run --config "x\"y"`},
		{`C:\x.exe`, ``, `C:\x.exe service run --config ""`},
	}
	for _, tt := range tests {
		got := CommandLine(tt.exe, Args(tt.config)...)
		if got != tt.want {
			t.Errorf("CommandLine(%q, %q) = %s, want %s", tt.exe, tt.config, got, tt.want)
		}
		if back := splitCommandLine(got); !reflect.DeepEqual(back, append([]string{tt.exe}, Args(tt.config)...)) {
			t.Errorf("splitCommandLine(%s) = %q", got, back)
		}
		if c := ConfigFromCommandLine(got); c != tt.config {
			t.Errorf("ConfigFromCommandLine(%s) = %q, want %q", got, c, tt.config)
		}
	}
	if c := ConfigFromCommandLine(`x.exe service run --config=C:\a.conf`); c != `C:\a.conf` {
		t.Errorf("--config=: got %q", c)
	}
	if c := ConfigFromCommandLine(`x.exe service run`); c != "" {
		t.Errorf("no --config: got %q", c)
	}
}

func FuzzSplitCommandLine(f *testing.F) {
	f.Add(`C:\x.exe`, `a b`)
	f.Add(`C:\a b\`, `x"y\\"`)
	f.Add(``, `"`)
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsAny(a+b, "\x00\n") {
			return
		}
		got := splitCommandLine(CommandLine(a, b))
		if !reflect.DeepEqual(got, []string{a, b}) {
			t.Fatalf("round trip of %q %q: %q", a, b, got)
		}
	})
}

func TestRecoveryText(t *testing.T) {
	got := RecoveryText(Recovery, ResetPeriod)
	want := "1st failure: restart after 10s; 2nd: restart after 1m0s; later: none; failure count reset after 24h0m0s"
	if got != want {
		t.Errorf("RecoveryText = %q\nwant %q", got, want)
	}
	if got := RecoveryText(nil, 0); !strings.Contains(got, "none") {
		t.Errorf("no actions: %q", got)
	}
}

func TestStatusWrite(t *testing.T) {
	st := &Status{State: "Stopped", ExitCode: 1066, SpecificExit: ExitBadConfig, StartType: "Automatic (delayed)", Account: "LocalSystem",
		BinaryPath: `C:\w\wfpwatch.exe service run --config C:\c.conf`, Config: `C:\c.conf`, Recovery: Recovery, ResetPeriod: ResetPeriod,
		Preshutdown: PreshutdownTimeout, LogFile: `C:\ProgramData\wfpwatch\service.log`}
	var b strings.Builder
	st.Write(&b)
	for _, want := range []string{"State:        Stopped", "configuration file was not valid", "Automatic (delayed)", `Config:       C:\c.conf`, "restart after 10s", "Preshutdown:  30s", "service.log", "source wfpwatch"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}

func TestRotatingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "service.log")
	r := &RotatingFile{Path: path, MaxSize: 100, Keep: 2}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two fit, the third rotates
	for i := 0; i < 7; i++ {
		if _, err := fmt.Fprintf(r, "%d%s", i, line[1:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return "(missing)"
		}
		var firsts []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			firsts = append(firsts, l[:1])
		}
		return strings.Join(firsts, ",")
	}
	got := []string{read(path), read(path + ".1"), read(path + ".2"), read(path + ".3")}
	want := []string{"6", "4,5", "2,3", "(missing)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files hold lines %q, want %q", got, want)
	}
	// Reopened, it appends to what is there.
	r = &RotatingFile{Path: path, MaxSize: 100, Keep: 2}
	fmt.Fprint(r, "7"+line[1:])
	r.Close()
	if got := read(path); got != "6,7" {
		t.Errorf("after reopening: %q, want 6,7", got)
	}
	// Keep 0 truncates.
	r = &RotatingFile{Path: path, MaxSize: 50, Keep: 0}
	fmt.Fprint(r, "8"+line[1:])
	r.Close()
	if got := read(path); got != "8" {
		t.Errorf("keep 0: %q, want 8", got)
	}
}

type fakeSink struct{ got []string }

func (f *fakeSink) Info(id uint32, m string) error {
	f.got = append(f.got, fmt.Sprintf("I%d %s", id, m))
	return nil
}
func (f *fakeSink) Warning(id uint32, m string) error {
	f.got = append(f.got, fmt.Sprintf("W%d %s", id, m))
	return nil
}
func (f *fakeSink) Error(id uint32, m string) error {
	f.got = append(f.got, fmt.Sprintf("E%d %s", id, m))
	return fmt.Errorf("event log full")
}

func TestLoggerRouting(t *testing.T) {
	sink := &fakeSink{}
	var file strings.Builder
	l := NewLogger(sink, &file)
	l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	writes := []string{
		"wfpwatch: audit policy changed: Filtering Platform Connection failure on; it will be put back when watch exits\n",
		"wfpwatch: warning: Filtering Platform Connection was switched off by someone else\n",
		"wfpwatch: could not put the audit policy back: access denied\nRun 'wfpwatch audit restore' as administrator.\n",
		"wfpwatch: the Security log cannot be watched: gone\nwfpwatch: going on with WFP net events only\n",
		"wfpwatch: half a ", "message\n",
		"wfpwatch: no newline",
	}
	for _, w := range writes {
		if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	l.Flush()
	want := []string{
		"I1 audit policy changed: Filtering Platform Connection failure on; it will be put back when watch exits",
		"W2 warning: Filtering Platform Connection was switched off by someone else",
		"E3 could not put the audit policy back: access denied\nRun 'wfpwatch audit restore' as administrator.",
		"W2 the Security log cannot be watched: gone",
		"I1 going on with WFP net events only",
		"I1 half a message",
		"I1 no newline",
	}
	if !reflect.DeepEqual(sink.got, want) {
		t.Errorf("event log got\n%q\nwant\n%q", sink.got, want)
	}
	f := file.String()
	for _, s := range []string{
		"2026-01-02T03:04:05.000Z warning warning: Filtering Platform Connection",
		"2026-01-02T03:04:05.000Z error   could not put the audit policy back: access denied\r\n    Run 'wfpwatch audit restore'",
		"the Event Log refused a message (event log full)",
	} {
		if !strings.Contains(f, s) {
			t.Errorf("log file lacks %q:\n%s", s, f)
		}
	}
	if strings.Count(f, "refused") != 1 {
		t.Errorf("the Event Log failure is said more than once:\n%s", f)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		msg  string
		want Level
	}{
		{"wfpwatch: watching the Security log", Info},
		{"wfpwatch: warning: gap", Warning},
		{"Warning: x", Warning},
		{"wfpwatch: error: x", Error},
		{"wfpwatch: WFP net events cannot be watched: x", Warning},
		{"wfpwatch: could not put the audit policy back: x", Error},
	}
	for _, tt := range tests {
		if got := Classify(tt.msg); got != tt.want {
			t.Errorf("Classify(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}
