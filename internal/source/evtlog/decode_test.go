package evtlog

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// want is what a decoded fixture event must hold. Empty strings and zero
// values are checked too: a field the fixture lacks must stay empty.
type want struct {
	code       int
	verdict    event.Verdict
	kind       event.Kind
	reason     string
	dir        event.Direction
	proto      int // -1: none
	local      string
	remote     string
	pid        int // -1: none
	name       string
	filter     int64 // -1: none
	layerID    int   // -1: none
	layerName  string
	origin     string
	ruleID     string
	icmpType   int
	ifIndex    int // -1: none
	profiles   string
	remoteUser string
}

// fixtureWants lists, by EventRecordID, what each event of
// testdata/security-wfp.xml decodes to: one or more events of every
// Filtering Platform id, written from Microsoft's documented schema.
var fixtureWants = map[uint64]want{
	1001: {5031, "block", "accept", "default:query_user", "inbound", -1, "", "", -1, "agent.exe", -1, -1, "", "", "", -1, -1, "Domain", ""},
	1002: {5150, "drop", "packet", "discard", "inbound", 1, "192.0.2.10", "203.0.113.9", 0, "", 0, 0, "MAC 802.3", "", "", 0, -1, "", ""},
	1003: {5151, "drop", "packet", "unresolved", "inbound", 1, "192.0.2.10", "203.0.113.9", 0, "", 71000, 0, "MAC 802.3", "", "", 0, -1, "", ""},
	1004: {5152, "drop", "packet", "default:stealth", "inbound", 6, "192.0.2.10:3389", "198.51.100.23:51514", 0, "", 0, 13, "Transport", "Stealth", "", -1, 7, "", ""},
	1005: {5152, "drop", "packet", "default:query_user", "inbound", 17, "[ff02::fb]:5353", "[fe80::1c2b:3a4d:5e6f:7081]:5353", 4, "System", 82311, 46, "Receive/Accept", "Query User Default", "", -1, 7, "", ""},
	1006: {5153, "drop", "packet", "rule", "outbound", 6, "192.0.2.10:50122", "198.51.100.80:443", 2212, "agent.exe", 92001, 48, "Connect", "{A1B2C3D4-0000-4000-8000-00000000BEEF}", "{A1B2C3D4-0000-4000-8000-00000000BEEF}", -1, 7, "", ""},
	1007: {5154, "permit", "listen", "", "inbound", 6, "0.0.0.0:8080", "", 2212, "agent.exe", 0, 40, "Listen", "", "", -1, -1, "", ""},
	1008: {5155, "block", "listen", "unresolved", "inbound", 6, "0.0.0.0:8080", "", 2212, "agent.exe", 92010, 40, "Listen", "", "", -1, -1, "", ""},
	1009: {5156, "permit", "connection", "", "outbound", 17, "192.0.2.10:61001", "192.0.2.53:53", 1432, "svchost.exe", 70123, 48, "Connect", "", "", -1, -1, "", "S-1-0-0"},
	1010: {5157, "block", "connection", "unresolved", "outbound", 6, "192.0.2.10:50123", "198.51.100.80:443", 2212, "agent.exe", 92001, 48, "Connect", "", "", -1, -1, "", "S-1-0-0"},
	1011: {5157, "block", "connection", "rule", "inbound", 1, "192.0.2.10", "198.51.100.23", 4, "System", 68123, 44, "Receive/Accept", "{3A6C1B2E-7D8F-4E1A-9B0C-2D3E4F5A6B7C}", "{3A6C1B2E-7D8F-4E1A-9B0C-2D3E4F5A6B7C}", 0, 7, "", "S-1-0-0"},
	1012: {5157, "block", "connection", "default:uwp", "outbound", 6, "[2001:db8::10]:50200", "[2001:db8:ffff::1]:443", 3104, "app.exe", 66241, 50, "Connect", "UWP Default", "", -1, 9, "", "S-1-0-0"},
	1013: {5158, "permit", "bind", "", "", 17, "0.0.0.0:61001", "", 1432, "svchost.exe", 0, 36, "Resource Assignment", "", "", -1, -1, "", ""},
	1014: {5159, "block", "bind", "unresolved", "", 17, "[::]:9999", "", 2212, "agent.exe", 92020, 38, "Resource Assignment", "", "", -1, -1, "", ""},
}

func endpointString(ip netip.Addr, port uint16, hasPort bool) string {
	if !ip.IsValid() {
		return ""
	}
	if !hasPort {
		return ip.String()
	}
	return netip.AddrPortFrom(ip, port).String()
}

