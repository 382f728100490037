package evtx

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// doc parses the record's binary XML. The values it returns alias the
// chunk's scratch buffer: valid until the next call on the same chunk.
func (r *Record) doc() (*template, []value, error) {
	c := r.c
	c.budget = nestedBudget
	t, vals, err := c.doc(r.off+24, r.off+r.size-4, false, c.vals[:0])
	c.vals = vals[:0]
	return t, vals, err
}

// AppendXML appends the record rendered as Windows' renderer gives it
// (EvtRender with EvtRenderEventXml): one <Event> element on one line, no
// <RenderingInfo>. On error dst is returned unchanged.
func (r *Record) AppendXML(dst []byte) ([]byte, error) {
	t, vals, err := r.doc()
	if err != nil {
		return dst, err
	}
	r.c.outStart = len(dst)
	out, err := r.c.appendXML(dst, t, vals, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// slot says where one field of the fast path is in a template: a
// substitution (idx ≥ 0) or static text.
type slot struct {
	idx    int
	static string
	set    bool
	bad    bool // mixed text and substitutions: not handled by the fast path
}

type dataSlot struct {
	name string
	slot slot
}

// wfpInfo locates, in a template, the System fields and the EventData
// items of a Security audit event. Windows often stores the EventData as a
// BinXML substitution value holding a template of its own: nested is then
// the index of that value, and the nested template's wfpInfo has the data.
type wfpInfo struct {
	ok                                  bool // the fast path can read this template
	provider, eventID, version, created slot
	computer, keywords, recordID        slot
	data                                []dataSlot
	nested                              int // substitution holding EventData, or -1
}

func slotOf(vs []node) slot {
	s := slot{idx: -1, set: true}
	if len(vs) == 1 && vs[0].kind == nSubst {
		s.idx = vs[0].idx
		return s
	}
	if len(vs) == 1 && vs[0].kind == nText {
		s.static = vs[0].text
		return s
	}
	var b strings.Builder
	for _, v := range vs {
		switch v.kind {
		case nSubst:
			s.bad = true
		case nEntity:
			t, _ := entityText(v.name)
			b.WriteString(t)
		default:
			b.WriteString(v.text)
		}
	}
	s.static = b.String()
	return s
}

// inEventData reports whether path is inside an EventData element: below
// Event, or the root of a nested EventData fragment.
func inEventData(path []string) (rel []string, ok bool) {
	switch {
	case len(path) >= 2 && path[0] == "Event" && path[1] == "EventData":
		return path[2:], true
	case len(path) >= 1 && path[0] == "EventData":
		return path[1:], true
	}
	return nil, false
}

// compileWFP finds the fast-path fields in a template's nodes.
func compileWFP(nodes []node) wfpInfo {
	w := wfpInfo{nested: -1}
	var path []string
	ok := true
	// sys returns the element name below Event/System, or "".
	sys := func() string {
		if len(path) == 3 && path[0] == "Event" && path[1] == "System" {
			return path[2]
		}
		if len(path) == 1 && path[0] == "Event" {
			return "Event"
		}
		return ""
	}
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		switch n.kind {
		case nStart:
			path = append(path, n.name)
			if rel, in := inEventData(path); in && len(rel) > 0 {
				if len(rel) == 1 && n.name == "Data" {
					w.data = append(w.data, dataSlot{slot: slot{idx: -1, set: true}})
				} else {
					ok = false // anything but flat <Data> items
				}
			}
		case nAttr:
			j := i + 1
			for j < len(nodes) && isValueNode(nodes[j].kind) {
				j++
			}
			s := slotOf(nodes[i+1 : j])
			rel, in := inEventData(path)
			switch {
			case n.name == "Name" && sys() == "Provider":
				w.provider = s
			case n.name == "SystemTime" && sys() == "TimeCreated":
				w.created = s
			case n.name == "Name" && in && len(rel) == 1 && rel[0] == "Data":
				if s.idx >= 0 || s.bad {
					ok = false
				}
				w.data[len(w.data)-1].name = s.static
			}
			i = j - 1
		case nCloseEmpty, nEnd:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case nText, nSubst, nCharRef, nEntity:
			j := i
			for j < len(nodes) && isValueNode(nodes[j].kind) {
				j++
			}
			s := slotOf(nodes[i:j])
			i = j - 1
			rel, in := inEventData(path)
			switch {
			case in && len(rel) == 1 && rel[0] == "Data":
				d := &w.data[len(w.data)-1]
				if d.slot.idx >= 0 || d.slot.static != "" {
					ok = false // content in pieces
				}
				d.slot = s
			case in && len(rel) == 0:
				if s.idx >= 0 || strings.TrimSpace(s.static) != "" {
					ok = false
				}
			}
			switch sys() {
			case "EventID":
				w.eventID = s
			case "Version":
				w.version = s
			case "Computer":
				w.computer = s
			case "Keywords":
				w.keywords = s
			case "EventRecordID":
				w.recordID = s
			case "Event":
				// EventData as a BinXML value.
				if s.idx >= 0 && w.nested < 0 {
					w.nested = s.idx
				} else if s.idx >= 0 || s.bad {
					ok = false
				}
			}
		case nCDATA, nPI:
			if _, in := inEventData(path); in {
				ok = false
			}
		}
	}
	for _, s := range []slot{w.provider, w.eventID, w.version, w.created, w.computer, w.keywords, w.recordID} {
		if s.bad {
			ok = false
		}
	}
	for _, d := range w.data {
		if d.slot.bad {
			ok = false
		}
	}
	w.ok = ok
	return w
}

// str returns the slot's value as text.
func (s *slot) str(vals []value, in *interner) (string, bool) {
	if !s.set {
		return "", true
	}
	if s.idx < 0 {
		return s.static, true
	}
	if s.idx >= len(vals) {
		return "", true
	}
	v := vals[s.idx]
	if v.typ == typeBinXML {
		return "", false
	}
	var buf [128]byte
	var b []byte
	if v.typ == typeString {
		if s, ok := in.raw(v.b); ok {
			return s, true
		}
		b = appendUTF16(buf[:0], v.b, escNone)
		s := in.string(b)
		in.putRaw(v.b, s)
		return s, true
	}
	b = appendValue(buf[:0], v, escNone)
	return in.string(b), true
}

// interner shares the strings of repeated values (directions, protocols,
// layer codes, SIDs, process paths) within a chunk, so that decoding a WFP
// record allocates only for values it has not seen yet.
type interner struct {
	m     map[string]string // by the value as text
	utf16 map[string]string // string values by their UTF-16 bytes: a hit skips decoding
}

const (
	internMaxLen     = 96
	internMaxEntries = 2048
)

// string returns b as a string, shared with earlier calls for equal bytes.
// A nil interner just converts.
func (in *interner) string(b []byte) string {
	if in == nil || len(b) > internMaxLen {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < internMaxEntries {
		in.m[s] = s
	}
	return s
}

// raw returns the string already decoded from the UTF-16 bytes b.
func (in *interner) raw(b []byte) (string, bool) {
	if in == nil {
		return "", false
	}
	s, ok := in.utf16[string(b)]
	return s, ok
}

// putRaw remembers that the UTF-16 bytes b decode to s.
func (in *interner) putRaw(b []byte, s string) {
	if in == nil || len(b) > 2*internMaxLen {
		return
	}
	if in.utf16 == nil {
		in.utf16 = make(map[string]string)
	}
	if len(in.utf16) < internMaxEntries {
		in.utf16[string(b)] = s
	}
}

// uint returns the slot's value as a number.
func (s *slot) uint(vals []value) (uint64, bool) {
	if !s.set {
		return 0, false
	}
	if s.idx >= 0 && s.idx < len(vals) {
		if n, ok := valueUint(vals[s.idx]); ok {
			return n, true
		}
	}
	str, ok := s.str(vals, nil)
	if !ok {
		return 0, false
	}
	str = strings.TrimSpace(str)
	if strings.HasPrefix(str, "0x") || strings.HasPrefix(str, "0X") {
		n, err := strconv.ParseUint(str[2:], 16, 64)
		return n, err == nil
	}
	n, err := strconv.ParseUint(str, 10, 64)
	return n, err == nil
}

// time returns the slot's value as a time.
func (s *slot) time(vals []value) (time.Time, bool) {
	if !s.set {
		return time.Time{}, false
	}
	if s.idx >= 0 && s.idx < len(vals) {
		v := vals[s.idx]
		switch {
		case v.typ == typeFiletime && len(v.b) >= 8:
			return FiletimeToTime(u64(v.b, 0)), true
		case v.typ == typeSystime && len(v.b) >= 16:
			b := v.b
			return time.Date(int(u16(b, 0)), time.Month(u16(b, 2)), int(u16(b, 6)), int(u16(b, 8)),
				int(u16(b, 10)), int(u16(b, 12)), int(u16(b, 14))*1e6, time.UTC), true
		}
	}
	str, ok := s.str(vals, nil)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(str))
	return t, err == nil
}

// WFP reads a Filtering Platform audit event (provider
// Microsoft-Windows-Security-Auditing, ids 5031 and 5150–5159) straight from
// the record's template substitutions into rec, without building XML. It
// returns false, with rec untouched, for any other record; such records
// cost only the reading of their event id. Values are the strings Windows'
// XML renderer would give, so the result equals parsing AppendXML's output.
// rec.Data keeps its capacity across calls.
func (r *Record) WFP(rec *evtlog.Record) (bool, error) { return r.WFPIf(rec, nil) }

// WFPIf is WFP for the events whose id want accepts (all when want is
// nil): a rejected event is treated like a record of another provider, and
// costs only the reading of its id and provider. want is called only for
// Filtering Platform events, so it may count what it rejects.
func (r *Record) WFPIf(rec *evtlog.Record, want func(id int) bool) (bool, error) {
	return r.wfpIf(rec, want, false)
}

// WFPOrLogonIf is WFPIf that also fills rec with a logon or share access
// record (4624/4625/5140/5145, evtlog.IsLogonID) or a boot marker
// (evtlog.Boot) and returns true for it, so that its client
// (evtlog.Client) or boot time can serve as evidence; the caller tells
// them apart by rec.EventID and rec.Provider. Only those ids are decoded
// (from rendered XML: they are few); other records still cost only their
// id.
func (r *Record) WFPOrLogonIf(rec *evtlog.Record, want func(id int) bool) (bool, error) {
	return r.wfpIf(rec, want, true)
}

func (r *Record) wfpIf(rec *evtlog.Record, want func(id int) bool, logon bool) (bool, error) {
	t, vals, err := r.doc()
	if err != nil {
		return false, err
	}
	w := &t.wfp
	if !w.eventID.set {
		return false, nil // no System/EventID: not an audit event
	}
	if !w.ok || !w.provider.set {
		return r.wfpSlow(t, vals, rec, want, logon)
	}
	id, ok := w.eventID.uint(vals)
	if ok && logon && (evtlog.IsLogonID(int(id)) || evtlog.IsBootID(int(id))) {
		return r.wfpSlow(t, vals, rec, nil, true)
	}
	if !ok || id != 5031 && (id < 5150 || id > 5159) || !event.IsWFPAuditID(int(id)) {
		return false, nil
	}
	prov, ok := w.provider.str(vals, &r.c.strs)
	if !ok {
		return r.wfpSlow(t, vals, rec, want, logon)
	}
	if !strings.EqualFold(prov, evtlog.ProviderName) {
		return false, nil
	}
	if want != nil && !want(int(id)) {
		return false, nil // asked after the provider: want counts only WFP events
	}
	rec.Reset()
	rec.Provider = prov
	rec.EventID = int(id)
	if v, ok := w.version.uint(vals); ok {
		rec.Version = int(v)
	}
	rec.RecordID = r.ID
	if v, ok := w.recordID.uint(vals); ok {
		rec.RecordID = v
	}
	if tm, ok := w.created.time(vals); ok {
		rec.Time = tm
	}
	if rec.Computer, ok = w.computer.str(vals, &r.c.strs); !ok {
		return r.wfpSlow(t, vals, rec, want, logon)
	}
	if v, ok := w.keywords.uint(vals); ok {
		rec.Keywords = v
	}
	if !appendData(rec, w, vals, &r.c.strs) {
		return r.wfpSlow(t, vals, rec, want, logon)
	}
	if w.nested >= 0 && w.nested < len(vals) {
		v := vals[w.nested]
		switch {
		case v.typ == typeBinXML && len(v.b) > 0:
			c := r.c
			t2, vals2, err := c.doc(v.off, v.off+len(v.b), true, c.vals2[:0])
			c.vals2 = vals2[:0]
			if err != nil {
				return false, fmt.Errorf("record %d: EventData: %w", r.ID, err)
			}
			if !t2.wfp.ok || t2.wfp.nested >= 0 || !appendData(rec, &t2.wfp, vals2, &c.strs) {
				return r.wfpSlow(t, vals, rec, want, logon)
			}
		case !v.isNull():
			return r.wfpSlow(t, vals, rec, want, logon)
		}
	}
	return true, nil
}

// appendData appends the EventData items of w to rec.
func appendData(rec *evtlog.Record, w *wfpInfo, vals []value, in *interner) bool {
	for i := range w.data {
		d := &w.data[i]
		v, ok := d.slot.str(vals, in)
		if !ok {
			return false
		}
		rec.Data = append(rec.Data, evtlog.Field{Name: d.name, Value: v})
	}
	return true
}

// wfpSlow renders the record as XML and parses it back with the
// foundation's decoder: the path for the rare records whose layout the fast
// path does not read.
func (r *Record) wfpSlow(t *template, vals []value, rec *evtlog.Record, want func(id int) bool, logon bool) (bool, error) {
	r.c.outStart = 0
	x, err := r.c.appendXML(nil, t, vals, 0)
	if err != nil {
		return false, err
	}
	rec.Reset()
	if err := evtlog.ParseEventXML(x, rec); err != nil {
		return false, fmt.Errorf("record %d: parse rendered XML: %w", r.ID, err)
	}
	if logon && evtlog.IsLogonID(rec.EventID) && strings.EqualFold(rec.Provider, evtlog.ProviderName) {
		return true, nil
	}
	if logon {
		if _, _, ok := evtlog.Boot(rec); ok {
			return true, nil
		}
	}
	if !event.IsWFPAuditID(rec.EventID) || !strings.EqualFold(rec.Provider, evtlog.ProviderName) {
		rec.Reset()
		return false, nil
	}
	if want != nil && !want(rec.EventID) {
		rec.Reset()
		return false, nil
	}
	return true, nil
}
