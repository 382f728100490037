package event

import "strings"

// auditLayerBases maps the layer names of audit events (the English text
// of their %%146xx message codes, see MessageCode) to the FWPS layer name
// without its _V4/_V6 suffix; "*" stands for INBOUND or OUTBOUND, taken
// from the direction.
var auditLayerBases = map[string]string{
	"Connect":             "ALE_AUTH_CONNECT",
	"Receive/Accept":      "ALE_AUTH_RECV_ACCEPT",
	"Listen":              "ALE_AUTH_LISTEN",
	"Resource Assignment": "ALE_RESOURCE_ASSIGNMENT",
	"Flow Established":    "ALE_FLOW_ESTABLISHED",
	"Resource Release":    "ALE_RESOURCE_RELEASE",
	"Endpoint Closure":    "ALE_ENDPOINT_CLOSURE",
	"Connect Redirect":    "ALE_CONNECT_REDIRECT",
	"Bind Redirect":       "ALE_BIND_REDIRECT",
	"Stream":              "STREAM",
	"Stream Packet":       "STREAM_PACKET",
	"Datagram Data":       "DATAGRAM_DATA",
	"Forward":             "IPFORWARD",
	"Transport":           "*_TRANSPORT",
	"IP Packet":           "*_IPPACKET",
	"ICMP Error":          "*_ICMP_ERROR",
}

// LayerNameOf returns the one name every source's layer has in the
// outputs: the FWPS_BUILTIN_LAYERS name ("ALE_AUTH_CONNECT_V4"), so that
// the Security log's "Connect" and a net event's ALE_AUTH_CONNECT_V4 read
// the same. The decoders keep the name as the source gave it (LayerName)
// and the run-time id (wfp.layer.id) as it came.
//
// An audit layer name is mapped to its FWPS base (with the direction for
// packet layers) and completed by the run-time id when the id's layer has
// that base (adding _V4/_V6 and _DISCARD), else by the address family. An
// id alone gives its layer's name. The audit id is not trusted against its
// name: MAC-level 5150/5151 carry LayerRTID 0, which is
// INBOUND_IPPACKET_V4. A name that cannot be mapped (no address to tell
// V4 from V6, a MAC or vSwitch layer, an unknown code) is returned as it
// is.
func LayerNameOf(e *Event) string {
	name := e.LayerName
	base, ok := auditLayerBases[name]
	if !ok {
		if name == "" && e.HasLayerID {
			if l, ok := Layers[e.LayerID]; ok {
				return l.Name
			}
		}
		return name
	}
	if strings.HasPrefix(base, "*") {
		switch e.Direction {
		case DirectionInbound:
			base = "INBOUND" + base[1:]
		case DirectionOutbound:
			base = "OUTBOUND" + base[1:]
		default:
			return name
		}
	}
	if e.HasLayerID {
		if l, ok := Layers[e.LayerID]; ok && strings.HasPrefix(l.Name, base+"_V") {
			return l.Name
		}
	}
	ip := e.LocalIP
	if !ip.IsValid() {
		ip = e.RemoteIP
	}
	switch {
	case !ip.IsValid():
		return name
	case ip.Unmap().Is4():
		return base + "_V4"
	default:
		return base + "_V6"
	}
}
