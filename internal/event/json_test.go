package event

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONValidAndECS(t *testing.T) {
	e := Event{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Sources: SourceEvtlog | SourceNetevent, Code: 5157,
		Verdict: VerdictBlock, Kind: KindConnection, Reason: ReasonRule, Direction: DirectionInbound,
		HasProtocol: true, Protocol: 6, LocalIP: netip.MustParseAddr("10.0.0.1"), LocalPort: 445, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("2001:db8::1"), RemotePort: 5000, HasRemotePort: true, ICMPType: -1, ICMPCode: -1,
		HasPID: true, PID: 4, Executable: "C:\\x\\\"quoted\"\x01\xff.exe", Name: "bad\xffname\u2028",
		Services: []string{"LanmanServer"}, RuleID: "{R}", RuleName: "Block SMB", HasFilterID: true, FilterID: 1 << 63,
	}
	b := e.AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	get := func(path string) any {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		return v
	}
	for path, want := range map[string]any{
		"@timestamp": "2026-01-02T03:04:05.000000006Z", "event.code": "5157", "event.action": "blocked-connection",
		"event.outcome": "failure", "network.direction": "inbound", "network.transport": "tcp",
		"source.ip": "2001:db8::1", "source.port": 5000.0, "destination.ip": "10.0.0.1", "destination.port": 445.0,
		"wfp.local.ip": "10.0.0.1", "wfp.remote.port": 5000.0, "process.name": "bad\ufffdname\u2028",
		"wfp.reason": "rule", "rule.name": "Block SMB", "wfp.filter.id": float64(1 << 63),
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if !strings.Contains(string(b), `"source":["evtlog","netevent"]`) {
		t.Errorf("sources: %s", b)
	}
	// Outbound: ECS source is the local end.
	e.Direction = DirectionOutbound
	m = nil
	json.Unmarshal(e.AppendJSON(nil), &m)
	if get("source.ip") != "10.0.0.1" {
		t.Errorf("outbound source %v", get("source.ip"))
	}
}

func TestAppendJSONEmpty(t *testing.T) {
	var e Event
	e.ICMPType, e.ICMPCode = -1, -1
	var m map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("C:\\a.exe", "rule", "{x}", uint16(80))
	f.Add("\xff\xfe\x00\"\\", "", "\u2028", uint16(0))
	f.Fuzz(func(t *testing.T, exe, reason, origin string, port uint16) {
		e := Event{Executable: exe, Name: BaseName(exe), Reason: reason, FilterOrigin: origin, LocalPort: port, HasLocalPort: true, ICMPType: -1, ICMPCode: -1}
		if !json.Valid(e.AppendJSON(nil)) {
			t.Errorf("invalid JSON for %q %q %q", exe, reason, origin)
		}
	})
}
