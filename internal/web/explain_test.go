package web

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func TestPSQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`C:\Program Files\a.exe`, `'C:\Program Files\a.exe'`},
		{`o'brien`, `'o''brien'`},
		{"a\u2019b", "'a\u2019\u2019b'"},
		{"a\u2018\u201a\u201bb", "'a\u2018\u2018\u201a\u201a\u201b\u201bb'"},
		{"x'; Remove-Item C:\\ -Recurse; '", `'x''; Remove-Item C:\ -Recurse; '''`},
		{"a\nb\r\x00c", "'a?b??c'"},
		{"$(calc) `whoami` ${env:x}", "'$(calc) `whoami` ${env:x}'"},
		{"a\u202eb", "'a?b'"},
	} {
		if got := psQuote(c.in); got != c.want {
			t.Errorf("psQuote(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzPSQuote: a quoted value is one single-quoted token: it starts and
// ends with a quote, every quote inside is doubled, and no line break or
// control character survives.
func FuzzPSQuote(f *testing.F) {
	for _, s := range []string{"a", "'", "\u2019'", "a\nb", "'';calc;''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := psQuote(s)
		rs := []rune(q)
		if len(rs) < 2 || rs[0] != '\'' || rs[len(rs)-1] != '\'' {
			t.Fatalf("%q", q)
		}
		inner := rs[1 : len(rs)-1]
		isQ := func(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201a\u201b", r) }
		for i := 0; i < len(inner); i++ {
			if isQ(inner[i]) {
				if i+1 >= len(inner) || inner[i+1] != inner[i] {
					t.Fatalf("lone quote in %q", q)
				}
				i++
			}
			if inner[i] < 0x20 || inner[i] == 0x7f || inner[i] == '\u2028' || inner[i] == '\u2029' {
				t.Fatalf("control character in %q", q)
			}
		}
	})
}

func TestExplain(t *testing.T) {
	e := event.Event{Verdict: event.VerdictBlock, Kind: event.KindConnection, Direction: event.DirectionInbound, Reason: "default:stealth",
		Protocol: 6, HasProtocol: true, LocalPort: 445, HasLocalPort: true, RemotePort: 50000, HasRemotePort: true,
		RemoteIP: netip.MustParseAddr("10.0.0.5"), FilterOrigin: "Stealth"}
	e.SetExecutable(`\device\harddiskvolume3\windows\system32\svchost.exe`)
	x := Explain(&e)
	for _, want := range []string{"-Direction Inbound", "-Action Allow", "-Protocol TCP", "-LocalPort 445", "-RemoteAddress 10.0.0.5", `-Program '\device\harddiskvolume3\windows\system32\svchost.exe'`} {
		if !strings.Contains(x.PowerShell, want) {
			t.Errorf("command %q lacks %q", x.PowerShell, want)
		}
	}
	if !strings.Contains(x.Reason, "port-scan prevention") || !strings.Contains(x.Caveat, "nothing was listening") || !strings.Contains(x.Caveat, "device path") {
		t.Errorf("explanation %+v", x)
	}
	e.Direction, e.Reason, e.RuleID = event.DirectionOutbound, "rule", "{ABC'}"
	e.LocalPort, e.RemotePort = 50000, 443
	x = Explain(&e)
	if !strings.Contains(x.PowerShell, "-RemotePort 443") || !strings.Contains(x.Caveat, "-Name '{ABC''}'") {
		t.Errorf("outbound rule: %+v", x)
	}
}
