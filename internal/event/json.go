package event

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Action returns the ECS event.action of e: "blocked-connection",
// "dropped-packet", "permitted-listen"…
func (e *Event) Action() string {
	verb := "blocked"
	switch e.Verdict {
	case VerdictDrop:
		verb = "dropped"
	case VerdictPermit:
		verb = "permitted"
	}
	k := e.Kind
	if k == "" {
		k = KindPacket
	}
	return verb + "-" + string(k)
}

// ecsEndpoints returns the ECS source and destination of e: ECS names them
// after the traffic, so for inbound traffic the source is the remote peer.
func (e *Event) ecsEndpoints() (srcIP, dstIP string, srcPort, dstPort uint16, hasSrcPort, hasDstPort bool) {
	l, r := "", ""
	if e.LocalIP.IsValid() {
		l = e.LocalIP.String()
	}
	if e.RemoteIP.IsValid() {
		r = e.RemoteIP.String()
	}
	if e.Direction == DirectionInbound {
		return r, l, e.RemotePort, e.LocalPort, e.HasRemotePort, e.HasLocalPort
	}
	return l, r, e.LocalPort, e.RemotePort, e.HasLocalPort, e.HasRemotePort
}

// MarshalJSON encodes e as one ECS-shaped JSON object (see AppendJSON).
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}

// AppendJSON appends e to b as one ECS-shaped JSON object and returns the
// extended buffer. Empty and unknown fields are omitted. The encoder is
// written by hand: it is on the hot path of every JSON output and allocates
// nothing beyond b's growth.
//
// Layout: @timestamp; event.{code,action,outcome,kind,category,type,provider,
// count,start,end} (count, start and end for a flow; see
// AppendJSONCounted);
// network.{direction,transport,iana_number,bytes}; source/destination
// {ip,port} named after the traffic (inbound: source is the remote peer);
// process.{pid,executable,name}; user.{id,name}; host.name; interface.id;
// rule.{id,name}; log.file.path; and the wfp group: verdict, kind, reason,
// source, record_id, flow{id,update,total}, filter{id,name,provider}, layer{id,name},
// filter_origin, profiles, remote_user_id, remote_machine_id, package_sid,
// services, net_event_type, sublayer, capabilities, icmp{type,code}, tcp_flags, info,
// orientation{order,by,scope}, local{ip,port}, remote{ip,port}.
func (e *Event) AppendJSON(b []byte) []byte { return e.appendJSON(b, false) }

// AppendOutputJSON is AppendJSON in the form the outputs write: event.count
// on every event, 1 for a single one, so that a SIEM summing event.count
// over a mix of flows and single events counts each event once (a sum
// skips documents without the field); and wfp.layer.name under its one
// name for every source (LayerNameOf).
func (e *Event) AppendOutputJSON(b []byte) []byte { return e.appendJSON(b, true) }

