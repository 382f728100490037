// Package netsh reads the XML that "netsh wfp show netevents" writes
// (<netEvents><item>…</item></netEvents>), the wfpdiag.xml of
// "netsh wfp capture" (<wfpdiag>…<netEvent>…), and single <netEvent>
// elements as Microsoft's documentation shows them, into the event model.
//
// Each net event keeps the ids WFP gave it (filterId, layerId) so that they
// can be resolved later, and its type as event.Event.NetEventType. The
// types read are classifyDrop, classifyDropMac, capabilityDrop,
// ipsecKernelDrop and ipsecDospDrop (blocks and drops), and classifyAllow and
// capabilityAllow (permits). IKE negotiation failures and LPM packet
// arrivals are not traffic decisions and are skipped (counted in Stats).
//
// Field choices:
//   - appId: the hex <data> is decoded as UTF-16LE (the NT device path,
//     NUL-terminated); <asString>, netsh's rendering with a dot after each
//     character, is the fallback when <data> is absent or not valid.
//   - Direction: the run-time layer's direction when the layer implies one
//     (ALE_AUTH_RECV_ACCEPT is inbound whatever else is said), else
//     msFwpDirection / direction.
//   - filterOrigin and interfaceIndex come from <internalFields>; the
//     origin gives the reason ("Quarantine Default" → default:quarantine).
//   - terminatingFiltersInfo: the sublayer of the block filter that ended
//     classification (the item with the event's filterId, else the first
//     block) becomes Sublayer, which gives a default reason when there is
//     no origin (event.DefaultBlocks: WSH, QUARANTINE, APP_ISOLATION).
//   - capabilities: the FWP_CAPABILITIES_FLAG_* items become Capabilities
//     ("internetClient,privateNetworkClientServer"; "none" for an
//     AppContainer app with an empty list).
//   - A capability drop is an AppContainer app denied a connection: kind
//     "connection".
//   - RecordID is the net event's position in the file (1 for the first).
//   - Filter names: the <filters><item> list of a wfpdiag.xml (before its
//     events) names filter ids; the events after it get FilterName and
//     FilterProvider.
package netsh

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/xmlguard"
)

type xmlBlob struct {
	Data     string `xml:"data"`
	AsString string `xml:"asString"`
}

type xmlHeader struct {
	TimeStamp    string   `xml:"timeStamp"`
	Flags        []string `xml:"flags>item"`
	IPVersion    string   `xml:"ipVersion"`
	IPProtocol   string   `xml:"ipProtocol"`
	LocalAddrV4  string   `xml:"localAddrV4"`
	RemoteAddrV4 string   `xml:"remoteAddrV4"`
	LocalAddrV6  string   `xml:"localAddrV6.byteArray16"`
	RemoteAddrV6 string   `xml:"remoteAddrV6.byteArray16"`
	LocalPort    string   `xml:"localPort"`
	RemotePort   string   `xml:"remotePort"`
	ScopeID      string   `xml:"scopeId"`
	AppID        xmlBlob  `xml:"appId"`
	UserID       string   `xml:"userId"`
	PackageSID   string   `xml:"packageSid"`
}

// xmlDetail holds the members of every per-type element that wfpwatch
// reads; each type has a subset.
type xmlDetail struct {
	FilterID            string `xml:"filterId"`
	LayerID             string `xml:"layerId"`
	MsFwpDirection      string `xml:"msFwpDirection"`
	Direction           string `xml:"direction"`
	IsLoopback          string `xml:"isLoopback"`
	NetworkCapabilityID string `xml:"networkCapabilityId"`
	FailureStatus       string `xml:"failureStatus"`
	SPI                 string `xml:"spi"`
	LocalMacAddr        string `xml:"localMacAddr"`
	RemoteMacAddr       string `xml:"remoteMacAddr"`
	EtherType           string `xml:"etherType"`
	VlanTag             string `xml:"vlanTag"`
}

type xmlNetEvent struct {
	Header          xmlHeader  `xml:"header"`
	Type            string     `xml:"type"`
	ClassifyDrop    *xmlDetail `xml:"classifyDrop"`
	ClassifyDropMac *xmlDetail `xml:"classifyDropMac"`
	ClassifyAllow   *xmlDetail `xml:"classifyAllow"`
	CapabilityDrop  *xmlDetail `xml:"capabilityDrop"`
	CapabilityAllow *xmlDetail `xml:"capabilityAllow"`
	IPsecKernelDrop *xmlDetail `xml:"ipsecKernelDrop"`
	IPsecDospDrop   *xmlDetail `xml:"ipsecDospDrop"`
	Internal        struct {
		FilterOrigin   string `xml:"filterOrigin"`
		InterfaceIndex string `xml:"interfaceIndex"`
		// Capabilities is nil when the element is absent, empty when
		// present with no items.
		Capabilities *struct {
			Items []string `xml:"item"`
		} `xml:"capabilities"`
		Terminating []xmlTerminating `xml:"terminatingFiltersInfo>item"`
	} `xml:"internalFields"`
}

