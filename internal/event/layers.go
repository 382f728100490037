package event

// Layer describes a WFP run-time filtering layer: the value of the
// FWPS_BUILTIN_LAYERS enumeration (fwpsk.h) that audit events carry as
// LayerRTID and net events as layerId.
type Layer struct {
	ID        uint16
	Name      string    // the FWPS_LAYER_ name without its prefix, e.g. "ALE_AUTH_CONNECT_V4"
	Kind      Kind      // what a block at this layer means
	Discard   bool      // a _DISCARD layer: the stack had already thrown the packet away
	Direction Direction // the direction the layer implies, when it implies one
}

// Layers maps run-time layer ids to their description. The first 56 values
// of FWPS_BUILTIN_LAYERS are stable since Windows Vista; later ones vary by
// release and are resolved live through FwpmLayerGetById0 where possible.
// Checked against real events: 13 INBOUND_TRANSPORT_V4_DISCARD (5152 to a
// port with no listener), 44 ALE_AUTH_RECV_ACCEPT_V4, 50 ALE_AUTH_CONNECT_V6.
var Layers = map[uint16]Layer{
	0:  {0, "INBOUND_IPPACKET_V4", KindPacket, false, DirectionInbound},
	1:  {1, "INBOUND_IPPACKET_V4_DISCARD", KindPacket, true, DirectionInbound},
	2:  {2, "INBOUND_IPPACKET_V6", KindPacket, false, DirectionInbound},
	3:  {3, "INBOUND_IPPACKET_V6_DISCARD", KindPacket, true, DirectionInbound},
	4:  {4, "OUTBOUND_IPPACKET_V4", KindPacket, false, DirectionOutbound},
	5:  {5, "OUTBOUND_IPPACKET_V4_DISCARD", KindPacket, true, DirectionOutbound},
	6:  {6, "OUTBOUND_IPPACKET_V6", KindPacket, false, DirectionOutbound},
	7:  {7, "OUTBOUND_IPPACKET_V6_DISCARD", KindPacket, true, DirectionOutbound},
	8:  {8, "IPFORWARD_V4", KindPacket, false, DirectionForward},
	9:  {9, "IPFORWARD_V4_DISCARD", KindPacket, true, DirectionForward},
	10: {10, "IPFORWARD_V6", KindPacket, false, DirectionForward},
	11: {11, "IPFORWARD_V6_DISCARD", KindPacket, true, DirectionForward},
	12: {12, "INBOUND_TRANSPORT_V4", KindPacket, false, DirectionInbound},
	13: {13, "INBOUND_TRANSPORT_V4_DISCARD", KindPacket, true, DirectionInbound},
	14: {14, "INBOUND_TRANSPORT_V6", KindPacket, false, DirectionInbound},
	15: {15, "INBOUND_TRANSPORT_V6_DISCARD", KindPacket, true, DirectionInbound},
	16: {16, "OUTBOUND_TRANSPORT_V4", KindPacket, false, DirectionOutbound},
	17: {17, "OUTBOUND_TRANSPORT_V4_DISCARD", KindPacket, true, DirectionOutbound},
	18: {18, "OUTBOUND_TRANSPORT_V6", KindPacket, false, DirectionOutbound},
	19: {19, "OUTBOUND_TRANSPORT_V6_DISCARD", KindPacket, true, DirectionOutbound},
	20: {20, "STREAM_V4", KindPacket, false, DirectionUnknown},
	21: {21, "STREAM_V4_DISCARD", KindPacket, true, DirectionUnknown},
	22: {22, "STREAM_V6", KindPacket, false, DirectionUnknown},
	23: {23, "STREAM_V6_DISCARD", KindPacket, true, DirectionUnknown},
	24: {24, "DATAGRAM_DATA_V4", KindPacket, false, DirectionUnknown},
	25: {25, "DATAGRAM_DATA_V4_DISCARD", KindPacket, true, DirectionUnknown},
	26: {26, "DATAGRAM_DATA_V6", KindPacket, false, DirectionUnknown},
	27: {27, "DATAGRAM_DATA_V6_DISCARD", KindPacket, true, DirectionUnknown},
	28: {28, "INBOUND_ICMP_ERROR_V4", KindPacket, false, DirectionInbound},
	29: {29, "INBOUND_ICMP_ERROR_V4_DISCARD", KindPacket, true, DirectionInbound},
	30: {30, "INBOUND_ICMP_ERROR_V6", KindPacket, false, DirectionInbound},
	31: {31, "INBOUND_ICMP_ERROR_V6_DISCARD", KindPacket, true, DirectionInbound},
	32: {32, "OUTBOUND_ICMP_ERROR_V4", KindPacket, false, DirectionOutbound},
	33: {33, "OUTBOUND_ICMP_ERROR_V4_DISCARD", KindPacket, true, DirectionOutbound},
	34: {34, "OUTBOUND_ICMP_ERROR_V6", KindPacket, false, DirectionOutbound},
	35: {35, "OUTBOUND_ICMP_ERROR_V6_DISCARD", KindPacket, true, DirectionOutbound},
	36: {36, "ALE_RESOURCE_ASSIGNMENT_V4", KindBind, false, DirectionUnknown},
	37: {37, "ALE_RESOURCE_ASSIGNMENT_V4_DISCARD", KindBind, true, DirectionUnknown},
	38: {38, "ALE_RESOURCE_ASSIGNMENT_V6", KindBind, false, DirectionUnknown},
	39: {39, "ALE_RESOURCE_ASSIGNMENT_V6_DISCARD", KindBind, true, DirectionUnknown},
	40: {40, "ALE_AUTH_LISTEN_V4", KindListen, false, DirectionInbound},
	41: {41, "ALE_AUTH_LISTEN_V4_DISCARD", KindListen, true, DirectionInbound},
	42: {42, "ALE_AUTH_LISTEN_V6", KindListen, false, DirectionInbound},
	43: {43, "ALE_AUTH_LISTEN_V6_DISCARD", KindListen, true, DirectionInbound},
	44: {44, "ALE_AUTH_RECV_ACCEPT_V4", KindConnection, false, DirectionInbound},
	45: {45, "ALE_AUTH_RECV_ACCEPT_V4_DISCARD", KindConnection, true, DirectionInbound},
	46: {46, "ALE_AUTH_RECV_ACCEPT_V6", KindConnection, false, DirectionInbound},
	47: {47, "ALE_AUTH_RECV_ACCEPT_V6_DISCARD", KindConnection, true, DirectionInbound},
	48: {48, "ALE_AUTH_CONNECT_V4", KindConnection, false, DirectionOutbound},
	49: {49, "ALE_AUTH_CONNECT_V4_DISCARD", KindConnection, true, DirectionOutbound},
	50: {50, "ALE_AUTH_CONNECT_V6", KindConnection, false, DirectionOutbound},
	51: {51, "ALE_AUTH_CONNECT_V6_DISCARD", KindConnection, true, DirectionOutbound},
	52: {52, "ALE_FLOW_ESTABLISHED_V4", KindConnection, false, DirectionUnknown},
	53: {53, "ALE_FLOW_ESTABLISHED_V4_DISCARD", KindConnection, true, DirectionUnknown},
	54: {54, "ALE_FLOW_ESTABLISHED_V6", KindConnection, false, DirectionUnknown},
	55: {55, "ALE_FLOW_ESTABLISHED_V6_DISCARD", KindConnection, true, DirectionUnknown},
}

// LayerByID returns the layer with run-time id id and whether it is known.
func LayerByID(id uint16) (Layer, bool) {
	l, ok := Layers[id]
	return l, ok
}
