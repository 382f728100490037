package event

import (
	"net/netip"
	"testing"
)

func TestLayerNameOf(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for _, tt := range []struct {
		name   string
		id     uint16
		hasID  bool
		dir    Direction
		local  netip.Addr
		remote netip.Addr
		want   string
	}{
		{"Connect", 48, true, DirectionOutbound, v4, v4, "ALE_AUTH_CONNECT_V4"},             // the event log, with its id
		{"ALE_AUTH_CONNECT_V4", 48, true, DirectionOutbound, v4, v4, "ALE_AUTH_CONNECT_V4"}, // a net event: the same name
		{"Connect", 0, false, DirectionOutbound, v6, v6, "ALE_AUTH_CONNECT_V6"},             // no id: the family decides
		{"Receive/Accept", 46, true, DirectionInbound, v6, v6, "ALE_AUTH_RECV_ACCEPT_V6"},
		{"Transport", 13, true, DirectionInbound, v4, v4, "INBOUND_TRANSPORT_V4_DISCARD"},
		{"Transport", 0, false, DirectionOutbound, v4, v4, "OUTBOUND_TRANSPORT_V4"},
		{"Resource Assignment", 0, false, "", netip.Addr{}, v6, "ALE_RESOURCE_ASSIGNMENT_V6"},
		{"Connect", 0, true, DirectionOutbound, v4, v4, "ALE_AUTH_CONNECT_V4"}, // an id that contradicts the name is not trusted
		{"MAC 802.3", 0, true, DirectionInbound, v4, v4, "MAC 802.3"},          // no FWPS equivalent: as given
		{"Connect", 0, false, DirectionOutbound, netip.Addr{}, netip.Addr{}, "Connect"},
		{"Transport", 0, false, "", v4, v4, "Transport"},
		{"", 44, true, DirectionInbound, v4, v4, "ALE_AUTH_RECV_ACCEPT_V4"},
		{"", 999, true, DirectionInbound, v4, v4, ""},
		{"%%14999", 0, false, DirectionInbound, v4, v4, "%%14999"},
	} {
		e := Event{LayerName: tt.name, LayerID: tt.id, HasLayerID: tt.hasID, Direction: tt.dir, LocalIP: tt.local, RemoteIP: tt.remote}
		if got := LayerNameOf(&e); got != tt.want {
			t.Errorf("%q id %d: %q, want %q", tt.name, tt.id, got, tt.want)
		}
	}
}