// xmlTerminating is one <terminatingFiltersInfo><item>: a filter that
// ended classification in its sublayer, and what it decided.
type xmlTerminating struct {
	FilterID   string `xml:"filterId"`
	SubLayer   string `xml:"subLayer"`
	ActionType string `xml:"actionType"`
}

// xmlFilter is one <filters><item> of wfpdiag.xml or "netsh wfp show
// filters": what names a filter id.
type xmlFilter struct {
	FilterID    string `xml:"filterId"`
	ProviderKey string `xml:"providerKey"`
	DisplayData struct {
		Name string `xml:"name"`
	} `xml:"displayData"`
}

type filterInfo struct{ name, provider string }

// Stats counts what Read saw.
type Stats struct {
	Filters   uint64            // filter descriptions read (<filters><item>), used to name filter ids
	NetEvents uint64            // <netEvent> / <netEvents><item> elements
	Events    uint64            // events emitted
	Skipped   map[string]uint64 // net events of types that are not traffic decisions, by type
	Bad       uint64            // net events reported as problems
}

// ItemError is a problem with one net event; reading goes on.
type ItemError struct {
	Index  uint64 // position of the net event in the file, from 1
	Offset int64  // byte offset of its start
	Err    error
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("net event %d (offset %d): %v", e.Index, e.Offset, e.Err)
}
func (e *ItemError) Unwrap() error { return e.Err }

