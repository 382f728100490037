package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

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
