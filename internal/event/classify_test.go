package event

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name    string
		e       Event
		verdict Verdict
		kind    Kind
		reason  string
		ruleID  string
	}{
		{"5157 rule origin", Event{Code: 5157, FilterOrigin: "{0A1B-rule}"}, VerdictBlock, KindConnection, ReasonRule, "{0A1B-rule}"},
		{"5157 named rule origin", Event{Code: 5157, FilterOrigin: "CoreNet-DHCP-In"}, VerdictBlock, KindConnection, ReasonRule, "CoreNet-DHCP-In"},
		{"5157 stealth", Event{Code: 5157, FilterOrigin: "Stealth"}, VerdictBlock, KindConnection, "default:stealth", ""},
		{"5157 WSH spelled oddly", Event{Code: 5157, FilterOrigin: "wsh default"}, VerdictBlock, KindConnection, "default:wsh", ""},
		{"5157 WSH no space", Event{Code: 5157, FilterOrigin: "WSHDefault"}, VerdictBlock, KindConnection, "default:wsh", ""},
		{"5155 boottime", Event{Code: 5155, FilterOrigin: "Boottime Default"}, VerdictBlock, KindListen, "default:boottime", ""},
		{"5159 quarantine", Event{Code: 5159, FilterOrigin: "Quarantine Default"}, VerdictBlock, KindBind, "default:quarantine", ""},
		{"5157 appcontainer loopback", Event{Code: 5157, FilterOrigin: "AppContainer Loopback"}, VerdictBlock, KindConnection, "default:appcontainer_loopback", ""},
		{"5157 origin Unknown", Event{Code: 5157, FilterOrigin: "Unknown", HasFilterID: true, FilterID: 7}, VerdictBlock, KindConnection, ReasonUnresolved, ""},
		{"5157 no origin", Event{Code: 5157}, VerdictBlock, KindConnection, ReasonUnresolved, ""},
		{"5031", Event{Code: 5031}, VerdictBlock, KindAccept, "default:query_user", ""},
		{"5152 discard layer", Event{Code: 5152, HasLayerID: true, LayerID: 13, HasFilterID: true, FilterID: 5}, VerdictDrop, KindPacket, ReasonDiscard, ""},
		{"5152 filter 0", Event{Code: 5152, HasFilterID: true, FilterID: 0}, VerdictDrop, KindPacket, ReasonDiscard, ""},
		{"5152 rule is still a drop", Event{Code: 5152, FilterOrigin: "{rule}"}, VerdictDrop, KindPacket, ReasonRule, "{rule}"},
		{"5152 query user is still a drop", Event{Code: 5152, FilterOrigin: "Query User Default"}, VerdictDrop, KindPacket, "default:query_user", ""},
		{"5152 unresolved", Event{Code: 5152, HasFilterID: true, FilterID: 99}, VerdictDrop, KindPacket, ReasonUnresolved, ""},
		{"5156 permit keeps no reason", Event{Code: 5156, Verdict: VerdictPermit}, VerdictPermit, KindConnection, "", ""},
		{"5156 permit by rule", Event{Code: 5156, Verdict: VerdictPermit, FilterOrigin: "{allow}"}, VerdictPermit, KindConnection, ReasonRule, "{allow}"},
		{"netevent ALE connect drop", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 48}, VerdictBlock, KindConnection, ReasonUnresolved, ""},
		{"netevent ALE discard layer", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 45}, VerdictDrop, KindConnection, ReasonDiscard, ""},
		{"netevent transport drop", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 12}, VerdictDrop, KindPacket, ReasonUnresolved, ""},
		{"netevent ipsec", Event{NetEventType: NetEventIPsecKernelDrop}, VerdictDrop, KindPacket, ReasonIPsec, ""},
		{"netevent dosp", Event{NetEventType: NetEventIPsecDoSPDrop}, VerdictDrop, KindPacket, ReasonIPsec, ""},
		{"netevent capability", Event{NetEventType: NetEventCapabilityDrop, HasLayerID: true, LayerID: 48}, VerdictBlock, KindConnection, "default:uwp", ""},
		{"netevent resolved rule", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, RuleName: "Block Telnet"}, VerdictBlock, KindConnection, ReasonRule, ""},
		{"layer key name", Event{LayerName: "FWPM_LAYER_ALE_AUTH_LISTEN_V6"}, VerdictBlock, KindListen, ReasonUnresolved, ""},
		{"5157 default outbound origin", Event{Code: 5157, FilterOrigin: "Default Outbound"}, VerdictBlock, KindConnection, "default:outbound", ""},
		{"5152 default inbound origin", Event{Code: 5152, FilterOrigin: "Default Inbound"}, VerdictDrop, KindPacket, "default:inbound", ""},
		{"5156 permit by default outbound", Event{Code: 5156, Verdict: VerdictPermit, FilterOrigin: "Default Outbound"}, VerdictPermit, KindConnection, "default:outbound", ""},
		{"filter name boot time", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, FilterName: "Boot Time Filter"}, VerdictBlock, KindConnection, "default:boottime", ""},
		{"filter name port scanning", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 13, FilterName: "Port Scanning Prevention Filter"}, VerdictDrop, KindPacket, "default:stealth", ""},
		{"filter name is not a default", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, FilterName: "Block Telnet"}, VerdictBlock, KindConnection, ReasonUnresolved, ""},
		{"origin wins over filter name", Event{Code: 5157, FilterOrigin: "{r}", FilterName: "Boot Time Filter"}, VerdictBlock, KindConnection, ReasonRule, "{r}"},
		{"permit keeps no filter-name default", Event{Code: 5156, Verdict: VerdictPermit, FilterName: "Boot Time Filter"}, VerdictPermit, KindConnection, "", ""},
		{"sublayer WSH", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH"}, VerdictBlock, KindConnection, "default:wsh", ""},
		{"sublayer WSH AppContainer", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 50, Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", PackageSID: "S-1-15-2-1"}, VerdictBlock, KindConnection, "default:uwp", ""},
		{"sublayer quarantine", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE"}, VerdictBlock, KindConnection, "default:quarantine", ""},
		{"sublayer app isolation", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 48, Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_APP_ISOLATION", PackageSID: "S-1-15-2-1"}, VerdictBlock, KindConnection, "default:uwp", ""},
		{"sublayer app isolation loopback", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 48, Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_APP_ISOLATION", PackageSID: "S-1-15-2-1", LocalIP: netip.MustParseAddr("127.0.0.1"), RemoteIP: netip.MustParseAddr("127.0.0.1")}, VerdictBlock, KindConnection, "default:appcontainer_loopback", ""},
		{"sublayer WF says nothing", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_WF"}, VerdictBlock, KindConnection, ReasonUnresolved, ""},
		{"origin wins over sublayer", Event{NetEventType: NetEventClassifyDrop, HasLayerID: true, LayerID: 44, FilterOrigin: "Quarantine Default", Sublayer: "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH"}, VerdictBlock, KindConnection, "default:quarantine", ""},
		{"layer key discard", Event{LayerName: "FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD"}, VerdictDrop, KindPacket, ReasonDiscard, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.ICMPType, e.ICMPCode = -1, -1
			Classify(&e)
			if e.Verdict != tt.verdict || e.Kind != tt.kind || e.Reason != tt.reason || e.RuleID != tt.ruleID {
				t.Errorf("got %s/%s/%q rule %q, want %s/%s/%q rule %q", e.Verdict, e.Kind, e.Reason, e.RuleID, tt.verdict, tt.kind, tt.reason, tt.ruleID)
			}
		})
	}
}

func TestClassifyICMP(t *testing.T) {
	e := Event{Code: 5157, HasProtocol: true, Protocol: 58, HasLocalPort: true, LocalPort: 128, HasRemotePort: true, RemotePort: 0, ICMPType: -1, ICMPCode: -1}
	Classify(&e)
	if e.ICMPType != 128 || e.ICMPCode != 0 || e.HasLocalPort || e.HasRemotePort {
		t.Errorf("ICMPv6 not normalized: %+v", e)
	}
	e = Event{Code: 5157, HasProtocol: true, Protocol: 6, HasLocalPort: true, LocalPort: 443, ICMPType: -1, ICMPCode: -1}
	Classify(&e)
	if !e.HasLocalPort || e.ICMPType != -1 {
		t.Errorf("TCP ports touched: %+v", e)
	}
}

func TestSelection(t *testing.T) {
	b, d, p := &Event{Verdict: VerdictBlock}, &Event{Verdict: VerdictDrop}, &Event{Verdict: VerdictPermit}
	for _, tt := range []struct {
		s       Selection
		b, d, p bool
	}{
		{Selection{}, true, false, false},
		{Selection{Drops: true}, true, true, false},
		{Selection{Permits: true}, true, false, true},
		{Selection{Drops: true, Permits: true}, true, true, true},
	} {
		if tt.s.Includes(b) != tt.b || tt.s.Includes(d) != tt.d || tt.s.Includes(p) != tt.p {
			t.Errorf("%+v wrong", tt.s)
		}
	}
}

func TestTables(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Direction
	}{{"%%14592", DirectionInbound}, {"%%14593", DirectionOutbound}, {"Inbound", DirectionInbound}, {"SEND", DirectionOutbound},
		{"MS_FWP_DIRECTION_IN", DirectionInbound}, {"0x3901", DirectionOutbound}, {"%%14594", DirectionForward}, {"sideways", DirectionUnknown}} {
		if got := ParseDirection(tt.in); got != tt.want {
			t.Errorf("ParseDirection(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for in, want := range map[string]uint8{"6": 6, "TCP": 6, "udp": 17, "ICMPv6": 58, "icmp": 1, "2": 2} {
		if got, ok := ParseProtocol(in); !ok || got != want {
			t.Errorf("ParseProtocol(%q) = %d %v", in, got, ok)
		}
	}
	if _, ok := ParseProtocol("256"); ok {
		t.Error("ParseProtocol(256) accepted")
	}
	if ProtocolName(6) != "tcp" || ProtocolName(250) != "250" {
		t.Error("ProtocolName")
	}
	for _, code := range []string{"%%14608", "%%14609", "%%14610", "%%14611"} {
		if _, ok := MessageCode(code); !ok {
			t.Errorf("%s unknown", code)
		}
	}
	for id, l := range Layers {
		if l.ID != id {
			t.Errorf("layer %d has id %d", id, l.ID)
		}
	}
	if l := Layers[44]; l.Name != "ALE_AUTH_RECV_ACCEPT_V4" || l.Kind != KindConnection || l.Direction != DirectionInbound {
		t.Errorf("layer 44: %+v", l)
	}
	if l := Layers[13]; l.Name != "INBOUND_TRANSPORT_V4_DISCARD" || !l.Discard {
		t.Errorf("layer 13: %+v", l)
	}
	for _, tt := range []struct {
		s    string
		max  uint64
		want uint64
		ok   bool
	}{{"0", 10, 0, true}, {"65535", 65535, 65535, true}, {"65536", 65535, 0, false}, {"0x1F", 255, 31, true}, {"", 9, 0, false},
		{"18446744073709551615", 1<<64 - 1, 1<<64 - 1, true}, {"18446744073709551616", 1<<64 - 1, 0, false}, {"-1", 9, 0, false}, {"1 ", 9, 0, false}} {
		got, ok := ParseUint(tt.s, tt.max)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUint(%q, %d) = %d %v", tt.s, tt.max, got, ok)
		}
	}
}

func TestSourceNames(t *testing.T) {
	s := SourceEvtlog | SourceNetevent
	if s.String() != "evtlog+netevent" || ParseSource("fwlog") != SourceFwlog || ParseSource("x") != 0 {
		t.Errorf("sources: %s", s)
	}
}