// Read decodes every net event of r, calling emit for each traffic decision
// (the event is reused: emit copies what it keeps) and warn for each net
// event it could not read. filePath is put in each event's FilePath. It
// returns emit's error, ctx's error, or an error when the XML itself is
// broken (what was read before is kept).
func Read(ctx context.Context, r io.Reader, filePath string, emit func(*event.Event) error, warn func(error)) (Stats, error) {
	st := Stats{Skipped: map[string]uint64{}}
	raw := xml.NewDecoder(xmlguard.NewReader(r, guardLimits))
	// Input was transcoded to UTF-8 before it gets here; accept any
	// declared charset as is.
	raw.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	guard := &depthGuard{d: raw, mark: -1}
	d := xml.NewTokenDecoder(guard)
	// decode decodes the element t starts into v within MaxNetEvent: it
	// reports false (nil) for a larger one, skipped; any other error is
	// the input's end.
	decode := func(v any, t *xml.StartElement, off int64) (bool, error) {
		depth := guard.depth
		guard.mark = off
		err := d.DecodeElement(v, t)
		guard.mark = -1
		if errors.Is(err, errItemLarge) {
			return false, skipRest(d, guard, depth)
		}
		return err == nil, err
	}
	var stack []string
	var ev event.Event
	filters := map[uint64]filterInfo{}
	for tokens := 1; ; tokens++ {
		if tokens&4095 == 0 {
			// Markup that holds no net event still stops on Ctrl+C.
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		off := raw.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if name == "item" && parent == "filters" {
				// wfpdiag.xml lists the filters before the events: keep
				// their names to resolve the events' filter ids.
				var xf xmlFilter
				if ok, err := decode(&xf, &t, off); err != nil {
					return st, fmt.Errorf("XML: filter: %w", err)
				} else if !ok {
					warn(fmt.Errorf("filter description at offset %d: %w", off, errItemLarge))
					continue
				}
				if id, ok := event.ParseUint(strings.TrimSpace(xf.FilterID), 1<<64-1); ok {
					st.Filters++
					filters[id] = filterInfo{strings.TrimSpace(xf.DisplayData.Name), strings.TrimSpace(xf.ProviderKey)}
				}
				continue
			}
			if name == "netEvent" || (name == "item" && parent == "netEvents") {
				st.NetEvents++
				if st.NetEvents&255 == 0 {
					if err := ctx.Err(); err != nil {
						return st, err
					}
				}
				var ne xmlNetEvent
				if ok, err := decode(&ne, &t, off); err != nil {
					return st, fmt.Errorf("XML: net event %d: %w", st.NetEvents, err)
				} else if !ok {
					st.Bad++
					warn(&ItemError{st.NetEvents, off, errItemLarge})
					continue
				}
				ok, err := convert(&ne, st.NetEvents, &ev)
				if err != nil {
					var fe *FieldError
					if !errors.As(err, &fe) || !ok {
						st.Bad++
						warn(&ItemError{st.NetEvents, off, err})
						continue
					}
					warn(&ItemError{st.NetEvents, off, err})
				}
				if !ok {
					st.Skipped[ne.Type]++
					continue
				}
				if fi, ok := filters[ev.FilterID]; ok && ev.HasFilterID {
					ev.FilterName, ev.FilterProvider = fi.name, fi.provider
					event.Classify(&ev) // a default's filter ("Boot Time Filter") gives the reason
				}
				ev.FilePath = filePath
				st.Events++
				if err := emit(&ev); err != nil {
					return st, err
				}
				continue
			}
			stack = append(stack, name)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// FieldError lists fields of a net event that could not be read; the event
// keeps the rest.
type FieldError struct{ Problems []string }

func (e *FieldError) Error() string { return strings.Join(e.Problems, "; ") }

// typeNames maps FWPM_NET_EVENT_TYPE names to the event model's names and
// says which are permits.
var typeNames = map[string]struct {
	name   string
	permit bool
}{
	"FWPM_NET_EVENT_TYPE_CLASSIFY_DROP":     {event.NetEventClassifyDrop, false},
	"FWPM_NET_EVENT_TYPE_CLASSIFY_DROP_MAC": {event.NetEventClassifyDropMAC, false},
	"FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP": {event.NetEventIPsecKernelDrop, false},
	"FWPM_NET_EVENT_TYPE_IPSEC_DOSP_DROP":   {event.NetEventIPsecDoSPDrop, false},
	"FWPM_NET_EVENT_TYPE_CAPABILITY_DROP":   {event.NetEventCapabilityDrop, false},
	"FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW":    {event.NetEventClassifyAllow, true},
	"FWPM_NET_EVENT_TYPE_CAPABILITY_ALLOW":  {event.NetEventCapabilityAllow, true},
}

// convert fills e from one decoded net event. It returns false (and no
// error) for types that are not traffic decisions. A *FieldError with true
// means the event was filled but some fields were unreadable.
func convert(ne *xmlNetEvent, index uint64, e *event.Event) (bool, error) {
	typ := strings.TrimSpace(ne.Type)
	tn, ok := typeNames[typ]
	if !ok {
		// Accept the numeric form too.
		if n, err := strconv.Atoi(typ); err == nil {
			for k, v := range typeNames {
				if typeNumbers[k] == n {
					tn, ok = v, true
				}
			}
		}
		if !ok {
			if typ == "" {
				return false, errors.New("no <type>")
			}
			return false, nil
		}
	}
	var det *xmlDetail
	for _, d := range []*xmlDetail{ne.ClassifyDrop, ne.ClassifyDropMac, ne.ClassifyAllow, ne.CapabilityDrop, ne.CapabilityAllow, ne.IPsecKernelDrop, ne.IPsecDospDrop} {
		if d != nil {
			det = d
			break
		}
	}
	if det == nil {
		det = &xmlDetail{}
	}

	*e = event.Event{
		Sources:      event.SourceFile,
		RecordID:     index,
		NetEventType: tn.name,
		ICMPType:     -1,
		ICMPCode:     -1,
	}
	if tn.permit {
		e.Verdict = event.VerdictPermit
	}
	var probs []string
	bad := func(field, v, what string) {
		if len(v) > 64 {
			v = v[:64] + "…"
		}
		probs = append(probs, fmt.Sprintf("%s: %q %s", field, v, what))
	}
	h := &ne.Header
	if s := strings.TrimSpace(h.TimeStamp); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			bad("timeStamp", s, "is not an RFC 3339 time")
		} else {
			e.Time = t.UTC()
		}
	}
	if v := strings.TrimSpace(h.IPProtocol); v != "" {
		if n, ok := event.ParseUint(v, 255); ok {
			e.Protocol, e.HasProtocol = uint8(n), true
		} else {
			bad("ipProtocol", v, "is not a protocol number")
		}
	}
	e.LocalIP = addr("localAddr", h.LocalAddrV4, h.LocalAddrV6, bad)
	e.RemoteIP = addr("remoteAddr", h.RemoteAddrV4, h.RemoteAddrV6, bad)
	e.LocalPort, e.HasLocalPort = port("localPort", h.LocalPort, bad)
	e.RemotePort, e.HasRemotePort = port("remotePort", h.RemotePort, bad)
	if p, ok := AppID(h.AppID.Data, h.AppID.AsString); ok {
		e.SetExecutable(p)
	}
	e.UserID = sid(h.UserID)
	e.PackageSID = sid(h.PackageSID)

	if v := strings.TrimSpace(det.FilterID); v != "" {
		if n, ok := event.ParseUint(v, 1<<64-1); ok {
			e.FilterID, e.HasFilterID = n, true
		} else {
			bad("filterId", v, "is not a filter id")
		}
	}
	if v := strings.TrimSpace(det.LayerID); v != "" {
		if n, ok := event.ParseUint(v, 65535); ok {
			e.LayerID, e.HasLayerID = uint16(n), true
			if l, ok := event.LayerByID(e.LayerID); ok {
				e.LayerName = l.Name
				e.Direction = l.Direction
			}
		} else {
			bad("layerId", v, "is not a layer id")
		}
	}
	if e.Direction == event.DirectionUnknown {
		for _, v := range []string{det.MsFwpDirection, det.Direction} {
			if v = strings.TrimSpace(v); v != "" {
				e.Direction = event.ParseDirection(v)
				break
			}
		}
	}
	e.FilterOrigin = strings.TrimSpace(ne.Internal.FilterOrigin)
	if !tn.permit {
		e.Sublayer = blockingSublayer(ne.Internal.Terminating, det.FilterID)
	}
	if c := ne.Internal.Capabilities; c != nil {
		e.Capabilities = capabilities(c.Items, e.PackageSID != "")
	}
	if v := strings.TrimSpace(ne.Internal.InterfaceIndex); v != "" {
		if n, ok := event.ParseUint(v, 1<<32-1); ok {
			e.InterfaceIndex, e.HasInterfaceIndex = uint32(n), true
		}
	}
	var info []string
	if v := strings.TrimSpace(det.NetworkCapabilityID); v != "" {
		info = append(info, "capability "+v)
	}
	if v := strings.TrimSpace(det.FailureStatus); v != "" {
		info = append(info, "status "+v)
	}
	if v := strings.TrimSpace(det.SPI); v != "" && v != "0" {
		info = append(info, "spi "+v)
	}
	if v := strings.TrimSpace(det.LocalMacAddr); v != "" {
		info = append(info, "local mac "+v)
	}
	if v := strings.TrimSpace(det.RemoteMacAddr); v != "" {
		info = append(info, "remote mac "+v)
	}
	if v := strings.TrimSpace(det.EtherType); v != "" {
		info = append(info, "ethertype "+v)
	}
	if strings.EqualFold(strings.TrimSpace(det.IsLoopback), "true") {
		info = append(info, "loopback")
	}
	e.Info = strings.Join(info, ", ")
	switch tn.name {
	case event.NetEventCapabilityDrop, event.NetEventCapabilityAllow:
		e.Kind = event.KindConnection
	}
	event.Classify(e)
	if probs != nil {
		return true, &FieldError{probs}
	}
	return true, nil
}

// blockingSublayer returns the sublayer of the terminating filter that
// blocked: the item whose filterId is the event's, when it blocked, else
// the first item that blocked; "" when none did.
func blockingSublayer(items []xmlTerminating, filterID string) string {
	filterID = strings.TrimSpace(filterID)
	first := ""
	for _, it := range items {
		if !strings.EqualFold(strings.TrimSpace(it.ActionType), "FWP_ACTION_BLOCK") {
			continue
		}
		sub := strings.TrimSpace(it.SubLayer)
		if filterID != "" && strings.TrimSpace(it.FilterID) == filterID {
			return sub
		}
		if first == "" {
			first = sub
		}
	}
	return first
}

// capabilityNames maps netsh's FWP_CAPABILITIES_FLAG_* names to the
// capability names of an app manifest.
var capabilityNames = map[string]string{
	"FWP_CAPABILITIES_FLAG_INTERNET_CLIENT":        "internetClient",
	"FWP_CAPABILITIES_FLAG_INTERNET_CLIENT_SERVER": "internetClientServer",
	"FWP_CAPABILITIES_FLAG_PRIVATE_NETWORK":        "privateNetworkClientServer",
	"FWP_CAPABILITIES_FLAG_NETWORK_LOOPBACK":       "loopback",
}

// capabilities joins the capability items of a net event (unknown ones as
// written). An empty list is "none" for an AppContainer app (it held no
// network capability: Microsoft's UWP troubleshooting guide reads it so)
// and "" otherwise (a desktop app has no capabilities to list).
func capabilities(items []string, appContainer bool) string {
	var out []string
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if n, ok := capabilityNames[strings.ToUpper(it)]; ok {
			it = n
		}
		out = append(out, strings.ReplaceAll(it, ",", " "))
	}
	if len(out) == 0 {
		if appContainer {
			return "none"
		}
		return ""
	}
	return strings.Join(out, ",")
}