func (e *Event) appendJSON(b []byte, output bool) []byte {
	w := jsonWriter{b: b}
	w.open()
	if !e.Time.IsZero() {
		w.key("@timestamp")
		w.b = append(w.b, '"')
		w.b = e.Time.UTC().AppendFormat(w.b, time.RFC3339Nano)
		w.b = append(w.b, '"')
	}

	w.obj("event")
	if e.Code != 0 {
		w.str("code", strconv.Itoa(e.Code))
	}
	w.str("action", e.Action())
	if e.Verdict == VerdictPermit {
		w.str("outcome", "success")
	} else {
		w.str("outcome", "failure")
	}
	w.str("kind", "event")
	w.key("category")
	w.b = append(w.b, `["network"]`...)
	w.key("type")
	if e.Verdict == VerdictPermit {
		w.b = append(w.b, `["connection","allowed"]`...)
	} else {
		w.b = append(w.b, `["connection","denied"]`...)
	}
	if e.Code != 0 {
		w.str("provider", "Microsoft-Windows-Security-Auditing")
	}
	if output || e.Flow != nil {
		w.uint("count", e.EventCount())
	}
	if f := e.Flow; f != nil {
		w.time("start", f.Start)
		w.time("end", f.End)
	}
	w.close()

	w.obj("network")
	w.str("direction", string(e.Direction))
	if e.HasProtocol {
		w.str("transport", ProtocolName(e.Protocol))
		w.str("iana_number", strconv.Itoa(int(e.Protocol)))
	}
	if e.Size != 0 {
		w.uint("bytes", uint64(e.Size))
	}
	w.close()

	srcIP, dstIP, srcPort, dstPort, hasSrc, hasDst := e.ecsEndpoints()
	if srcIP != "" || hasSrc {
		w.obj("source")
		w.str("ip", srcIP)
		if hasSrc {
			w.uint("port", uint64(srcPort))
		}
		w.close()
	}
	if dstIP != "" || hasDst {
		w.obj("destination")
		w.str("ip", dstIP)
		if hasDst {
			w.uint("port", uint64(dstPort))
		}
		w.close()
	}

	if e.HasPID || e.Executable != "" {
		w.obj("process")
		if e.HasPID {
			w.uint("pid", uint64(e.PID))
		}
		w.str("executable", e.Executable)
		w.str("name", e.Name)
		w.close()
	}
	if e.UserID != "" || e.UserName != "" {
		w.obj("user")
		w.str("id", e.UserID)
		w.str("name", e.UserName)
		w.close()
	}
	if e.Host != "" {
		w.obj("host")
		w.str("name", e.Host)
		w.close()
	}
	if e.HasInterfaceIndex {
		w.obj("interface")
		w.str("id", strconv.FormatUint(uint64(e.InterfaceIndex), 10))
		w.close()
	}
	if e.RuleID != "" || e.RuleName != "" {
		w.obj("rule")
		w.str("id", e.RuleID)
		w.str("name", e.RuleName)
		w.close()
	}
	if e.FilePath != "" {
		w.obj("log")
		w.obj("file")
		w.str("path", e.FilePath)
		w.close()
		w.close()
	}

	w.obj("wfp")
	w.str("verdict", string(e.Verdict))
	w.str("kind", string(e.Kind))
	w.str("reason", e.Reason)
	if e.Sources != 0 {
		w.key("source")
		w.b = append(w.b, '[')
		for i, n := range e.Sources.Names() {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, n)
		}
		w.b = append(w.b, ']')
	}
	if e.RecordID != 0 {
		w.uint("record_id", e.RecordID)
	}
	if f := e.Flow; f != nil {
		w.obj("flow")
		w.uint("id", f.ID)
		if f.Update {
			w.key("update")
			w.b = append(w.b, "true"...)
			w.uint("total", f.Total)
		}
		w.close()
	}
	if e.HasFilterID || e.FilterName != "" {
		w.obj("filter")
		if e.HasFilterID {
			w.uint("id", e.FilterID)
		}
		w.str("name", e.FilterName)
		w.str("provider", e.FilterProvider)
		w.close()
	}
	if e.HasLayerID || e.LayerName != "" {
		w.obj("layer")
		if e.HasLayerID {
			w.uint("id", uint64(e.LayerID))
		}
		if output {
			w.str("name", LayerNameOf(e))
		} else {
			w.str("name", e.LayerName)
		}
		w.close()
	}
	w.str("filter_origin", e.FilterOrigin)
	w.str("profiles", e.Profiles)
	w.str("remote_user_id", e.RemoteUserID)
	w.str("remote_machine_id", e.RemoteMachineID)
	w.str("package_sid", e.PackageSID)
	if len(e.Services) > 0 {
		w.key("services")
		w.b = append(w.b, '[')
		for i, s := range e.Services {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, s)
		}
		w.b = append(w.b, ']')
	}
	w.str("net_event_type", e.NetEventType)
	w.str("sublayer", e.Sublayer)
	if e.Capabilities != "" {
		w.key("capabilities")
		w.b = append(w.b, '[')
		if e.Capabilities != "none" {
			for i, c := range strings.Split(e.Capabilities, ",") {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.b = appendString(w.b, c)
			}
		}
		w.b = append(w.b, ']')
	}
	if e.ICMPType >= 0 || e.ICMPCode >= 0 {
		w.obj("icmp")
		if e.ICMPType >= 0 {
			w.uint("type", uint64(e.ICMPType))
		}
		if e.ICMPCode >= 0 {
			w.uint("code", uint64(e.ICMPCode))
		}
		w.close()
	}
	w.str("tcp_flags", e.TCPFlags)
	w.str("info", e.Info)
	if e.Orient.Order != OrderNone && e.Orient.By != EvidenceLayer {
		w.obj("orientation")
		w.str("order", e.Orient.Order.String())
		w.str("by", e.Orient.By.String())
		if e.Orient.Host {
			w.str("scope", "host")
		} else {
			w.str("scope", "record")
		}
		w.close()
	}
	if e.LocalIP.IsValid() || e.HasLocalPort {
		w.obj("local")
		if e.LocalIP.IsValid() {
			w.key("ip")
			w.b = append(w.b, '"')
			w.b = e.LocalIP.AppendTo(w.b)
			w.b = append(w.b, '"')
		}
		if e.HasLocalPort {
			w.uint("port", uint64(e.LocalPort))
		}
		w.close()
	}
	if e.RemoteIP.IsValid() || e.HasRemotePort {
		w.obj("remote")
		if e.RemoteIP.IsValid() {
			w.key("ip")
			w.b = append(w.b, '"')
			w.b = e.RemoteIP.AppendTo(w.b)
			w.b = append(w.b, '"')
		}
		if e.HasRemotePort {
			w.uint("port", uint64(e.RemotePort))
		}
		w.close()
	}
	w.close()

	w.close()
	return w.b
}

// jsonWriter writes nested JSON objects, tracking whether a comma is due.
type jsonWriter struct {
	b     []byte
	first [8]bool // per depth: nothing written yet at this level
	depth int
}

func (w *jsonWriter) open() {
	w.b = append(w.b, '{')
	w.first[w.depth] = true
}

func (w *jsonWriter) key(k string) {
	if !w.first[w.depth] {
		w.b = append(w.b, ',')
	}
	w.first[w.depth] = false
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) obj(k string) {
	w.key(k)
	w.depth++
	w.open()
}

func (w *jsonWriter) close() {
	w.b = append(w.b, '}')
	if w.depth > 0 {
		w.depth--
	}
}

func (w *jsonWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendString(w.b, v)
}

func (w *jsonWriter) time(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *jsonWriter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, so
// the output is always valid JSON whatever the source held; controls (C0,
// C1) and bidirectional overrides are written as \u escapes.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r <= 0x9f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c {
			// C1 controls and bidi overrides: the same text to a JSON
			// parser, but nothing a terminal acts on when the file is
			// printed.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
