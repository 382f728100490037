package event

import (
	"net/netip"
	"testing"
	"time"
)

func identityBase() Event {
	return Event{
		Time: time.Date(2026, 3, 2, 9, 15, 10, 250e6, time.UTC), Code: 5157, Host: "WS01",
		Direction: DirectionInbound, Protocol: 6, HasProtocol: true,
		LocalIP: netip.MustParseAddr("192.0.2.10"), LocalPort: 445, HasLocalPort: true,
		RemoteIP: netip.MustParseAddr("198.51.100.7"), RemotePort: 50123, HasRemotePort: true,
		ICMPType: -1, ICMPCode: -1, PID: 4, HasPID: true, Executable: "System", Name: "System",
		FilterID: 92001, HasFilterID: true, LayerID: 44, HasLayerID: true, LayerName: "Receive/Accept",
		FilterOrigin: "Default Inbound", Sources: SourceFile, FilePath: "a.json", RecordID: 3,
	}
}

func TestFingerprint(t *testing.T) {
	base := identityBase()
	fp := Fingerprint(&base, 0)
	if fp == 0 || fp > 1<<63-1 {
		t.Fatalf("fingerprint %d out of range", fp)
	}
	same := []struct {
		name string
		f    func(e *Event)
	}{
		{"another file", func(e *Event) { e.FilePath = "copy/renamed.json.gz" }},
		{"another position", func(e *Event) { e.RecordID = 99 }},
		{"derived fields", func(e *Event) {
			e.Verdict, e.Kind, e.Reason, e.RuleID, e.RuleName = VerdictBlock, KindConnection, "default:inbound", "x", "y"
			e.FilterName, e.FilterProvider, e.UserName, e.Services = "f", "p", `NT AUTHORITY\SYSTEM`, []string{"a"}
		}},
		{"source", func(e *Event) { e.Sources = SourceNetevent }},
		{"ends swapped", func(e *Event) {
			e.LocalIP, e.RemoteIP = e.RemoteIP, e.LocalIP
			e.LocalPort, e.RemotePort = e.RemotePort, e.LocalPort
		}},
		{"IPv4-mapped", func(e *Event) { e.LocalIP = netip.MustParseAddr("::ffff:192.0.2.10") }},
		{"name only when no path", func(e *Event) { e.Executable = "" }},
	}
	for _, c := range same {
		e := identityBase()
		c.f(&e)
		if got := Fingerprint(&e, 0); got != fp {
			t.Errorf("%s: fingerprint changed", c.name)
		}
	}
	differ := []struct {
		name string
		f    func(e *Event)
	}{
		{"time", func(e *Event) { e.Time = e.Time.Add(time.Nanosecond) }},
		{"no time", func(e *Event) { e.Time = time.Time{} }},
		{"code", func(e *Event) { e.Code = 5152 }},
		{"host", func(e *Event) { e.Host = "WS02" }},
		{"direction", func(e *Event) { e.Direction = DirectionOutbound }},
		{"protocol", func(e *Event) { e.Protocol = 17 }},
		{"no protocol", func(e *Event) { e.HasProtocol = false }},
		{"port", func(e *Event) { e.RemotePort++ }},
		{"port unknown", func(e *Event) { e.HasRemotePort = false }},
		{"port moved to the other end", func(e *Event) { e.LocalPort, e.RemotePort = e.RemotePort, e.LocalPort }},
		{"address", func(e *Event) { e.RemoteIP = netip.MustParseAddr("198.51.100.8") }},
		{"pid", func(e *Event) { e.PID = 5 }},
		{"pid unknown", func(e *Event) { e.HasPID = false }},
		{"app", func(e *Event) { e.Executable = `\device\x.exe` }},
		{"user", func(e *Event) { e.UserID = "S-1-5-18" }},
		{"filter", func(e *Event) { e.FilterID = 1 }},
		{"layer", func(e *Event) { e.LayerID = 48 }},
		{"origin", func(e *Event) { e.FilterOrigin = "Default Outbound" }},
		{"info", func(e *Event) { e.Info = "x" }},
		{"sublayer", func(e *Event) { e.Sublayer = "WSH" }},
		{"icmp", func(e *Event) { e.ICMPType = 3 }},
		{"size", func(e *Event) { e.Size = 60 }},
	}
	seen := map[uint64]string{fp: "base"}
	for _, c := range differ {
		e := identityBase()
		c.f(&e)
		got := Fingerprint(&e, 0)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s: same fingerprint as %s", c.name, prev)
		}
		seen[got] = c.name
	}
	if Fingerprint(&base, 1) == fp || Occurrence(fp, 1) == fp || Occurrence(fp, 0) != fp || Occurrence(fp, 1) == Occurrence(fp, 2) {
		t.Error("occurrences are not told apart")
	}
}

func TestLineFingerprint(t *testing.T) {
	a, b := [32]byte{1}, [32]byte{2}
	line := []byte("2021-06-22 10:00:00 DROP UDP 192.168.1.5 239.255.255.250 5353 5353 0 - - - - - - - RECEIVE")
	fp := LineFingerprint(a, 7, line)
	if fp == 0 || fp != LineFingerprint(a, 7, line) {
		t.Fatal("not stable")
	}
	if fp == LineFingerprint(b, 7, line) || fp == LineFingerprint(a, 8, line) || fp == LineFingerprint(a, 7, line[1:]) {
		t.Error("file, position and text must each count")
	}
}

func TestHasRecordIdentity(t *testing.T) {
	e := Event{Code: 5157, RecordID: 1, Host: "h"}
	if !HasRecordIdentity(&e) {
		t.Error("a Security-log record")
	}
	for _, f := range []func(e *Event){
		func(e *Event) { e.Code = 0 },
		func(e *Event) { e.RecordID = 0 },
		func(e *Event) { e.Host = "" },
		func(e *Event) { e.Sources = SourceFwlog },
	} {
		x := e
		f(&x)
		if HasRecordIdentity(&x) {
			t.Errorf("%+v has no record identity", x)
		}
	}
}

func TestFingerprintAllocs(t *testing.T) {
	e := identityBase()
	if n := testing.AllocsPerRun(100, func() { Fingerprint(&e, 0) }); n != 0 {
		t.Errorf("Fingerprint allocates %v times", n)
	}
}

func BenchmarkFingerprint(b *testing.B) {
	e := identityBase()
	for b.Loop() {
		Fingerprint(&e, 0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkLineFingerprint(b *testing.B) {
	line := []byte("2021-06-22 10:00:00 DROP UDP 192.168.1.5 239.255.255.250 5353 5353 0 - - - - - - - RECEIVE")
	var file [32]byte
	n := uint64(0)
	for b.Loop() {
		n++
		LineFingerprint(file, n, line)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