// typeNumbers are the FWPM_NET_EVENT_TYPE values.
var typeNumbers = map[string]int{
	"FWPM_NET_EVENT_TYPE_CLASSIFY_DROP":     3,
	"FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP": 4,
	"FWPM_NET_EVENT_TYPE_IPSEC_DOSP_DROP":   5,
	"FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW":    6,
	"FWPM_NET_EVENT_TYPE_CAPABILITY_DROP":   7,
	"FWPM_NET_EVENT_TYPE_CAPABILITY_ALLOW":  8,
	"FWPM_NET_EVENT_TYPE_CLASSIFY_DROP_MAC": 9,
}

func addr(field, v4, v6 string, bad func(string, string, string)) netip.Addr {
	if v := strings.TrimSpace(v4); v != "" {
		if n, ok := event.ParseUint(v, 1<<32-1); ok {
			// A bare number: the UINT32 in host order.
			return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			bad(field+"V4", v, "is not an IPv4 address")
			return netip.Addr{}
		}
		return a.Unmap()
	}
	if v := strings.TrimSpace(v6); v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil {
			bad(field+"V6", v, "is not an IPv6 address")
			return netip.Addr{}
		}
		return a.Unmap()
	}
	return netip.Addr{}
}

func port(field, v string, bad func(string, string, string)) (uint16, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	n, ok := event.ParseUint(v, 65535)
	if !ok {
		bad(field, v, "is not a port")
		return 0, false
	}
	return uint16(n), true
}

