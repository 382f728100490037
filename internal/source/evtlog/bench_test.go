package evtlog

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// BenchmarkDecode5157 measures decode + classify of one 5157 event from its
// XML, with the hand-written parser and, in the same run, with
// encoding/xml. The target is at least 150,000 events/s on one
// core for the first.
func BenchmarkDecode5157(b *testing.B) {
	var xml5157 []byte
	for _, ev := range fixtureEvents(b) {
		if bytes.Contains(ev, []byte("<EventRecordID>1010<")) {
			xml5157 = ev
		}
	}
	if xml5157 == nil {
		b.Fatal("no 5157 fixture")
	}
	for _, p := range []struct {
		name  string
		parse func([]byte, *Record) error
	}{
		{"wfpwatch", ParseEventXML},
		{"encoding-xml", parseEventXMLStd},
	} {
		b.Run(p.name, func(b *testing.B) {
			var rec Record
			var e event.Event
			b.SetBytes(int64(len(xml5157)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.parse(xml5157, &rec); err != nil {
					b.Fatal(err)
				}
				if err := Decode(&rec, &e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkReadXML measures the stream reader over a large wevtutil-style
// stream of the fixture's events.
func BenchmarkReadXML(b *testing.B) {
	one := readFixture(b)
	in := bytes.Repeat(one, 200)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		n := 0
		var e event.Event
		_, err := ReadXML(bytes.NewReader(in), func(rec *Record, off int64) error {
			Decode(rec, &e)
			n++
			return nil
		}, func(int64, error) {})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(fixtureEvents(b))*200)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadXMLUnclosed measures the stream reader on garbage: "<Event "
// start tags that never close (the hostile-input recipe). Time must grow
// linearly with the size, not with its square.
func BenchmarkReadXMLUnclosed(b *testing.B) {
	for _, size := range []int{1 << 20, 4<<20 + 100<<10, 8 << 20} {
		in := unclosedEvents(size)
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := ReadXML(bytes.NewReader(in), func(*Record, int64) error { return nil }, func(int64, error) {}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
		})
	}
}
