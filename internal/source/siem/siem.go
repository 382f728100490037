// Package siem reads Security audit events exported by log shippers as JSON
// lines, one event per line, and turns each into an evtlog.Record so that
// evtlog.Decode, the one place that interprets the audit fields, does the
// rest.
//
// Three shapes are recognized, by their keys:
//
//   - Winlogbeat 7 and later, Elastic Agent (ECS): "winlog": {"event_id",
//     "provider_name", "record_id", "computer_name", "version",
//     "event_data": {...}}, "@timestamp"; "event.code" and "host.name" are
//     fallbacks.
//   - Winlogbeat 6: top-level "event_id", "source_name", "record_number",
//     "computer_name", "version", "event_data": {...}, "@timestamp".
//   - Flat (NXLog im_msvistalog, OTRF/Mordor datasets, many Logstash
//     pipelines): "EventID" at the top level next to the EventData fields
//     ("SourceAddress", "DestPort", …) and the shipper's own metadata
//     ("Hostname", "SourceName", "RecordNumber", "EventTime"…). Metadata
//     keys (see flatMeta) are not EventData; every other top-level string or
//     number is. A nested "EventData" object is read as well.
//
// Time: "@timestamp" for Winlogbeat (it is the event's time there).
// For the flat shape, "TimeCreated" (UTC, newer OTRF data) when present;
// else NXLog's "EventTime", which is the shipping host's local time
// without a zone: its offset is recovered from "EventReceivedTime" (the
// same local clock) and "@timestamp" (the same instant in UTC, set by
// Logstash), rounded to 15 minutes; else "@timestamp"; else "EventTime"
// read as UTC.
package siem

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// Shape is the JSON layout of a line.
type Shape int

// The shapes.
const (
	ShapeUnknown     Shape = iota
	ShapeWinlogbeat        // winlog.event_data (Winlogbeat 7+, Elastic Agent)
	ShapeWinlogbeat6       // event_id + event_data (Winlogbeat 6)
	ShapeFlat              // EventID at the top level (NXLog, OTRF)
)

func (s Shape) String() string {
	switch s {
	case ShapeWinlogbeat:
		return "winlogbeat"
	case ShapeWinlogbeat6:
		return "winlogbeat6"
	case ShapeFlat:
		return "flat"
	}
	return "unknown"
}

// ErrUnknownShape is returned for a JSON object that carries no event id in
// any known shape.
var ErrUnknownShape = errors.New("unrecognized JSON shape: no winlog.event_id (Winlogbeat 7+), event_id (Winlogbeat 6) or EventID (NXLog/flat); expected one Security event per line")

// ErrSkipped is returned by Decoder.Record for an event that is not a
// Filtering Platform audit event (another event id); the Record was not
// filled. Callers skip such lines silently.
var ErrSkipped = errors.New("not a Filtering Platform event id")

// parents of the values the scanner keeps.
const (
	pTop = iota
	pWinlog
	pWinlogData // winlog.event_data
	pEventData  // event_data (Winlogbeat 6) or EventData (flat)
	pEvent      // event (ECS)
	pHost       // host (ECS)
	numParents
)

// entry is one scalar value of the line.
type entry struct {
	parent int8
	str    bool // a JSON string (else a number or literal)
	esc    bool // the string has escapes
	key    []byte
	val    []byte // raw: without quotes, escapes not decoded
	// kind, when not 0, says the value was an object ('{') or an array
	// ('[') that was skipped: kept only to warn about a field of the
	// wrong type.
	kind byte
}

// Decoder parses JSON lines. It keeps scratch space between lines; one
// Decoder serves one goroutine. The zero value is ready to use.
type Decoder struct {
	// Logon, when set, makes Record read logon and share-access records
	// (4624/4625/5140/5145) too instead of skipping them: the client they
	// name is evidence for package orient. They are never events.
	Logon bool
	// Boot, when set, makes Record read boot markers (evtlog.IsBootID) too:
	// their times are evidence of which boot a filter id belongs to.
	Boot bool

	entries []entry
	sc      scanner
	// assumedUTC is set when the last Record's time is an NXLog
	// EventTime (local time of the source host, no zone) read as UTC.
	assumedUTC bool
	// typeErrs lists the fields of the last Record whose value had the
	// wrong type (and were left out); see TypeProblems.
	typeErrs []string
	intern   map[string]string // field names and short values, to spare allocations
}

// str returns the entry's value as a string, sharing the strings of short
// values already seen (protocol numbers, %% codes, "S-1-0-0"…).
func (d *Decoder) str(en *entry) string {
	if en.esc || len(en.val) > 24 {
		return en.value()
	}
	return d.internBytes(en.val)
}

func (d *Decoder) internBytes(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if d.intern == nil || len(d.intern) >= 4096 {
		d.intern = make(map[string]string, 256)
	}
	s := string(b)
	d.intern[s] = s
	return s
}

func (d *Decoder) field(en *entry) evtlog.Field {
	return evtlog.Field{Name: d.internBytes(en.key), Value: d.str(en)}
}

