package evtx

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// records returns every record of b, rendered as XML, with its WFP result.
type fixtureRecord struct {
	id   uint64
	xml  []byte
	wfp  bool
	rec  evtlog.Record
	werr error
}

func allRecords(t *testing.T, b []byte) []fixtureRecord {
	t.Helper()
	f, err := OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Problems) > 0 {
		t.Fatalf("problems: %v", f.Problems)
	}
	var out []fixtureRecord
	err = Each(context.Background(), f, Options{}, func(c *Chunk) []fixtureRecord {
		var rs []fixtureRecord
		c.Records(func(r *Record) bool {
			var fr fixtureRecord
			fr.id = r.ID
			var err error
			if fr.xml, err = r.AppendXML(nil); err != nil {
				t.Errorf("record %d: %v", r.ID, err)
			}
			fr.wfp, fr.werr = r.WFP(&fr.rec)
			fr.rec.Data = append([]evtlog.Field(nil), fr.rec.Data...)
			rs = append(rs, fr)
			return true
		})
		if len(c.Problems()) > 0 {
			t.Errorf("chunk problems: %v", c.Problems())
		}
		return rs
	}, func(c *Chunk, rs []fixtureRecord) error { out = append(out, rs...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFixtureValueTypes(t *testing.T) {
	rs := allRecords(t, fixtureFile())
	if len(rs) != 4 {
		t.Fatalf("%d records, want 4", len(rs))
	}
	var ev struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"EventData>Data"`
		Refs  string `xml:"EventData>Refs"`
		Inner struct {
			Kind    string  `xml:"Kind,attr"`
			Missing *string `xml:"Missing,attr"`
			Value   string  `xml:",chardata"`
		} `xml:"EventData>Nested>Inner"`
	}
	if err := xml.Unmarshal(rs[3].xml, &ev); err != nil {
		t.Fatalf("%v\n%s", err, rs[3].xml)
	}
	if len(ev.Data) != len(typeNames) {
		t.Fatalf("%d Data items, want %d", len(ev.Data), len(typeNames))
	}
	for i, d := range ev.Data {
		if d.Name != typeNames[i] || d.Value != typesWant[i] {
			t.Errorf("%s = %q, want %q", d.Name, d.Value, typesWant[i])
		}
	}
	if ev.Refs != "a\u263a&x]]>y" {
		t.Errorf("references and CDATA: %q", ev.Refs)
	}
	if ev.Inner.Kind != "nested" || ev.Inner.Value != "7" || ev.Inner.Missing != nil {
		t.Errorf("nested BinXML: %+v (an optional substitution with no value leaves the attribute out)", ev.Inner)
	}
	if rs[3].wfp || rs[3].werr != nil {
		t.Errorf("types record: WFP %v %v", rs[3].wfp, rs[3].werr)
	}
}

func TestFixtureWFP(t *testing.T) {
	rs := allRecords(t, fixtureFile())
	for i, want := range []bool{true, true, false, false} {
		r := rs[i]
		if r.werr != nil || r.wfp != want {
			t.Fatalf("record %d: WFP = %v, %v; want %v", r.id, r.wfp, r.werr, want)
		}
		if !want {
			continue
		}
		var slow evtlog.Record
		if err := parseXMLForTest(r.xml, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.rec, slow) {
			t.Errorf("record %d:\nfast %+v\nxml  %+v", r.id, r.rec, slow)
		}
		if u := evtlog.UnknownFields(&r.rec); len(u) > 0 {
			t.Errorf("unknown fields %v", u)
		}
		var e event.Event
		if err := evtlog.Decode(&r.rec, &e); err != nil {
			t.Errorf("decode: %v", err)
		}
		if e.Verdict != event.VerdictBlock || e.FilterOrigin != "Query User Default" || e.RemotePort != 443 ||
			e.LocalPort != 50123 || e.InterfaceIndex != 12 || e.PID != 4 || e.RecordID != 4242 {
			t.Errorf("decoded %+v", e)
		}
	}
	if rs[0].rec.Computer != `host<&>'"` {
		t.Errorf("computer %q", rs[0].rec.Computer)
	}
}

// TestGolden compares the XML and JSON dumps of the fixture with
// testdata/fixture.{xml,json}; -update rewrites them.
func TestGolden(t *testing.T) {
	b := fixtureFile()
	for _, g := range []struct {
		name   string
		format DumpFormat
	}{{"fixture.xml", DumpXML}, {"fixture.json", DumpJSON}} {
		var out bytes.Buffer
		if _, err := Dump(context.Background(), bytes.NewReader(b), int64(len(b)), &out, DumpOptions{Format: g.format}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", g.name)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", g.name, out.Bytes())
		}
	}
}

func TestValueFormatting(t *testing.T) {
	tests := []struct {
		v    value
		mode int
		want string
	}{
		{vStr("a<b>&'\""), escText, `a&lt;b&gt;&amp;'"`},
		{vStr("a<b>&'\""), escAttr, `a&lt;b&gt;&amp;&apos;&quot;`},
		{vStr("tab\there"), escAttr, "tab&#9;here"},
		{vRaw(typeString, 1, 0, 'x', 0), escText, "\ufffdx"},              // control character
		{vRaw(typeString, 0x3d, 0xd8, 0x00, 0xde), escText, "\U0001F600"}, // surrogate pair
		{vRaw(typeString, 0x00, 0xdc, 'x', 0), escText, "\ufffdx"},        // lone low surrogate
		{vRaw(typeSID, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), escText, "S-1-0-0"},
		{vRaw(typeSID, 1, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc), escText, "S-1-0x123456789ABC"},
		{vRaw(typeSID, 1, 5, 0), escText, "010500"}, // short: hex
		{vRaw(typeGUID, 1, 2, 3), escText, "010203"},
		{vRaw(typeBool, 0, 0, 0, 0), escText, "false"},
		{vRaw(typeHexInt32, 0, 0, 0, 0), escText, "0x0"},
		{vRaw(typeUint32, 1), escText, "01"}, // short: hex
		{vRaw(typeSID|typeArray, append(append([]byte{}, sidBytes...), 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0)...), escText, "S-1-5-21-1-2-3-500,S-1-1-0"},
		{vRaw(typeFiletime|typeArray, 0, 0, 0, 0, 0, 0, 0, 0), escText, "1601-01-01T00:00:00.0000000Z"},
		{vRaw(typeAnsi|typeArray, 'a', 0, 'b', 0), escText, "a,b"},
		{vRaw(typeEvtHandle, 1, 2), escText, "0102"},
		{vNull(), escText, ""},
	}
	for _, tc := range tests {
		if got := string(appendValue(nil, tc.v, tc.mode)); got != tc.want {
			t.Errorf("type 0x%02x % x: %q, want %q", tc.v.typ, tc.v.b, got, tc.want)
		}
	}
}

func TestXMLName(t *testing.T) {
	for in, want := range map[string]string{
		"Event": "Event", "xmlns:auto-ns2": "xmlns:auto-ns2", "1abc": "_abc", "a b": "a_b",
		"": "_", ":x": "_x", "a:": "a_", "a:b:c": "a:b_c", "é": "_",
	} {
		if got := xmlName(utf16le(in)); got != want {
			t.Errorf("xmlName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWFPIf checks that WFPIf rejects, without decoding, the WFP events
// its want function rejects, and is WFP otherwise.
func TestWFPIf(t *testing.T) {
	f, err := OpenBytes(fixtureFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range f.chunks {
		c := f.loadChunk(ref, false)
		c.Records(func(r *Record) bool {
			var all, none, some evtlog.Record
			okAll, err1 := r.WFP(&all)
			okNone, err2 := r.WFPIf(&none, func(int) bool { return false })
			okSome, err3 := r.WFPIf(&some, func(id int) bool { return id == 5157 })
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("record %d: %v %v %v", r.ID, err1, err2, err3)
			}
			if okNone || none.EventID != 0 || len(none.Data) != 0 {
				t.Errorf("record %d: WFPIf(reject all) = %v with %+v", r.ID, okNone, none)
			}
			if okSome != okAll || !reflect.DeepEqual(some, all) {
				t.Errorf("record %d: WFPIf(5157) = %v %+v, WFP = %v %+v", r.ID, okSome, some, okAll, all)
			}
			return true
		})
		c.Release()
	}
}