func checkWant(t *testing.T, e *event.Event, w want) {
	t.Helper()
	got := want{
		code: e.Code, verdict: e.Verdict, kind: e.Kind, reason: e.Reason, dir: e.Direction,
		proto: -1, local: endpointString(e.LocalIP, e.LocalPort, e.HasLocalPort),
		remote: endpointString(e.RemoteIP, e.RemotePort, e.HasRemotePort), pid: -1, name: e.Name,
		filter: -1, layerID: -1, layerName: e.LayerName, origin: e.FilterOrigin, ruleID: e.RuleID,
		icmpType: int(e.ICMPType), ifIndex: -1, profiles: e.Profiles, remoteUser: e.RemoteUserID,
	}
	if e.HasProtocol {
		got.proto = int(e.Protocol)
	}
	if e.HasPID {
		got.pid = int(e.PID)
	}
	if e.HasFilterID {
		got.filter = int64(e.FilterID)
	}
	if e.HasLayerID {
		got.layerID = int(e.LayerID)
	}
	if e.HasInterfaceIndex {
		got.ifIndex = int(e.InterfaceIndex)
	}
	if got != w {
		t.Errorf("record %d:\n got %+v\nwant %+v", e.RecordID, got, w)
	}
}

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../testdata/security-wfp.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeEveryID(t *testing.T) {
	seen := map[int]bool{}
	n := 0
	_, err := ReadXML(strings.NewReader(string(readFixture(t))), func(rec *Record, off int64) error {
		var e event.Event
		err := Decode(rec, &e)
		if rec.EventID == 4624 {
			if err != ErrNotWFP {
				t.Errorf("4624: got %v, want ErrNotWFP", err)
			}
			return nil
		}
		if err != nil {
			t.Errorf("record %d: %v", rec.RecordID, err)
		}
		if u := UnknownFields(rec); len(u) > 0 {
			t.Errorf("record %d: unknown fields %v", rec.RecordID, u)
		}
		w, ok := fixtureWants[rec.RecordID]
		if !ok {
			t.Fatalf("no expectation for record %d", rec.RecordID)
		}
		checkWant(t, &e, w)
		if e.Host != "WS01.corp.example" || e.Time.IsZero() {
			t.Errorf("record %d: host %q time %v", rec.RecordID, e.Host, e.Time)
		}
		seen[e.Code] = true
		n++
		return nil
	}, func(off int64, err error) { t.Errorf("offset %d: %v", off, err) })
	if err != nil {
		t.Fatal(err)
	}
	if n != len(fixtureWants) {
		t.Errorf("decoded %d events, want %d", n, len(fixtureWants))
	}
	for id := range event.AuditIDs {
		if !seen[id] {
			t.Errorf("no fixture event for id %d", id)
		}
	}
}