// Record parses one line into rec (reset first) and returns the line's
// shape. It returns ErrSkipped for lines of other event ids (rec is then
// not filled: parsing the fields of the thousands of non-network events of
// a typical export would be wasted), ErrUnknownShape for JSON of another
// shape, or a syntax error. rec's strings are its own: nothing refers to
// line afterwards.
func (d *Decoder) Record(line []byte, rec *evtlog.Record) (Shape, error) {
	d.entries = d.entries[:0]
	d.typeErrs = d.typeErrs[:0]
	d.sc = scanner{b: line}
	if err := d.sc.object(d, pTop, 0); err != nil {
		return ShapeUnknown, err
	}
	if d.sc.skipSpace(); d.sc.i != len(line) {
		return ShapeUnknown, d.sc.errorf("text after the JSON object")
	}

	shape, id, ok := d.eventID()
	if shape == ShapeUnknown {
		return shape, ErrUnknownShape
	}
	if !ok {
		return shape, fmt.Errorf("%v event id is not a number", shape)
	}
	if !event.IsWFPAuditID(id) && !(d.Logon && evtlog.IsLogonID(id)) && !(d.Boot && evtlog.IsBootID(id)) {
		return shape, ErrSkipped
	}
	rec.Reset()
	rec.EventID = id
	var tsUTC, evTime, recvTime, created string
	for i := range d.entries {
		en := &d.entries[i]
		k := string(en.key) // no allocation in comparisons below
		switch shape {
		case ShapeWinlogbeat:
			switch {
			case en.kind != 0:
				if en.parent == pWinlogData || en.parent == pWinlog && headerKey(k) {
					d.wrongType(en)
				}
			case en.parent == pWinlogData:
				rec.Data = append(rec.Data, d.field(en))
			case en.parent == pWinlog:
				d.header(en, k, "provider_name", "record_id", "computer_name", "version", rec)
			case en.parent == pTop && k == "@timestamp":
				tsUTC = en.value()
			case en.parent == pHost && k == "name" && rec.Computer == "":
				rec.Computer = en.value()
			case en.parent == pEvent && k == "provider" && rec.Provider == "":
				rec.Provider = en.value()
			}
		case ShapeWinlogbeat6:
			switch {
			case en.kind != 0:
				if en.parent == pEventData || en.parent == pTop && headerKey(k) {
					d.wrongType(en)
				}
			case en.parent == pEventData:
				rec.Data = append(rec.Data, d.field(en))
			case en.parent == pTop && k == "@timestamp":
				tsUTC = en.value()
			case en.parent == pTop:
				d.header(en, k, "source_name", "record_number", "computer_name", "version", rec)
			}
		case ShapeFlat:
			switch {
			case en.kind != 0:
				// Data fields are CamelCase; lower-case keys ("tags",
				// "host") are what shippers add.
				if en.parent == pEventData || en.parent == pTop && len(k) > 0 && k[0] >= 'A' && k[0] <= 'Z' {
					d.wrongType(en)
				}
			case en.parent == pEventData:
				rec.Data = append(rec.Data, d.field(en))
			case en.parent != pTop:
			case k == "@timestamp":
				tsUTC = en.value()
			case k == "EventTime":
				evTime = en.value()
			case k == "EventReceivedTime":
				recvTime = en.value()
			case k == "TimeCreated":
				created = en.value()
			case k == "SourceName" || k == "ProviderName":
				rec.Provider = en.value()
			case k == "RecordNumber" || k == "EventRecordID":
				rec.RecordID = d.number(en)
			case k == "Hostname" || k == "Computer":
				rec.Computer = en.value()
			case k == "Version":
				rec.Version = int(d.number(en))
			case k == "Keywords":
				rec.Keywords = parseKeywords(en.val)
			case flatMeta[k]:
			default:
				rec.Data = append(rec.Data, d.field(en))
			}
		}
	}
	d.assumedUTC = false
	rec.Time = pickTime(shape, tsUTC, created, evTime, recvTime, &d.assumedUTC)
	return shape, nil
}

// header fills the System header fields of the Winlogbeat shapes.
func (d *Decoder) header(en *entry, k, provider, record, computer, version string, rec *evtlog.Record) {
	switch k {
	case provider:
		rec.Provider = en.value()
	case record:
		rec.RecordID = d.number(en)
	case computer:
		rec.Computer = en.value()
	case version:
		rec.Version = int(d.number(en))
	}
}

// headerKey reports whether k names a header field of the Winlogbeat
// shapes (which must be a string or a number).
func headerKey(k string) bool {
	switch k {
	case "provider_name", "source_name", "record_id", "record_number", "computer_name", "version", "event_id":
		return true
	}
	return false
}

// number reads a header number (a record id, a version); a value that is
// not one is left out (0) and noted as a field of the wrong type.
func (d *Decoder) number(en *entry) uint64 {
	n, ok := parseUint64(en.val)
	if !ok {
		d.typeErrs = append(d.typeErrs, fmt.Sprintf("%s %q is not a number", en.key, truncate(en.val, 40)))
	}
	return n
}

