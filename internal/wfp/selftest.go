package wfp

import (
	"crypto/rand"
	"encoding/binary"
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
	// ClientPort is the local port the connect case binds before it
	// connects, so that its filter can match this process's socket (its
	// local port) and not only the program (its app id).
	ClientPort uint16
}

// Loopback returns the loopback address of the case's IP version.
func (c SelftestCase) Loopback() netip.Addr {
	if c.V6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// Conditions returns the filter conditions of the case: the loopback
// address on the side the layer sees, the test port, appID (this
// process's FWP app id blob from FwpmGetAppIdFromFileName0) and, for the
// connect case, the local port its socket binds.
//
// WFP has no "this process" condition for user-mode filters (the ALE
// conditions name the program, the user, the package, never a process
// id). The app id alone would also match every other process started from
// the same program; a local port that this process holds (the port it
// listens on or binds, or the connect case's client port) narrows each
// filter to this process's own socket.
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
	conds := []Condition{
		addr,
		{Field: portField, Match: MatchEqual, Type: TypeUint16, U: uint64(c.Port)},
		{Field: CondALEAppID, Match: MatchEqual, Type: TypeByteBlob, B: appID},
	}
	if c.Trigger == "connect" && c.ClientPort != 0 {
		conds = append(conds, Condition{Field: CondIPLocalPort, Match: MatchEqual, Type: TypeUint16, U: uint64(c.ClientPort)})
	}
	return conds
}

// SelftestSubLayerWeight is the weight of the self-test's sublayer: the
// highest, so that the engine arbitrates it first.
const SelftestSubLayerWeight = 0xFFFF

// SelftestSubLayer returns the self-test's own sublayer, with key (a
// fresh random GUID per run, so that two runs never collide).
func SelftestSubLayer(key GUID) SubLayer {
	return SubLayer{Key: key, Name: "wfpwatch selftest", Weight: SelftestSubLayerWeight,
		Desc: "Temporary sublayer of 'wfpwatch selftest' (dynamic session: removed when it exits)"}
}

// Filter returns the block filter of the case in sublayer: hard
// (FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT), so that a permit with the same
// flag in a lower sublayer (a third party's "hard permit") cannot override
// it and hide the block the self-test wants to see; not persistent, not
// boot-time.
func (c SelftestCase) Filter(sublayer GUID, appID []byte) Filter {
	return Filter{
		Name:       "wfpwatch selftest " + c.Name,
		Desc:       "Temporary block filter of 'wfpwatch selftest' (dynamic session: removed when it exits)",
		Flags:      FilterFlagClearActionRight,
		LayerKey:   c.LayerKey,
		SubLayer:   sublayer,
		Action:     ActionBlock,
		Conditions: c.Conditions(appID),
	}
}

// SelftestPorts is the number of consecutive ports from the base that
// SelftestPlan may use: one per case, then the connect cases' client ports.
const SelftestPorts = 10

// SelftestPlan returns the self-test cases for ports base, base+1, …: one
// per ALE layer and IP version. Each case has its own port so that one
// case's filter never trips another's trigger (the accept case listens
// and connects on its port; only its receive/accept filter matches).
func SelftestPlan(base uint16, v4, v6 bool) ([]SelftestCase, error) {
	if base < 1024 || int(base)+SelftestPorts > 65535 {
		return nil, fmt.Errorf("self-test port base %d out of range 1024-%d", base, 65535-SelftestPorts)
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
			out = append(out, SelftestCase{r.name + "-v4", r.k4, r.n4, r.id4, r.code, r.dir, false, port, r.trigger, 0})
			port++
		}
		if v6 {
			out = append(out, SelftestCase{r.name + "-v6", r.k6, r.n6, r.id6, r.code, r.dir, true, port, r.trigger, 0})
			port++
		}
	}
	// The connect cases' client ports follow the case ports.
	client := base + 8
	for i := range out {
		if out[i].Trigger == "connect" {
			out[i].ClientPort = client
			client++
		}
	}
	return out, nil
}

// RandomGUID returns a random (version 4) GUID, e.g. a sublayer key.
func RandomGUID() GUID {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	g := GUID{Data1: binary.BigEndian.Uint32(b[0:]), Data2: binary.BigEndian.Uint16(b[4:]), Data3: binary.BigEndian.Uint16(b[6:])}
	copy(g.Data4[:], b[8:])
	return g
}
