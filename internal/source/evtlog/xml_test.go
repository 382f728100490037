package evtlog

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// stdEvent is the shape of a Windows event for encoding/xml. It is the
// reference the hand-written parser is compared with (TestParsersAgree,
// FuzzParseEventXML) and the baseline of BenchmarkDecode5157.
type stdEvent struct {
	XMLName xml.Name `xml:"Event"`
	System  struct {
		Provider struct {
			Name string `xml:"Name,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"`
		Version     string `xml:"Version"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID string `xml:"EventRecordID"`
		Computer      string `xml:"Computer"`
		Keywords      string `xml:"Keywords"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Data"`
	} `xml:"EventData"`
}

// parseEventXMLStd parses one event with encoding/xml into rec.
func parseEventXMLStd(b []byte, rec *Record) error {
	var s stdEvent
	if err := xml.Unmarshal(b, &s); err != nil {
		return err
	}
	rec.Reset()
	id, err := strconv.ParseUint(strings.TrimSpace(s.System.EventID), 10, 16)
	if err != nil {
		return err
	}
	rec.EventID = int(id)
	rec.Provider = s.System.Provider.Name
	if v := strings.TrimSpace(s.System.Version); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return err
		}
		rec.Version = int(n)
	}
	if v := strings.TrimSpace(s.System.EventRecordID); v != "" {
		if rec.RecordID, err = strconv.ParseUint(v, 10, 64); err != nil {
			return err
		}
	}
	if v := strings.TrimSpace(s.System.Keywords); v != "" {
		if rec.Keywords, err = strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64); err != nil {
			return err
		}
	}
	rec.Computer = strings.TrimSpace(s.System.Computer)
	if s.System.TimeCreated.SystemTime != "" {
		if rec.Time, err = ParseSystemTime(s.System.TimeCreated.SystemTime); err != nil {
			return err
		}
	}
	for _, d := range s.EventData.Data {
		rec.Data = append(rec.Data, Field{d.Name, d.Value})
	}
	return nil
}

// fixtureEvents splits the fixture into its <Event> elements.
func fixtureEvents(t testing.TB) [][]byte {
	var out [][]byte
	for _, line := range bytes.Split(readFixture(t), []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}

func TestParsersAgree(t *testing.T) {
	for i, b := range fixtureEvents(t) {
		var fast, std Record
		if err := ParseEventXML(b, &fast); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if err := parseEventXMLStd(b, &std); err != nil {
			t.Fatalf("event %d: encoding/xml: %v", i, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("event %d:\nfast %+v\n std %+v", i, fast, std)
		}
	}
}

func utf16Bytes(s string, bom bool, big bool) []byte {
	var buf bytes.Buffer
	var order binary.ByteOrder = binary.LittleEndian
	if big {
		order = binary.BigEndian
	}
	if bom {
		binary.Write(&buf, order, uint16(0xFEFF))
	}
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&buf, order, u)
	}
	return buf.Bytes()
}

const oneEvent = `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>5157</EventID><TimeCreated SystemTime='2026-01-02T03:04:05.0000000Z'/><EventRecordID>%d</EventRecordID><Computer>h</Computer></System><EventData><Data Name='ProcessID'>9</Data><Data Name='Application'>%s</Data><Data Name='Direction'>%%%%14593</Data></EventData></Event>`

func ev(id int, app string) string { return fmt.Sprintf(oneEvent, id, app) }