// wrongType notes a field whose value was an object or an array.
func (d *Decoder) wrongType(en *entry) {
	what := "an object"
	if en.kind == '[' {
		what = "an array"
	}
	d.typeErrs = append(d.typeErrs, fmt.Sprintf("%s is %s, not a string or number", en.key, what))
}

// TypeProblems returns the fields of the record Record last returned
// whose values had the wrong type and were left out ("SourcePort is an
// object, not a string or number"), or nil. The slice is reused by the
// next Record.
func (d *Decoder) TypeProblems() []string { return d.typeErrs }

// AssumedUTC reports whether the time of the record Record last returned
// is an NXLog EventTime read as UTC: the source host's local time, whose
// offset nothing on the line told.
func (d *Decoder) AssumedUTC() bool { return d.assumedUTC }

// eventID finds the event id and so the shape.
//
// A key given twice counts by its last value, as for every other field
// (and as most JSON consumers do): the entries are searched from the end.
func (d *Decoder) eventID() (Shape, int, bool) {
	var code []byte
	for i := len(d.entries) - 1; i >= 0; i-- {
		en := &d.entries[i]
		switch {
		case en.parent == pWinlog && string(en.key) == "event_id":
			n, ok := parseUint64(en.val)
			return ShapeWinlogbeat, int(n), ok && n < 1<<31
		case en.parent == pTop && string(en.key) == "event_id":
			n, ok := parseUint64(en.val)
			return ShapeWinlogbeat6, int(n), ok && n < 1<<31
		case en.parent == pTop && string(en.key) == "EventID":
			n, ok := parseUint64(en.val)
			return ShapeFlat, int(n), ok && n < 1<<31
		case en.parent == pEvent && string(en.key) == "code" && code == nil:
			code = en.val
		}
	}
	if code != nil {
		// ECS data without a winlog group (another shipper): take
		// event.code, with the winlog field names for the rest.
		n, ok := parseUint64(code)
		return ShapeWinlogbeat, int(n), ok && n < 1<<31
	}
	return ShapeUnknown, 0, false
}

// flatMeta lists the top-level keys of the flat shape that are the
// shipper's metadata or the System header, not EventData. The EventData
// field names of the Filtering Platform events (ProcessID, Application,
// Direction, SourceAddress…) are not among them.
var flatMeta = map[string]bool{
	// NXLog im_msvistalog
	"EventTime": true, "EventReceivedTime": true, "Hostname": true, "Keywords": true,
	"EventType": true, "SeverityValue": true, "Severity": true, "SourceName": true,
	"ProviderGuid": true, "EventID": true, "Version": true, "Task": true, "OpcodeValue": true,
	"RecordNumber": true, "ActivityID": true, "RelatedActivityID": true,
	"ExecutionProcessID": true, "ThreadID": true, "Channel": true, "Category": true,
	"Opcode": true, "Message": true, "SourceModuleName": true, "SourceModuleType": true,
	"Domain": true, "AccountName": true, "UserID": true, "AccountType": true, "Level": true,
	"ERRORLEVEL": true, "EventRecordID": true, "ProviderName": true, "Computer": true,
	"TimeCreated": true, "Qualifiers": true, "Correlation": true, "Execution": true,
	// Logstash and the OTRF datasets
	"@timestamp": true, "@version": true, "tags": true, "host": true, "port": true, "type": true,
	"message": true, "EventData": true,
}

// pickTime returns the time of a record of the given shape from its time
// fields, as the package comment says. When it can only read EventTime as
// UTC, it sets *assumedUTC (when not nil).
func pickTime(shape Shape, tsUTC, created, evTime, recvTime string, assumedUTC *bool) time.Time {
	if shape == ShapeFlat {
		if t, err := parseISO(created); err == nil {
			return t
		}
		if evTime != "" {
			et, err1 := time.Parse(time.DateTime, evTime)
			rt, err2 := time.Parse(time.DateTime, recvTime)
			ts, err3 := parseISO(tsUTC)
			if err1 == nil && err2 == nil && err3 == nil {
				diff := ts.Sub(rt)
				off := diff.Round(15 * time.Minute)
				if d := diff - off; d > -5*time.Minute && d < 5*time.Minute && off > -15*time.Hour && off < 15*time.Hour {
					return et.Add(off).UTC()
				}
			}
			if err3 == nil {
				return ts
			}
			if err1 == nil {
				if assumedUTC != nil {
					*assumedUTC = true
				}
				return et.UTC()
			}
		}
	}
	if t, err := parseISO(tsUTC); err == nil {
		return t
	}
	return time.Time{}
}

func parseISO(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// parseKeywords reads NXLog's Keywords: a signed decimal (the 64-bit mask
// as int64) or "0x…" hex.
func parseKeywords(b []byte) uint64 {
	s := string(b)
	if strings.HasPrefix(s, "-") {
		n, ok := parseUint64(b[1:])
		if !ok {
			return 0
		}
		return -n
	}
	n, _ := event.ParseUint(s, 1<<64-1)
	return n
}

func parseUint64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
