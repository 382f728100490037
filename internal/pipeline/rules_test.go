package pipeline

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// ev builds a classified outbound TCP block from svchost.exe to 8.8.8.8:53.
func ev(mod func(e *event.Event)) *event.Event {
	e := &event.Event{
		Code:          5157,
		Verdict:       event.VerdictBlock,
		Kind:          event.KindConnection,
		Reason:        event.ReasonRule,
		Direction:     event.DirectionOutbound,
		Protocol:      6,
		HasProtocol:   true,
		LocalIP:       netip.MustParseAddr("192.168.1.10"),
		LocalPort:     50000,
		HasLocalPort:  true,
		RemoteIP:      netip.MustParseAddr("8.8.8.8"),
		RemotePort:    53,
		HasRemotePort: true,
		PID:           1234,
		HasPID:        true,
		Services:      []string{"Dnscache"},
		FilterOrigin:  "{E5A5E1B4-0001-4B6E-9C4D-1234567890AB}",
		RuleName:      "Block DNS",
	}
	e.SetExecutable(`\device\harddiskvolume3\windows\system32\svchost.exe`)
	if mod != nil {
		mod(e)
	}
	return e
}

func TestRuleMatch(t *testing.T) {
	tests := []struct {
		rule string
		mod  func(e *event.Event)
		want bool
	}{
		{"app=svchost.exe", nil, true},
		{"app=SVCHOST.EXE", nil, true},
		{"app=svc*", nil, true},
		{"app=chrome.exe", nil, false},
		{`app=\device\*\system32\*`, nil, true},
		{`app="C:\Program Files\*"`, nil, false},
		{`app=svchost.exe`, func(e *event.Event) { e.SetExecutable("") }, false},
		{"service=dnscache", nil, true},
		{"service=w32time,dns*", nil, true},
		{"service=w32time", nil, false},
		{"pid=1234", nil, true},
		{"pid=1", nil, false},
		{"pid=1234", func(e *event.Event) { e.HasPID = false }, false},
		{"port=53", nil, true},
		{"port=50000", nil, true},
		{"port=49152-65535", nil, true},
		{"port=80,443", nil, false},
		{"lport=53", nil, false},
		{"rport=53", nil, true},
		{"rport=53", func(e *event.Event) { e.HasRemotePort = false }, false},
		{"remote=8.8.8.0/24", nil, true},
		{"remote=8.8.8.8", nil, true},
		{"remote=10.0.0.0/8", nil, false},
		{"remote=::ffff:8.8.8.8", nil, true},
		{"local=192.168.0.0/16", nil, true},
		{"addr=8.8.0.0/16", nil, true},
		{"addr=192.168.1.10", nil, true},
		{"addr=1.1.1.1", nil, false},
		{"remote=fe80::/10", func(e *event.Event) { e.RemoteIP = netip.MustParseAddr("fe80::1%12") }, true},
		{"remote=8.8.8.8", func(e *event.Event) { e.RemoteIP = netip.MustParseAddr("::ffff:8.8.8.8") }, true},
		{"remote=8.8.8.8", func(e *event.Event) { e.RemoteIP = netip.Addr{} }, false},
		{"direction=outbound", nil, true},
		{"direction=in", nil, false},
		{"direction=in,out", nil, true},
		{"protocol=tcp", nil, true},
		{"protocol=udp,17", nil, false},
		{"protocol=6", func(e *event.Event) { e.HasProtocol = false }, false},
		{"reason=rule", nil, true},
		{"reason=default:*", nil, false},
		{"reason=default:*", func(e *event.Event) { e.Reason = "default:stealth" }, true},
		{"verdict=drop", nil, false},
		{"verdict=block", nil, true},
		{"code=5152,5157", nil, true},
		{"rule=block*", nil, true},
		{"rule={e5a5e1b4-*", nil, true},
		{"rule=other", nil, false},
		{"broadcast", nil, false},
		{"broadcast", func(e *event.Event) { e.LocalIP = netip.MustParseAddr("255.255.255.255") }, true},
		{"broadcast", func(e *event.Event) { e.RemoteIP = netip.MustParseAddr("192.168.1.255") }, true},
		{"multicast", nil, false},
		{"multicast", func(e *event.Event) { e.LocalIP = netip.MustParseAddr("224.0.0.251") }, true},
		{"multicast", func(e *event.Event) { e.RemoteIP = netip.MustParseAddr("ff02::fb") }, true},
		{"loopback", nil, false},
		{"loopback", func(e *event.Event) { e.RemoteIP = netip.MustParseAddr("127.0.0.1") }, true},
		{"app=svchost.exe port=53 direction=outbound", nil, true},
		{"app=svchost.exe port=54 direction=outbound", nil, false},
		{"name=dns app=svchost.exe", nil, true},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.rule, "test")
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tt.rule, err)
			continue
		}
		if got := r.Match(ev(tt.mod)); got != tt.want {
			t.Errorf("rule %q: Match = %v, want %v", tt.rule, got, tt.want)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct{ rule, want string }{
		{"", "no condition"},
		{"name=x", "no condition"},
		{"loopback=false", "no condition"},
		{"prot=tcp", `unknown key "prot"`},
		{"port=http", "want a port"},
		{"port=70000", "want a port"},
		{"port=100-50", "low <= high"},
		{"remote=300.1.1.1", "want an IP address"},
		{"remote=10.0.0.0/33", "want an IP address"},
		{"direction=sideways", "want inbound"},
		{"protocol=xyz", "want a name"},
		{"verdict=maybe", "want block"},
		{"code=abc", "want an event id"},
		{"pid=-1", "want a process id"},
		{"app", "is not a condition"},
		{`app="unterminated`, "unterminated"},
		{"multicast=perhaps", "want true or false"},
		{"port=", "has no value"},
	}
	for _, tt := range tests {
		_, err := ParseRule(tt.rule, "src:1")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "src:1: ") {
			t.Errorf("ParseRule(%q) error = %v, want one containing %q prefixed with the source", tt.rule, err, tt.want)
		}
	}
}