func TestReadXMLShapes(t *testing.T) {
	stream := ev(1, "a.exe") + "\r\n" + ev(2, "b.exe") + "\n"
	tests := []struct {
		name     string
		in       []byte
		ids      []uint64
		apps     []string
		problems int
	}{
		{"single event", []byte(ev(1, "a.exe")), []uint64{1}, []string{"a.exe"}, 0},
		{"stream without root", []byte(stream), []uint64{1, 2}, nil, 0},
		{"Events wrapper with declaration", []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Events>" + stream + "</Events>"), []uint64{1, 2}, nil, 0},
		{"UTF-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, stream...), []uint64{1, 2}, nil, 0},
		{"UTF-16LE BOM", utf16Bytes(`<?xml version="1.0" encoding="UTF-16"?><Events>`+stream+`</Events>`, true, false), []uint64{1, 2}, nil, 0},
		{"UTF-16BE BOM", utf16Bytes(stream, true, true), []uint64{1, 2}, nil, 0},
		{"UTF-16LE without BOM", utf16Bytes(stream, false, false), []uint64{1, 2}, nil, 0},
		{"non-ASCII path in UTF-16", utf16Bytes(ev(3, `C:\Users\Zoë\日本.exe`), true, false), []uint64{3}, []string{"日本.exe"}, 0},
		{"entities and CDATA", []byte(strings.Replace(ev(4, "a&amp;b&#x41;&lt;.exe"), "<Computer>h</Computer>", "<Computer><![CDATA[h]]></Computer><!-- c -->", 1)), []uint64{4}, []string{"a&bA<.exe"}, 0},
		{"RenderingInfo ignored", []byte(strings.Replace(ev(5, "a.exe"), "</EventData>", "</EventData><RenderingInfo Culture='en-US'><Message>blocked <Data>x</Data></Message></RenderingInfo>", 1)), []uint64{5}, nil, 0},
		{"broken event mid-stream", []byte(ev(1, "a.exe") + strings.Replace(ev(2, "b.exe"), "</System>", "</Sys>", 1) + ev(3, "c.exe")), []uint64{1, 3}, nil, 1},
		{"bad EventID", []byte(strings.Replace(ev(6, "a.exe"), "5157", "51x7", 1) + ev(7, "b")), []uint64{7}, nil, 1},
		{"truncated last event", []byte(stream + ev(9, "c.exe")[:120]), []uint64{1, 2}, nil, 1},
		{"garbage between events", []byte(ev(1, "a") + "\x00\xff garbage <junk/> " + ev(2, "b")), []uint64{1, 2}, nil, 0},
		{"empty input", nil, nil, nil, 0},
		{"self-closing Data", []byte(strings.Replace(ev(8, "a"), "<Data Name='ProcessID'>9</Data>", "<Data Name='ProcessID'/>", 1)), []uint64{8}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []uint64
			var apps []string
			problems := 0
			_, err := ReadXML(bytes.NewReader(tt.in), func(rec *Record, off int64) error {
				ids = append(ids, rec.RecordID)
				app, _ := rec.Get("Application")
				apps = append(apps, event.BaseName(app))
				return nil
			}, func(off int64, err error) {
				problems++
				t.Logf("problem at %d: %v", off, err)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids, tt.ids) {
				t.Errorf("ids %v, want %v", ids, tt.ids)
			}
			if tt.apps != nil && !reflect.DeepEqual(apps, tt.apps) {
				t.Errorf("apps %q, want %q", apps, tt.apps)
			}
			if problems != tt.problems {
				t.Errorf("%d problems, want %d", problems, tt.problems)
			}
		})
	}
}

// TestReadXMLSmallReads feeds the stream one byte at a time, so every
// buffer boundary falls inside a tag somewhere.
func TestReadXMLSmallReads(t *testing.T) {
	in := readFixture(t)
	var n int
	_, err := ReadXML(&oneByteReader{in}, func(rec *Record, off int64) error { n++; return nil },
		func(off int64, err error) { t.Errorf("offset %d: %v", off, err) })
	if err != nil {
		t.Fatal(err)
	}
	if want := len(fixtureEvents(t)); n != want {
		t.Errorf("%d events, want %d", n, want)
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestReadXMLOffsets(t *testing.T) {
	a, b := ev(1, "a"), ev(2, "b")
	in := a + "\n" + b
	var offs []int64
	ReadXML(strings.NewReader(in), func(rec *Record, off int64) error { offs = append(offs, off); return nil }, func(int64, error) {})
	if want := []int64{0, int64(len(a) + 1)}; !reflect.DeepEqual(offs, want) {
		t.Errorf("offsets %v, want %v", offs, want)
	}
}

func FuzzParseEventXML(f *testing.F) {
	for _, b := range fixtureEvents(f) {
		f.Add(b)
	}
	f.Add([]byte(ev(1, "a&amp;b")))
	f.Add([]byte("<Event><System><EventID>5157</EventID></System><EventData><Data Name='x'/></EventData></Event>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, std Record
		errFast := ParseEventXML(b, &fast)
		errStd := parseEventXMLStd(b, &std)
		if errFast == nil {
			// Whatever parses must decode without panicking.
			var e event.Event
			_ = Decode(&fast, &e)
			if e.Verdict != "" {
				_ = e.AppendJSON(nil)
			}
		}
		// Where both parsers accept well-formed input, they agree.
		if errFast == nil && errStd == nil && fast.EventID == std.EventID && isPlain(b) && !reflect.DeepEqual(fast, std) {
			t.Errorf("parsers disagree:\nfast %+v\n std %+v", fast, std)
		}
	})
}

// isPlain reports whether b avoids the constructs where the hand-written
// parser is knowingly laxer or stricter than encoding/xml (duplicate
// elements, nested Data markup, namespaced names, DOCTYPEs, non-UTF-8).
func isPlain(b []byte) bool {
	s := string(b)
	return strings.Count(s, "<EventID") == 1 && strings.Count(s, "<System") == 1 &&
		strings.Count(s, "<EventData") <= 1 && !strings.Contains(s, ":") && !strings.Contains(s, "<!") &&
		strings.Count(s, "<Data") == strings.Count(s, "</Data>")+strings.Count(s, "/>")-strings.Count(s, "<TimeCreated") &&
		strings.Count(s, "<Event") == strings.Count(s, "<Event>")+strings.Count(s, "<Event ")+strings.Count(s, "<EventID")+strings.Count(s, "<EventData")+strings.Count(s, "<EventRecordID")
}

func TestParseSystemTime(t *testing.T) {
	for _, s := range []string{
		"2016-05-20T18:47:36.968376800Z", "2026-03-02T09:15:01.1234567Z", "2026-03-02T09:15:01Z",
		"2026-03-02T09:15:01.1Z", "2024-02-29T00:00:00.000Z", "2026-12-31T23:59:59.999999999Z",
	} {
		got, err := ParseSystemTime(s)
		want, err2 := time.Parse(time.RFC3339Nano, s)
		if err != nil || err2 != nil || !got.Equal(want) {
			t.Errorf("%s: got %v %v, want %v %v", s, got, err, want, err2)
		}
	}
	for _, s := range []string{"2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "yesterday", "2026-03-02T09:15:01.Z", "2026-03-02T09:15:01.12345678901Z"} {
		if _, ok := parseWindowsTime(s); ok {
			t.Errorf("%s: fast path accepted it", s)
		}
	}
	if got, err := ParseSystemTime("2026-03-02T09:15:01.5"); err != nil || got.Nanosecond() != 5e8 {
		t.Errorf("no zone: %v %v", got, err)
	}
}

// FuzzReadXML feeds arbitrary bytes (UTF-8 or UTF-16, events or junk) to
// the stream reader: it must never panic, and every offset it reports must
// lie within the decoded input.
func FuzzReadXML(f *testing.F) {
	f.Add(readFixture(f))
	f.Add(utf16Bytes(ev(1, "a")+ev(2, "b"), true, false))
	f.Add([]byte("<Events><Event><System><EventID>5157</EventID></System></Event></Events>"))
	f.Add([]byte("<Event <Event>></Event>"))
	f.Add(append(unclosedEvents(1<<10), ev(1, "a")...))
	f.Fuzz(func(t *testing.T, in []byte) {
		limit := int64(len(in))*3 + 16 // UTF-16 → UTF-8 can grow the text
		_, err := ReadXML(bytes.NewReader(in), func(rec *Record, off int64) error {
			if off < 0 || off > limit {
				t.Errorf("offset %d outside the input", off)
			}
			var e event.Event
			Decode(rec, &e)
			return nil
		}, func(off int64, err error) {
			if off < 0 || off > limit || err == nil {
				t.Errorf("problem at %d: %v", off, err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// unclosedEvents returns n bytes of "<Event " start tags that never close.
func unclosedEvents(n int) []byte {
	return bytes.Repeat([]byte("<Event "), n/7+1)[:n]
}

// TestReadXMLUnclosedRuns is the recipe of the quadratic scan: megabytes
// of "<Event " start tags that never close. Each run of them is one
// problem, the events around them are read, and the scan is linear (this
// input took minutes when every start tag was searched to the end of the
// buffer; BenchmarkReadXMLUnclosed measures it).
func TestReadXMLUnclosedRuns(t *testing.T) {
	a, b := ev(1, "a"), ev(2, "b")
	for _, tt := range []struct {
		name     string
		in       string
		ids      []uint64
		problems []int64 // offsets
	}{
		{"long run then event", string(unclosedEvents(9<<20)) + a, []uint64{1}, []int64{0}},
		{"short run between events", a + string(unclosedEvents(1<<10)) + b, []uint64{1, 2}, []int64{int64(len(a))}},
		{"two runs", string(unclosedEvents(5<<20)) + a + string(unclosedEvents(5<<20)), []uint64{1}, []int64{0, 5<<20 + int64(len(a))}},
		{"run to the end", a + string(unclosedEvents(1<<10)), []uint64{1}, []int64{int64(len(a))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ids []uint64
			var offs []int64
			st, err := ReadXML(strings.NewReader(tt.in), func(rec *Record, off int64) error {
				ids = append(ids, rec.RecordID)
				return nil
			}, func(off int64, err error) { offs = append(offs, off) })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids, tt.ids) || !reflect.DeepEqual(offs, tt.problems) {
				t.Errorf("records %v problems at %v; want %v at %v", ids, offs, tt.ids, tt.problems)
			}
			if st.Skipped != len(tt.problems) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