func sid(v string) string {
	v = strings.TrimSpace(v)
	if v == "S-1-0-0" {
		return ""
	}
	return v
}

// AppID decodes a net event's application id: data is the hex of the
// UTF-16LE, NUL-terminated device path; asString is netsh's rendering (each
// byte as a character, "." for the unprintable ones), used when data is
// missing or invalid. It reports false when neither yields a path.
func AppID(data, asString string) (string, bool) {
	data = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, data)
	if data != "" && len(data)%4 == 0 {
		if b, err := hex.DecodeString(data); err == nil {
			u := make([]uint16, 0, len(b)/2)
			for i := 0; i+1 < len(b); i += 2 {
				c := uint16(b[i]) | uint16(b[i+1])<<8
				if c == 0 {
					break
				}
				u = append(u, c)
			}
			if len(u) > 0 {
				return string(utf16.Decode(u)), true
			}
		}
	}
	// asString: "\.d.e.v.i.c.e.\…": the low byte of each UTF-16 unit, then
	// "." for the high byte (zero for ASCII).
	s := strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(asString))
	if s == "" {
		return "", false
	}
	var out []byte
	for i := 0; i < len(s); i += 2 {
		out = append(out, s[i])
	}
	// The NUL terminator is rendered "." too; a Windows path never ends
	// in a dot.
	p := strings.TrimRight(string(out), ".")
	if p == "" {
		return "", false
	}
	return p, true
}

// Detect reports whether head (UTF-8) starts like netsh wfp XML: its first
// element is <netEvents>, <netEvent> or <wfpdiag>.
func Detect(head []byte) bool {
	switch firstElement(head) {
	case "netEvents", "netEvent", "wfpdiag":
		return true
	}
	return false
}

// firstElement returns the name of the first element in b, skipping white
// space, the XML declaration, comments and processing instructions.
func firstElement(b []byte) string {
	for {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
			b = b[1:]
		}
		if len(b) < 2 || b[0] != '<' {
			return ""
		}
		var end string
		switch {
		case b[1] == '?':
			end = "?>"
		case len(b) >= 4 && string(b[:4]) == "<!--":
			end = "-->"
		case b[1] == '!':
			end = ">"
		default:
			b = b[1:]
			i := 0
			for i < len(b) && b[i] != ' ' && b[i] != '>' && b[i] != '/' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n' {
				i++
			}
			if i == len(b) {
				return ""
			}
			name := string(b[:i])
			if j := strings.LastIndexByte(name, ':'); j >= 0 {
				name = name[j+1:]
			}
			return name
		}
		i := strings.Index(string(b), end)
		if i < 0 {
			return ""
		}
		b = b[i+len(end):]
	}
}