func TestParseRulesFile(t *testing.T) {
	conf := `# wfpwatch suppression rules
name=mdns multicast port=5353   # mDNS chatter

name="LLMNR" port=5355
app="\device\harddiskvolume3\program files\my app\*.exe"  direction=outbound
	broadcast
`
	rs, err := ParseRules(strings.NewReader(conf), "rules.conf")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Len() != 4 {
		t.Fatalf("got %d rules, want 4", rs.Len())
	}
	l := rs.List()
	if l[0].Name != "mdns" || l[0].Source != "rules.conf:2" || l[1].Name != "LLMNR" || l[3].Label() != "broadcast" {
		t.Errorf("rules parsed as %+v %+v %+v", l[0].Name, l[0].Source, l[1].Name)
	}
	e := ev(func(e *event.Event) { e.SetExecutable(`\device\harddiskvolume3\Program Files\My App\x.exe`) })
	if r, ok := rs.Suppress(e); !ok || r != l[2] {
		t.Errorf("quoted app path with spaces did not match: %v %v", r, ok)
	}
	if l[2].Hits() != 1 || l[0].Hits() != 0 {
		t.Errorf("hits = %d, %d", l[2].Hits(), l[0].Hits())
	}

	_, err = ParseRules(strings.NewReader("port=53\nbogus=1\n"), "r.conf")
	if err == nil || !strings.HasPrefix(err.Error(), "r.conf:2: ") {
		t.Errorf("bad line error = %v, want r.conf:2 prefix", err)
	}
}

func TestSuppressFirstRuleCounts(t *testing.T) {
	rs, err := ParseRules(strings.NewReader("port=53\nprotocol=tcp\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rs.Suppress(ev(nil))
	}
	rs.Suppress(ev(func(e *event.Event) { e.RemotePort = 80; e.LocalPort = 1 }))
	rs.Suppress(ev(func(e *event.Event) { e.Protocol = 17; e.RemotePort = 80 }))
	if a, b := rs.List()[0].Hits(), rs.List()[1].Hits(); a != 3 || b != 1 {
		t.Errorf("hits = %d, %d; want 3, 1", a, b)
	}
	var nilRules *Rules
	if _, ok := nilRules.Suppress(ev(nil)); ok {
		t.Error("nil Rules suppressed an event")
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		g, s string
		want bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "anything", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*.exe", "x.EXE", true},
		{"**a", "bba", true},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxcxxb", false},
	}
	for _, tt := range tests {
		if got := GlobMatch(tt.g, tt.s); got != tt.want {
			t.Errorf("GlobMatch(%q, %q) = %v", tt.g, tt.s, got)
		}
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add("name=mdns multicast port=5353 # c\nbroadcast\n")
	f.Add(`app="\device\x\*.exe" direction=in,out remote=10.0.0.0/8,::1 port=1-2`)
	f.Add("protocol=tcp,udp,58 verdict=block code=5157 pid=0x10 reason=default:* rule=x lport=1 rport=2 local=fe80::/10 addr=1.2.3.4 service=a loopback=true")
	f.Add("name=\"a \\\" b\" port=1")
	f.Add("port=65535-0")
	f.Add("\"\"")
	f.Fuzz(func(t *testing.T, conf string) {
		rs, err := ParseRules(strings.NewReader(conf), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Errorf("error without location: %v", err)
			}
			return
		}
		for _, r := range rs.List() {
			// Every accepted rule must reparse from its own text to an
			// equally matching rule.
			r2, err := ParseRule(r.Text, "again")
			if err != nil {
				t.Fatalf("rule %q accepted in a file but not alone: %v", r.Text, err)
			}
			for _, e := range []*event.Event{ev(nil), ev(func(e *event.Event) { e.RemoteIP = netip.MustParseAddr("ff02::1") }), {}} {
				if r.Match(e) != r2.Match(e) {
					t.Fatalf("rule %q matches differently when reparsed", r.Text)
				}
			}
		}
	})
}
