// Package evtlog decodes Filtering Platform events of the Windows Security
// audit log (5031, 5150–5159) into the event model, and, on Windows,
// subscribes to them live.
//
// The portable half has two layers: Record is an audit event as every
// source carries it (the System header plus the EventData name/value pairs),
// and Decode turns a Record into an event.Event. The XML reader in xml.go,
// the .evtx reader and the SIEM JSON readers all produce Records, so the
// meaning of each field is defined once, here.
package evtlog

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
)

// ProviderName is the provider of the Security audit events.
const ProviderName = "Microsoft-Windows-Security-Auditing"

// Record is one Security audit event before interpretation.
type Record struct {
	Provider string
	EventID  int
	Version  int
	RecordID uint64
	Time     time.Time
	Computer string
	Keywords uint64
	Data     []Field // EventData, in document order
}

// Field is one EventData item: <Data Name='Name'>Value</Data>.
type Field struct {
	Name  string
	Value string
}

// Get returns the value of the field named name (case-insensitively, since
// Windows spells ProcessId and ProcessID in different events) and whether it
// is present.
func (r *Record) Get(name string) (string, bool) {
	for i := range r.Data {
		if strings.EqualFold(r.Data[i].Name, name) {
			return r.Data[i].Value, true
		}
	}
	return "", false
}

// Reset empties r for reuse, keeping the capacity of Data.
func (r *Record) Reset() {
	data := r.Data[:0]
	*r = Record{Data: data}
}

// ErrNotWFP is returned by Decode for a record that is not a Filtering
// Platform event (another event id or provider). Callers skip such records
// silently.
var ErrNotWFP = errors.New("not a Filtering Platform audit event")

// FieldError reports fields of a record that could not be read. It is not
// fatal: Decode fills everything else, and the caller keeps the event and
// reports the error.
type FieldError struct {
	EventID  int
	RecordID uint64
	Problems []string // "SourcePort: \"99999\" is not a port"
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("event %d record %d: %s", e.EventID, e.RecordID, strings.Join(e.Problems, "; "))
}

// knownFields lists every EventData field documented for the Filtering
// Platform events, across Windows releases, in Windows' usual spelling.
var knownFields = [...]string{
	"ProcessId", "Application", "Direction", "SourceAddress", "SourcePort",
	"DestAddress", "DestPort", "Protocol", "FilterRTID", "LayerName", "LayerRTID",
	"RemoteUserID", "RemoteMachineID", "FilterOrigin", "InterfaceIndex", "Profiles",
}

// CanonicalField returns the spelling of knownFields that name matches
// case-insensitively, or "" when name is not a known field. It allocates
// nothing, so parsers use it to intern field names.
func CanonicalField(name string) string {
	switch name { // the usual spelling, without the case-insensitive scan
	case "ProcessId", "Application", "Direction", "SourceAddress", "SourcePort",
		"DestAddress", "DestPort", "Protocol", "FilterRTID", "LayerName", "LayerRTID",
		"RemoteUserID", "RemoteMachineID", "FilterOrigin", "InterfaceIndex", "Profiles":
		return name
	}
	for _, k := range knownFields {
		if len(k) == len(name) && (k == name || strings.EqualFold(k, name)) {
			return k
		}
	}
	return ""
}

// UnknownFields returns the names of r's EventData fields that Decode does
// not interpret. For a WFP record from any Windows release it should be
// empty; tests over real data check that.
func UnknownFields(r *Record) []string {
	var out []string
	for _, f := range r.Data {
		if CanonicalField(f.Name) == "" {
			out = append(out, f.Name)
		}
	}
	return out
}

