package output

import (
	"bytes"
	"encoding/csv"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func sample() *event.Event {
	return &event.Event{
		Time: time.Date(2026, 3, 2, 9, 15, 10, 0, time.UTC), Code: 5157, Verdict: event.VerdictBlock,
		Kind: event.KindConnection, Reason: "rule", Direction: event.DirectionOutbound, HasProtocol: true, Protocol: 6,
		LocalIP: netip.MustParseAddr("192.0.2.10"), LocalPort: 50123, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("2001:db8::1"), RemotePort: 443, HasRemotePort: true,
		HasPID: true, PID: 2212, Executable: `\device\harddiskvolume3\a very long directory name\agent-with-a-long-name.exe`,
		Name: "agent-with-a-long-name.exe", RuleName: "=cmd|' /C calc'!A0", ICMPType: -1, ICMPCode: -1,
	}
}

func TestTableFitsWidth(t *testing.T) {
	for _, width := range []int{80, 100, 132, 200} {
		var buf bytes.Buffer
		w := NewTable(&buf, Options{Width: width, Location: time.UTC})
		w.Write(sample())
		w.Close()
		for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("width %d: line of %d runes: %q", width, n, line)
			}
		}
		if !strings.Contains(buf.String(), "09:15:10") || !strings.Contains(buf.String(), "[2001:db8::1]:443") && width >= 100 {
			t.Errorf("width %d:\n%s", width, buf.String())
		}
	}
}

