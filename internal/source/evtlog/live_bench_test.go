package evtlog

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// renderedXML writes rec the way EvtRender(EvtRenderEventXml) renders a
// Security event: the full System block and the EventData items.
func renderedXML(rec *Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='%s' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>%d</EventID><Version>%d</Version><Level>0</Level><Task>12810</Task><Opcode>0</Opcode><Keywords>0x%x</Keywords><TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='80'/><Channel>Security</Channel><Computer>%s</Computer><Security/></System><EventData>",
		rec.Provider, rec.EventID, rec.Version, rec.Keywords, rec.Time.Format("2006-01-02T15:04:05.0000000Z"), rec.RecordID, rec.Computer)
	for _, f := range rec.Data {
		fmt.Fprintf(&b, "<Data Name='%s'>%s</Data>", f.Name, f.Value)
	}
	b.WriteString("</EventData></Event>")
	return b.String()
}

func TestRenderedXMLAndValuesAgree(t *testing.T) {
	want := sampleRecord()
	u := utf16.Encode([]rune(renderedXML(want)))
	var x, v Record
	if err := parseRenderedXML(appendUTF16(nil, u), &x); err != nil {
		t.Fatal(err)
	}
	if err := recordFromValues(simulateValues(want), len(ValuePaths), &v, &valueScratch{}); err != nil {
		t.Fatal(err)
	}
	var ex, ev event.Event
	if err := Decode(&x, &ex); err != nil {
		t.Fatal(err)
	}
	if err := Decode(&v, &ev); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ex) != fmt.Sprint(ev) {
		t.Fatalf("XML and values renders decode differently:\n%+v\n%+v", ex, ev)
	}
}

// BenchmarkLiveRender compares the two render paths of the live
// subscription, from what EvtRender hands back to a decoded, classified
// event: "xml" is the UTF-16 XML → UTF-8 → ParseEventXML → Decode; "values"
// is the EVT_VARIANT buffer of the ValuePaths render context →
// recordFromValues → Decode. The EvtRender call itself is not included (it
// runs in the event log service's client library on Windows); the buffers
// are simulated byte for byte.
func BenchmarkLiveRender(b *testing.B) {
	rec := sampleRecord()
	xml16 := utf16.Encode([]rune(renderedXML(rec)))
	vals := simulateValues(rec)
	b.Run("xml", func(b *testing.B) {
		var r Record
		var e event.Event
		var u8 []byte
		b.SetBytes(int64(2 * len(xml16)))
		b.ReportAllocs()
		for b.Loop() {
			u8 = appendUTF16(u8[:0], xml16)
			if err := parseRenderedXML(u8, &r); err != nil {
				b.Fatal(err)
			}
			if err := Decode(&r, &e); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("values", func(b *testing.B) {
		var r Record
		var e event.Event
		var sc valueScratch
		b.SetBytes(int64(len(vals)))
		b.ReportAllocs()
		for b.Loop() {
			if err := recordFromValues(vals, len(ValuePaths), &r, &sc); err != nil {
				b.Fatal(err)
			}
			if err := Decode(&r, &e); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
