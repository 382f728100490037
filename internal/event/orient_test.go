package event

import (
	"net/netip"
	"testing"
)

func TestServiceEnd(t *testing.T) {
	ev := func(dir Direction, lport, rport int) *Event {
		e := &Event{Direction: dir, HasProtocol: true, Protocol: 17}
		if lport >= 0 {
			e.LocalPort, e.HasLocalPort = uint16(lport), true
		}
		if rport >= 0 {
			e.RemotePort, e.HasRemotePort = uint16(rport), true
		}
		return e
	}
	tests := []struct {
		name     string
		e        *Event
		service  End
		port     uint16
		resolved bool
	}{
		{"dns reply dropped inbound", ev(DirectionInbound, 50313, 53), EndRemote, 53, true},
		{"outbound to a service", ev(DirectionOutbound, 50000, 443), EndRemote, 443, true},
		{"inbound to a service", ev(DirectionInbound, 445, 49222), EndLocal, 445, true},
		{"rdp from an old client", ev(DirectionInbound, 3389, 49274), EndLocal, 3389, true},
		{"registered vs old dynamic", ev(DirectionOutbound, 8080, 1030), EndLocal, 8080, true},
		{"same rank inbound: local", ev(DirectionInbound, 5353, 5353), EndLocal, 5353, true},
		{"ssdp from a linux client", ev(DirectionInbound, 1900, 40093), EndLocal, 1900, true},
		{"rdp from a linux client", ev(DirectionInbound, 3389, 40094), EndLocal, 3389, true},
		{"linux ephemeral vs registered", ev(DirectionInbound, 40095, 8000), EndRemote, 8000, true},
		{"same rank outbound: remote", ev(DirectionOutbound, 50001, 50002), EndRemote, 50002, true},
		{"listen: the only port", ev(DirectionInbound, 8080, -1), EndLocal, 8080, true},
		{"remote only", ev(DirectionOutbound, -1, 53), EndRemote, 53, true},
		{"none", ev(DirectionInbound, -1, -1), EndUnknown, 0, false},
	}
	for _, tt := range tests {
		end, port, ok := tt.e.ServiceEnd()
		if end != tt.service || port != tt.port || ok != tt.resolved {
			t.Errorf("%s: got %v %d %v, want %v %d %v", tt.name, end, port, ok, tt.service, tt.port, tt.resolved)
		}
		if p, ok := tt.e.ServicePort(); p != tt.port || ok != tt.resolved {
			t.Errorf("%s: ServicePort %d %v", tt.name, p, ok)
		}
	}
	// A port the host is known to listen on wins over the ranks.
	e := ev(DirectionInbound, 50000, 53)
	e.Orient.Service = EndLocal
	if end, port, _ := e.ServiceEnd(); end != EndLocal || port != 50000 {
		t.Errorf("listened port: got %v %d", end, port)
	}
}

func TestSetOrderAndRawEnds(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.2.17"), netip.MustParseAddr("10.0.2.15")
	e := &Event{Direction: DirectionInbound, HasProtocol: true, Protocol: 6,
		RemoteIP: b, RemotePort: 445, HasRemotePort: true, LocalIP: a, LocalPort: 49222, HasLocalPort: true,
		Orient: Orientation{Order: OrderPacket, By: EvidenceDefault}}
	src, dst, sp, dp, _, _ := e.RawEnds()
	if src != b || dst != a || sp != 445 || dp != 49222 {
		t.Fatalf("raw ends %v:%d -> %v:%d", src, sp, dst, dp)
	}
	e.SetOrder(OrderLocalFirst, EvidenceMulticast, true)
	if e.Local() != netip.AddrPortFrom(b, 445) || e.Remote() != netip.AddrPortFrom(a, 49222) {
		t.Errorf("after local-first: local %v remote %v", e.Local(), e.Remote())
	}
	if s2, d2, sp2, dp2, _, _ := e.RawEnds(); s2 != src || d2 != dst || sp2 != sp || dp2 != dp {
		t.Errorf("raw ends changed: %v:%d -> %v:%d", s2, sp2, d2, dp2)
	}
	if e.Orient != (Orientation{Order: OrderLocalFirst, By: EvidenceMulticast, Host: true}) {
		t.Errorf("orientation %+v", e.Orient)
	}

	// ICMP: the type (in the local port) and code follow the swap.
	ic := &Event{Direction: DirectionInbound, HasProtocol: true, Protocol: 1, LocalIP: a, RemoteIP: b,
		ICMPType: 0, ICMPCode: 8, Orient: Orientation{Order: OrderPacket}}
	ic.SetOrder(OrderLocalFirst, EvidenceICMP, false)
	if ic.ICMPType != 8 || ic.ICMPCode != 0 || ic.LocalIP != b {
		t.Errorf("icmp after swap: type %d code %d local %v", ic.ICMPType, ic.ICMPCode, ic.LocalIP)
	}
	// No order: nothing moves.
	out := &Event{Direction: DirectionOutbound, LocalIP: a, RemoteIP: b}
	out.SetOrder(OrderLocalFirst, EvidenceAddress, true)
	if out.LocalIP != a || out.Orient.Order != OrderNone {
		t.Errorf("outbound event changed: %+v", out)
	}
}

func TestOrientationJSON(t *testing.T) {
	e := &Event{Code: 5156, Direction: DirectionInbound, ICMPType: -1, ICMPCode: -1,
		Orient: Orientation{Order: OrderLocalFirst, By: EvidenceMulticast, Host: true}}
	got := string(e.AppendJSON(nil))
	want := `"orientation":{"order":"local-first","by":"multicast","scope":"host"}`
	if !contains(got, want) {
		t.Errorf("json %s lacks %s", got, want)
	}
	e.Orient = Orientation{Order: OrderPacket, By: EvidenceLayer}
	if got := string(e.AppendJSON(nil)); contains(got, "orientation") {
		t.Errorf("a packet drop's fixed order is written: %s", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
