package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// hostile are strings an attacker can put in a process path, a rule name
// or an archive member name.
var hostile = []struct{ in, want string }{
	{"plain.exe", "plain.exe"},
	{"naïve – 日本.exe", "naïve – 日本.exe"},
	{"evil\x1b[31mred\x07.exe", `evil\x1b[31mred\x07.exe`},
	{"csi\u009b2Jclear", `csi\u009b2Jclear`},
	{"raw\x9b2J", `raw\x9b2J`},
	{"osc\x1b]0;title\x07", `osc\x1b]0;title\x07`},
	{"gpj.\u202eexe", `gpj.\u202eexe`},
	{"iso\u2066late\u2069", `iso\u2066late\u2069`},
	{"lrm\u200eand\u200f", `lrm\u200eand\u200f`},
	{"nul\x00bs\x08del\x7f", `nul\x00bs\x08del\x7f`},
	{"line\nbreak\r\ttab", `line\nbreak\r\ttab`},
}

func TestTermSafe(t *testing.T) {
	for _, h := range hostile {
		if got := TermSafe(h.in); got != h.want {
			t.Errorf("TermSafe(%q) = %q, want %q", h.in, got, h.want)
		}
	}
}

// terminalClean reports whether s holds nothing a terminal acts on.
func terminalClean(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f || unsafeRune(r) || r == 0xfffd && !strings.Contains(s, "\ufffd") {
			return false
		}
	}
	return !strings.Contains(s, "\x9b")
}

func hostileEvent(s string) *event.Event {
	e := sample()
	e.Name, e.Executable, e.RuleName, e.Host, e.FilterOrigin = s, `C:\`+s, s, s, s
	return e
}

func TestOutputsNeutralizeHostileText(t *testing.T) {
	for _, h := range hostile {
		for _, format := range []string{"table", "csv", "json"} {
			var buf bytes.Buffer
			w, _ := New(format, &buf, Options{Width: 200})
			w.Write(hostileEvent(h.in))
			w.Close()
			out := buf.String()
			if format == "csv" {
				// Quoted cells may keep their line breaks and tabs.
				out = strings.NewReplacer("\r", "", "\t", "").Replace(out)
			}
			if !terminalClean(out) {
				t.Errorf("%s of %q reaches the terminal raw: %q", format, h.in, out)
			}
			switch format {
			case "csv":
				recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
				if err != nil || len(recs) != 2 {
					t.Errorf("csv of %q: %v %d rows", h.in, err, len(recs))
				}
			case "json":
				var m map[string]any
				if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
					t.Errorf("json of %q: %v", h.in, err)
				} else if got := m["process"].(map[string]any)["name"]; got != strings.ToValidUTF8(h.in, "\ufffd") {
					t.Errorf("json of %q: process.name %q: the escapes must decode to the same text", h.in, got)
				}
			}
		}
		var s Summary
		s.Add(hostileEvent(h.in))
		var buf bytes.Buffer
		s.WriteText(&buf, 0)
		if !terminalClean(buf.String()) {
			t.Errorf("summary of %q reaches the terminal raw: %q", h.in, buf.String())
		}
	}
}

// FuzzTermSafe: whatever the input, nothing a terminal acts on comes out,
// and safe text is kept as it is.
func FuzzTermSafe(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := TermSafe(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("%q kept %U", s, r)
			}
		}
		if TermSafe(out) != out {
			t.Fatalf("not idempotent on %q", s)
		}
	})
}

// FuzzShorten: shortening never panics, never cuts a port, and stays in
// its width unless the port alone is wider.
func FuzzShorten(f *testing.F) {
	for _, s := range []string{"192.0.2.10:3389", "[2001:db8::1]:443", "2001:db8::1", "*:445", "-", "a…b:1"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > 200 {
			return
		}
		for _, how := range []int{shrinkAddr, shrinkMid, shrinkEnd} {
			out := shorten(s, n, how)
			w := utf8.RuneCountInString(out)
			if how != shrinkAddr && w > n {
				t.Fatalf("shorten(%q, %d, %d) = %q: %d runes", s, n, how, out, w)
			}
			if how == shrinkAddr && w > n && !strings.HasPrefix(out, "…:") {
				t.Fatalf("endpoint %q at %d: %q", s, n, out)
			}
		}
	})
}
