package wfp

import (
	"fmt"
	"net/netip"
)

// SelftestCase is one block the self-test provokes: a block filter at one
// ALE layer that matches only loopback, one test port and this process,
// and the socket call that trips it.
type SelftestCase struct {
	Name      string // "listen-v4"…
	LayerKey  GUID
	LayerName string // the FWPS layer name, as event.Layers has it
	LayerID   uint16 // the FWPS run-time layer id events carry
	Code      int    // the audit event id the block produces
	Direction string // "inbound"/"outbound"/"" as the audit event says
	V6        bool
	Port      uint16 // the test port this case uses
	// Trigger names the socket call: "listen", "connect", "accept", "bind".
	Trigger string
}

// Loopback returns the loopback address of the case's IP version.
func (c SelftestCase) Loopback() netip.Addr {
	if c.V6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// Conditions returns the filter conditions of the case: the loopback
// address on the side the layer sees, the test port, and appID (this
// process's FWP app id blob from FwpmGetAppIdFromFileName0).
func (c SelftestCase) Conditions(appID []byte) []Condition {
	addrField, portField := CondIPLocalAddress, CondIPLocalPort
	if c.Trigger == "connect" {
		addrField, portField = CondIPRemoteAddress, CondIPRemotePort
	}
	var addr Condition
	if c.V6 {
		b := netip.IPv6Loopback().As16()
		addr = Condition{Field: addrField, Match: MatchEqual, Type: TypeByteArray16, B: b[:]}
	} else {
		addr = Condition{Field: addrField, Match: MatchEqual, Type: TypeUint32, U: 0x7f000001}
	}
	return []Condition{
		addr,
		{Field: portField, Match: MatchEqual, Type: TypeUint16, U: uint64(c.Port)},
		{Field: CondALEAppID, Match: MatchEqual, Type: TypeByteBlob, B: appID},
	}
}

// SelftestPlan returns the self-test cases for ports base, base+1, …: one
// per ALE layer and IP version. Each case has its own port so that one
// case's filter never trips another's trigger (the accept case listens
// and connects on its port; only its receive/accept filter matches).
func SelftestPlan(base uint16, v4, v6 bool) ([]SelftestCase, error) {
	if base < 1024 || int(base)+8 > 65535 {
		return nil, fmt.Errorf("self-test port base %d out of range 1024-65527", base)
	}
	type row struct {
		name, trigger, dir string
		code               int
		k4, k6             GUID
		id4, id6           uint16
		n4, n6             string
	}
	rows := []row{
		{"listen", "listen", "inbound", 5155, LayerALEAuthListenV4, LayerALEAuthListenV6, 40, 42, "ALE_AUTH_LISTEN_V4", "ALE_AUTH_LISTEN_V6"},
		{"connect", "connect", "outbound", 5157, LayerALEAuthConnectV4, LayerALEAuthConnectV6, 48, 50, "ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6"},
		{"accept", "accept", "inbound", 5157, LayerALEAuthRecvAcceptV4, LayerALEAuthRecvAcceptV6, 44, 46, "ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V6"},
		{"bind", "bind", "", 5159, LayerALEResourceAssignmentV4, LayerALEResourceAssignmentV6, 36, 38, "ALE_RESOURCE_ASSIGNMENT_V4", "ALE_RESOURCE_ASSIGNMENT_V6"},
	}
	var out []SelftestCase
	port := base
	for _, r := range rows {
		if v4 {
			out = append(out, SelftestCase{r.name + "-v4", r.k4, r.n4, r.id4, r.code, r.dir, false, port, r.trigger})
			port++
		}
		if v6 {
			out = append(out, SelftestCase{r.name + "-v6", r.k6, r.n6, r.id6, r.code, r.dir, true, port, r.trigger})
			port++
		}
	}
	return out, nil
}