func TestDecodeFieldProblems(t *testing.T) {
	tests := []struct {
		name    string
		data    []Field
		problem string // substring of the FieldError; "" for none
		check   func(e *event.Event) bool
	}{
		{"huge port", []Field{{"SourcePort", "99999"}, {"Direction", "%%14593"}}, `SourcePort: "99999" is not a port`, func(e *event.Event) bool { return !e.HasLocalPort }},
		{"bad address", []Field{{"DestAddress", "300.1.1.1"}}, "is not an IP address", func(e *event.Event) bool { return !e.RemoteIP.IsValid() }},
		{"unknown direction code", []Field{{"Direction", "%%99999"}}, "is not a known direction code", nil},
		{"unknown layer code kept raw", []Field{{"LayerName", "%%14999"}}, "not a known layer-name code", func(e *event.Event) bool { return e.LayerName == "%%14999" }},
		{"huge filter id", []Field{{"FilterRTID", "18446744073709551616"}}, "is not a filter id", func(e *event.Event) bool { return !e.HasFilterID }},
		{"max filter id", []Field{{"FilterRTID", "18446744073709551615"}}, "", func(e *event.Event) bool { return e.FilterID == 1<<64-1 }},
		{"dashes are absent values", []Field{{"ProcessID", "-"}, {"Application", "-"}, {"SourceAddress", "-"}, {"SourcePort", "-"}}, "", func(e *event.Event) bool {
			return !e.HasPID && e.Executable == "" && !e.LocalIP.IsValid() && !e.HasLocalPort
		}},
		{"case-insensitive names", []Field{{"PROCESSID", "12"}, {"destport", "80"}, {"direction", "%%14593"}}, "", func(e *event.Event) bool {
			return e.HasPID && e.PID == 12 && e.RemotePort == 80
		}},
		{"rendered direction text", []Field{{"Direction", "Inbound"}, {"DestPort", "445"}}, "", func(e *event.Event) bool {
			return e.Direction == event.DirectionInbound && e.LocalPort == 445
		}},
		// Real-world orientations of inbound ICMP (values modelled on public
		// logs): a 2023 Router Advertisement 5156 follows the packet
		// (Source=router, DestPort=134), a 2016 echo-request 5157 names this
		// host as Source with SourcePort=8.
		{"inbound ICMPv6 RA follows the packet", []Field{{"Direction", "%%14592"}, {"Protocol", "58"}, {"SourceAddress", "fe80::1:1"}, {"SourcePort", "0"}, {"DestAddress", "ff02::1"}, {"DestPort", "134"}}, "", func(e *event.Event) bool {
			return e.RemoteIP.String() == "fe80::1:1" && e.LocalIP.String() == "ff02::1" && e.ICMPType == 134 && e.ICMPCode == 0
		}},
		{"inbound ICMP echo with local Source", []Field{{"Direction", "%%14592"}, {"Protocol", "1"}, {"SourceAddress", "192.0.2.10"}, {"SourcePort", "8"}, {"DestAddress", "198.51.100.7"}, {"DestPort", "0"}}, "", func(e *event.Event) bool {
			return e.LocalIP.String() == "192.0.2.10" && e.RemoteIP.String() == "198.51.100.7" && e.ICMPType == 8 && e.ICMPCode == 0
		}},
		{"inbound ICMP echo following the packet", []Field{{"Direction", "%%14592"}, {"Protocol", "1"}, {"SourceAddress", "198.51.100.7"}, {"SourcePort", "0"}, {"DestAddress", "192.0.2.10"}, {"DestPort", "8"}}, "", func(e *event.Event) bool {
			return e.LocalIP.String() == "192.0.2.10" && e.ICMPType == 8 && e.ICMPCode == 0
		}},
		{"mapped IPv4", []Field{{"SourceAddress", "::ffff:10.1.2.3"}}, "", func(e *event.Event) bool { return e.LocalIP.String() == "10.1.2.3" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Record{Provider: ProviderName, EventID: 5157, RecordID: 7, Data: tt.data}
			var e event.Event
			err := Decode(&rec, &e)
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
				t.Fatalf("error %v, want one containing %q", err, tt.problem)
			}
			if tt.check != nil && !tt.check(&e) {
				t.Errorf("event not as expected: %+v", e)
			}
			if e.Verdict != event.VerdictBlock {
				t.Errorf("verdict %q: a 5157 with bad fields is still kept as a block", e.Verdict)
			}
		})
	}
}

func TestDecodeNotWFP(t *testing.T) {
	for _, rec := range []Record{
		{Provider: ProviderName, EventID: 4624},
		{Provider: "Some-Other-Provider", EventID: 5157},
	} {
		var e event.Event
		if err := Decode(&rec, &e); err != ErrNotWFP {
			t.Errorf("%s/%d: got %v, want ErrNotWFP", rec.Provider, rec.EventID, err)
		}
	}
}

func TestBoot(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		provider string
		id       int
		want     bool
	}{
		{ProviderName, 4608, true},
		{"Microsoft-Windows-Kernel-General", 12, true},
		{"microsoft-windows-kernel-general", 13, true},
		{"EventLog", 6005, true},
		{"EventLog", 6006, true},
		{"EventLog", 6008, true},
		{"EventLog", 6009, true},
		{"Microsoft-Windows-Kernel-Power", 12, false},
		{"EventLog", 4608, false},
		{ProviderName, 4624, false},
	} {
		r := Record{Provider: tc.provider, EventID: tc.id, Time: at, Computer: "WS7"}
		if !IsBootID(tc.id) && tc.want {
			t.Errorf("IsBootID(%d) = false", tc.id)
		}
		host, got, ok := Boot(&r)
		if ok != tc.want || ok && (host != "WS7" || !got.Equal(at)) {
			t.Errorf("%s/%d: %q %v %v, want %v", tc.provider, tc.id, host, got, ok, tc.want)
		}
	}
	if _, _, ok := Boot(&Record{Provider: "EventLog", EventID: 6005}); ok {
		t.Error("a marker without a time")
	}
}