func TestTableSanitizes(t *testing.T) {
	e := sample()
	e.Name = "evil\x1b[31mred\x07.exe"
	var buf bytes.Buffer
	w := NewTable(&buf, Options{})
	w.Write(e)
	w.Close()
	if strings.ContainsAny(buf.String(), "\x1b\x07") {
		t.Errorf("control characters reached the terminal: %q", buf.String())
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSV(&buf, Options{})
	w.Write(sample())
	w.Close()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(recs[0]) != len(CSVColumns) {
		t.Fatalf("rows %d", len(recs))
	}
	for i, col := range recs[0] {
		if col == "rule_name" && recs[1][i] != "'=cmd|' /C calc'!A0" {
			t.Errorf("rule_name %q not defused", recs[1][i])
		}
		if col == "local_port" && recs[1][i] != "50123" {
			t.Errorf("local_port %q", recs[1][i])
		}
	}
}

func TestNewUnknownFormat(t *testing.T) {
	if _, err := New("yaml", &bytes.Buffer{}, Options{}); err == nil {
		t.Error("yaml accepted")
	}
}

func TestSummaryServicePort(t *testing.T) {
	var s Summary
	e := sample()
	s.Add(e) // outbound: remote port 443
	e.Direction = event.DirectionInbound
	s.Add(e) // inbound from remote port 443 to an ephemeral port (a reply): still 443
	e.LocalPort, e.RemotePort = 8443, 9443
	s.Add(e) // inbound, both registered: the local port
	if s.Port["443/tcp"] != 2 || s.Port["8443/tcp"] != 1 || s.Total != 3 {
		t.Errorf("ports %v", s.Port)
	}
	var buf bytes.Buffer
	if err := s.WriteJSON(&buf, 0); err != nil || !strings.Contains(buf.String(), `"total":3`) {
		t.Errorf("json %v %s", err, buf.String())
	}
}

func TestShortenEndpoint(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"192.0.2.10:3389", 20, "192.0.2.10:3389"},
		{"169.46.6.101:3389", 12, "…6.101:3389"},
		{"169.46.6.101:3389", 9, "…101:3389"},
		{"169.46.6.101:3389", 8, "…:3389"},
		{"169.46.6.101", 7, "…6.101"},
		{"[2001:db8:ffff:1:2:3:4:5]:443", 20, "[2001…1:2:3:4:5]:443"},
		{"[2001:db8::1]:65535", 4, "…:65535"}, // wider than asked: the port stays whole
		{"2001:db8:ffff:1:2:3:4:5", 12, "200…:2:3:4:5"},
		{"*:445", 3, "…:445"},
	} {
		got := shortenEndpoint(tt.in, tt.n)
		if got != tt.want {
			t.Errorf("shortenEndpoint(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestTableLive: with FlushEach (watch) each row is written at once, and
// an update row shows the flow's count so far.
func TestTableLive(t *testing.T) {
	var buf bytes.Buffer
	w := NewTable(&buf, Options{Width: 120, FlushEach: true, Location: time.UTC})
	e := sample()
	e.Flow = &event.FlowInfo{ID: 1, Count: 1, Total: 1, Start: e.Time, End: e.Time}
	w.Write(e)
	if !strings.Contains(buf.String(), "COUNT") || !strings.Contains(buf.String(), "09:15:10") {
		t.Fatalf("first sight not written at once:\n%s", buf.String())
	}
	u := sample()
	u.Flow = &event.FlowInfo{ID: 1, Count: 4, Total: 5, Start: e.Time, End: e.Time.Add(30 * time.Second), Update: true}
	w.Write(u)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[3], "09:15:40") || !strings.Contains(lines[3], " 5 ") {
		t.Errorf("update row:\n%s", buf.String())
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > 120 {
			t.Errorf("line of %d runes", utf8.RuneCountInString(l))
		}
	}
}

// TestTableLiveProvider: live output, which has no PROVIDER column, names
// a third party's block in REASON.
func TestTableLiveProvider(t *testing.T) {
	var buf bytes.Buffer
	w := NewTable(&buf, Options{Width: 160, FlushEach: true, Location: time.UTC})
	e := sample()
	e.Reason, e.FilterProvider = event.ReasonProvider, "ExampleVPN"
	w.Write(e)
	w.Close()
	if !strings.Contains(buf.String(), "provider:ExampleVPN") || strings.Contains(buf.String(), "PROVIDER") {
		t.Errorf("live row:\n%s", buf.String())
	}
	buf.Reset()
	w = NewTable(&buf, Options{Width: 160, Location: time.UTC})
	w.Write(e)
	w.Close()
	if !strings.Contains(buf.String(), "PROVIDER") || strings.Contains(buf.String(), "provider:ExampleVPN") {
		t.Errorf("buffered row:\n%s", buf.String())
	}
}

func TestShortenNames(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		how  int
		want string
	}{
		{"svchost.exe", 8, shrinkMid, "svchost"},
		{"svchost.exe (Dnscache)", 12, shrinkMid, "svchost (Dn…"},
		{"WindowsAzureGuestAgent.exe", 8, shrinkMid, "Windows…"},
		{"agent.exe", 9, shrinkMid, "agent.exe"},
		{`C:\Program Files\app\agent.exe`, 12, shrinkMid, `C:\Pr…nt.exe`},
		{"DC01.pandora.local", 6, shrinkHost, "DC01"},
		{"WORKSTATION5.theshire.local", 8, shrinkHost, "WORKSTA…"},
		{"temporal", 6, shrinkHost, "tempo…"},
	} {
		if got := shorten(tt.in, tt.n, tt.how); got != tt.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// At 80 columns, dates of one year leave the year to the caption and a
// remote IPv4 address is never cut.
func TestTableShortDatesAndWholeIPv4(t *testing.T) {
	var buf bytes.Buffer
	w := NewTable(&buf, Options{Width: 80, Location: time.UTC})
	for i, ip := range []string{"192.203.230.10", "10.1.2.3"} {
		e := sample()
		e.Time = e.Time.AddDate(0, 0, i*40)
		e.Host = []string{"DC01.corp.example", "WS7.corp.example"}[i]
		e.RemoteIP = netip.MustParseAddr(ip)
		w.Write(e)
	}
	w.Close()
	out := buf.String()
	for _, want := range []string{"2026, times in UTC", "03-02 09:15:10", "192.203.230.10:443", "DC01", "REASON"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