// Decode fills e from r and classifies it. It returns ErrNotWFP for records
// that are not Filtering Platform events (e is then untouched), a
// *FieldError when some fields could not be read (e is filled with the rest
// and should be kept), or nil.
//
// Source and Destination in the audit events follow the packet: for inbound
// traffic the source is the remote peer and the destination is this host;
// for outbound traffic, the reverse. Listen and bind events (5154/5155,
// 5158/5159) carry only the local Source. Decode makes local and remote
// explicit. Checked on real exports: a workstation at .39.6 logs an inbound
// 5157 from .39.5:54359 to .39.6:50115 while .39.5 logs the matching
// outbound 5157 from .39.5:54359; inbound 5156 events on domain controllers
// have DestPort 53/135/389/445. Older builds write inbound ALE events
// local-first: see the orientation note below and docs/orientation.md.
func Decode(r *Record, e *event.Event) error {
	a, ok := event.AuditIDs[r.EventID]
	if !ok || (r.Provider != "" && !strings.EqualFold(r.Provider, ProviderName)) {
		return ErrNotWFP
	}
	*e = event.Event{
		Time:     r.Time,
		Code:     r.EventID,
		RecordID: r.RecordID,
		Host:     r.Computer,
		Kind:     a.Kind,
		ICMPType: -1,
		ICMPCode: -1,
	}
	if a.Permit {
		e.Verdict = event.VerdictPermit
	}
	var problems []string
	bad := func(name, val, what string) {
		problems = append(problems, fmt.Sprintf("%s: %q %s", name, truncate(val, 64), what))
	}

	var srcIP, dstIP netip.Addr
	var srcPort, dstPort uint16
	var hasSrcPort, hasDstPort bool
	for _, f := range r.Data {
		v := strings.TrimSpace(f.Value)
		switch CanonicalField(f.Name) {
		case "ProcessId":
			if v == "" || v == "-" {
				break
			}
			if n, ok := event.ParseUint(v, 1<<32-1); ok {
				e.PID, e.HasPID = uint32(n), true
			} else {
				bad(f.Name, v, "is not a process id")
			}
		case "Application":
			e.SetExecutable(v)
		case "Direction":
			if v == "" || v == "-" {
				break
			}
			e.Direction = event.ParseDirection(v)
			if e.Direction == event.DirectionUnknown {
				bad(f.Name, v, "is not a known direction code")
			}
		case "SourceAddress":
			srcIP = parseAddr(f.Name, v, bad)
		case "DestAddress":
			dstIP = parseAddr(f.Name, v, bad)
		case "SourcePort":
			srcPort, hasSrcPort = parsePort(f.Name, v, bad)
		case "DestPort":
			dstPort, hasDstPort = parsePort(f.Name, v, bad)
		case "Protocol":
			if v == "" || v == "-" {
				break
			}
			if p, ok := event.ParseProtocol(v); ok {
				e.Protocol, e.HasProtocol = p, true
			} else {
				bad(f.Name, v, "is not an IP protocol number")
			}
		case "FilterRTID":
			if v == "" || v == "-" {
				break
			}
			if n, ok := event.ParseUint(v, 1<<64-1); ok {
				e.FilterID, e.HasFilterID = n, true
			} else {
				bad(f.Name, v, "is not a filter id")
			}
		case "LayerName":
			if v == "" || v == "-" {
				break
			}
			name, ok := event.MessageCode(v)
			if !ok {
				bad(f.Name, v, "is not a known layer-name code")
			}
			e.LayerName = name
		case "LayerRTID":
			if v == "" || v == "-" {
				break
			}
			if n, ok := event.ParseUint(v, 1<<16-1); ok {
				e.LayerID, e.HasLayerID = uint16(n), true
			} else {
				bad(f.Name, v, "is not a layer id")
			}
		case "RemoteUserID":
			e.RemoteUserID = dash(v)
		case "RemoteMachineID":
			e.RemoteMachineID = dash(v)
		case "FilterOrigin":
			e.FilterOrigin = dash(v)
		case "InterfaceIndex":
			if v == "" || v == "-" {
				break
			}
			if n, ok := event.ParseUint(v, 1<<32-1); ok {
				e.InterfaceIndex, e.HasInterfaceIndex = uint32(n), true
			} else {
				bad(f.Name, v, "is not an interface index")
			}
		case "Profiles":
			e.Profiles = dash(v)
		}
	}

	// Listen and bind events have only the local Source; so does an event
	// whose direction is outbound. For inbound events Decode applies the
	// packet order (Source = remote peer, as Windows 10 and later write
	// it) and records it in e.Orient; an inbound ALE event may have been
	// written local-first by an older build, which the record itself shows
	// only sometimes (orient.Record) and the rest of the host's log shows
	// better (package orient).
	if e.Direction == event.DirectionInbound && (dstIP.IsValid() || hasDstPort) {
		e.RemoteIP, e.RemotePort, e.HasRemotePort = srcIP, srcPort, hasSrcPort
		e.LocalIP, e.LocalPort, e.HasLocalPort = dstIP, dstPort, hasDstPort
		if srcIP.IsValid() && dstIP.IsValid() {
			e.Orient = event.Orientation{Order: event.OrderPacket, By: event.EvidenceDefault}
			if !a.Kind.ConnectionLevel() {
				e.Orient.By = event.EvidenceLayer
			}
		}
	} else {
		e.LocalIP, e.LocalPort, e.HasLocalPort = srcIP, srcPort, hasSrcPort
		e.RemoteIP, e.RemotePort, e.HasRemotePort = dstIP, dstPort, hasDstPort
	}
	if e.Kind == event.KindListen && e.Direction == event.DirectionUnknown {
		e.Direction = event.DirectionInbound
	}
	if e.Kind == event.KindAccept {
		e.Direction = event.DirectionInbound
	}
	event.Classify(e)
	if e.Orientable() {
		if o, by := orient.Record(e, nil); o != event.OrderNone {
			e.SetOrder(o, by, false)
		}
	}
	if problems != nil {
		return &FieldError{EventID: r.EventID, RecordID: r.RecordID, Problems: problems}
	}
	return nil
}

func dash(v string) string {
	if v == "-" {
		return ""
	}
	return v
}

func parseAddr(name, v string, bad func(name, val, what string)) netip.Addr {
	if v == "" || v == "-" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		bad(name, v, "is not an IP address")
		return netip.Addr{}
	}
	return a.Unmap()
}

func parsePort(name, v string, bad func(name, val, what string)) (uint16, bool) {
	if v == "" || v == "-" {
		return 0, false
	}
	n, ok := event.ParseUint(v, 65535)
	if !ok {
		bad(name, v, "is not a port")
		return 0, false
	}
	return uint16(n), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
