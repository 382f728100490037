package evtx

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// sampleCounts are the per-event-id counts of ../shared/samples/SOURCES.md.
var sampleCounts = []struct {
	file  string
	total int
	ids   map[int]int
	wfp   map[int]int
}{
	{"evtx/EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx", 101,
		map[int]int{1102: 1, 4624: 5, 4648: 3, 4672: 3, 4688: 17, 5156: 63, 5158: 9},
		map[int]int{5156: 63, 5158: 9}},
	{"evtx/EVTX-to-MITRE-Attack_ID4688-5447-4950-Firewall_disabled_command.evtx", 998,
		map[int]int{1102: 1, 4656: 1, 4670: 1, 4688: 5, 4950: 6, 5447: 984},
		map[int]int{}},
	{"evtx/omerbenamram-evtx_Security_short_selected.evtx", 7,
		map[int]int{4611: 1, 4625: 1, 4673: 1, 4776: 1, 5152: 2, 5157: 1},
		map[int]int{5152: 2, 5157: 1}},
	{"evtx/omerbenamram-evtx_security.evtx", 2261,
		map[int]int{1100: 36, 1101: 1, 4608: 40, 4616: 26, 4624: 583, 4634: 11, 4647: 36, 4648: 45,
			4672: 459, 4720: 2, 4722: 2, 4723: 1, 4724: 1, 4728: 2, 4731: 7, 4732: 6, 4733: 1, 4735: 36,
			4738: 10, 4739: 3, 4781: 14, 4902: 40, 4904: 31, 4905: 31, 4907: 620, 5024: 4, 5033: 4,
			5056: 1, 5058: 102, 5061: 102, 5890: 4},
		map[int]int{}},
}

func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(samples.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xmlEvent is what the tests read back from rendered XML.
type xmlEvent struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
		}
		EventID       int
		Version       int
		Keywords      string
		EventRecordID uint64
		TimeCreated   struct {
			SystemTime string `xml:"SystemTime,attr"`
		}
		Computer string
	}
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		}
	}
}

func TestSampleCounts(t *testing.T) {
	for _, s := range sampleCounts {
		t.Run(s.file[5:], func(t *testing.T) {
			b := readSample(t, s.file)
			for _, workers := range []int{1, 3} {
				f, err := OpenBytes(b)
				if err != nil {
					t.Fatal(err)
				}
				ids := map[int]int{}
				wfp := map[int]int{}
				total := 0
				var lastID uint64
				err = Each(context.Background(), f, Options{Workers: workers}, func(c *Chunk) []byte {
					var out []byte
					var rec evtlog.Record
					c.Records(func(r *Record) bool {
						x, err := r.AppendXML(nil)
						if err != nil {
							t.Errorf("record %d: %v", r.ID, err)
							return true
						}
						out = append(out, x...)
						out = append(out, '\n')
						ok, err := r.WFP(&rec)
						if err != nil {
							t.Errorf("record %d: WFP: %v", r.ID, err)
						}
						if ok {
							if u := evtlog.UnknownFields(&rec); len(u) > 0 {
								t.Errorf("record %d: unknown EventData fields %v", r.ID, u)
							}
							out = append(out, "WFP\n"...)
						}
						return true
					})
					if len(c.Problems()) > 0 {
						t.Errorf("chunk %d: %v", c.Index, c.Problems())
					}
					return out
				}, func(c *Chunk, out []byte) error {
					dec := xml.NewDecoder(bytes.NewReader(out))
					var last xmlEvent
					for {
						var ev xmlEvent
						err := dec.Decode(&ev)
						if err == io.EOF {
							break
						}
						if err != nil {
							t.Fatalf("chunk %d: rendered XML does not parse: %v", c.Index, err)
						}
						if ev.System.EventRecordID <= lastID {
							t.Errorf("record %d after %d: not in record order", ev.System.EventRecordID, lastID)
						}
						lastID = ev.System.EventRecordID
						ids[ev.System.EventID]++
						total++
						last = ev
					}
					_ = last
					wfp = countWFP(out, wfp)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if total != s.total {
					t.Errorf("workers %d: %d records, SOURCES.md says %d", workers, total, s.total)
				}
				if !reflect.DeepEqual(ids, s.ids) {
					t.Errorf("workers %d: event ids %v, SOURCES.md says %v", workers, ids, s.ids)
				}
				if !reflect.DeepEqual(wfp, s.wfp) {
					t.Errorf("workers %d: WFP ids %v, SOURCES.md says %v", workers, wfp, s.wfp)
				}
			}
		})
	}
}

// countWFP counts, in out, the event ids of the <Event> lines followed by a
// "WFP" line.
func countWFP(out []byte, m map[int]int) map[int]int {
	lines := strings.Split(string(out), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if lines[i+1] != "WFP" {
			continue
		}
		var ev xmlEvent
		if xml.Unmarshal([]byte(lines[i]), &ev) == nil {
			m[ev.System.EventID]++
		}
	}
	return m
}

// parseXMLForTest reads a rendered <Event> with the foundation's decoder,
// evtlog.ParseEventXML, and checks it against an independent reading with
// encoding/xml.
func parseXMLForTest(b []byte, rec *evtlog.Record) error {
	if err := evtlog.ParseEventXML(b, rec); err != nil {
		return err
	}
	var other evtlog.Record
	if err := parseStdXML(b, &other); err != nil {
		return err
	}
	// encoding/xml normalizes line ends as XML says; ParseEventXML keeps
	// the text as Windows wrote it.
	mine := *rec
	mine.Data = append([]evtlog.Field(nil), rec.Data...)
	for i := range mine.Data {
		mine.Data[i].Value = strings.ReplaceAll(mine.Data[i].Value, "\r\n", "\n")
	}
	if !reflect.DeepEqual(mine, other) {
		return fmt.Errorf("ParseEventXML and encoding/xml disagree:\n%+v\n%+v", *rec, other)
	}
	return nil
}

// parseStdXML reads a rendered <Event> into a Record with encoding/xml.
func parseStdXML(b []byte, rec *evtlog.Record) error {
	var ev xmlEvent
	if err := xml.Unmarshal(b, &ev); err != nil {
		return err
	}
	rec.Reset()
	rec.Provider = ev.System.Provider.Name
	rec.EventID = ev.System.EventID
	rec.Version = ev.System.Version
	rec.RecordID = ev.System.EventRecordID
	rec.Computer = ev.System.Computer
	if k := strings.TrimPrefix(ev.System.Keywords, "0x"); k != "" {
		var v uint64
		for _, c := range k {
			v = v<<4 | uint64(strings.IndexRune("0123456789abcdef", c|0x20))
		}
		rec.Keywords = v
	}
	tm, err := parseTime(ev.System.TimeCreated.SystemTime)
	if err != nil {
		return err
	}
	rec.Time = tm
	for _, d := range ev.EventData.Data {
		rec.Data = append(rec.Data, evtlog.Field{Name: d.Name, Value: d.Value})
	}
	return nil
}

// TestFastPathEqualsXML checks that, for every WFP record of the samples,
// the fast path and the full XML render parsed back decode to identical
// events.
func TestFastPathEqualsXML(t *testing.T) {
	n := 0
	for _, s := range sampleCounts {
		b := readSample(t, s.file)
		f, err := OpenBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		err = Each(context.Background(), f, Options{Workers: 1}, func(c *Chunk) int {
			var fast, slow evtlog.Record
			c.Records(func(r *Record) bool {
				ok, err := r.WFP(&fast)
				if err != nil {
					t.Errorf("%s record %d: %v", s.file, r.ID, err)
					return true
				}
				x, err := r.AppendXML(nil)
				if err != nil {
					t.Errorf("%s record %d: %v", s.file, r.ID, err)
					return true
				}
				if err := parseXMLForTest(x, &slow); err != nil {
					t.Errorf("%s record %d: rendered XML: %v\n%s", s.file, r.ID, err, x)
					return true
				}
				isWFP := event.IsWFPAuditID(slow.EventID) && slow.Provider == evtlog.ProviderName
				if ok != isWFP {
					t.Errorf("%s record %d: fast path says WFP=%v, XML says %v", s.file, r.ID, ok, isWFP)
					return true
				}
				if !ok {
					return true
				}
				n++
				if !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s record %d:\nfast %+v\nxml  %+v", s.file, r.ID, fast, slow)
				}
				var e1, e2 event.Event
				err1, err2 := evtlog.Decode(&fast, &e1), evtlog.Decode(&slow, &e2)
				if !errors.Is(err1, err2) && (err1 == nil || err2 == nil || err1.Error() != err2.Error()) {
					t.Errorf("%s record %d: decode errors differ: %v / %v", s.file, r.ID, err1, err2)
				}
				if err1 != nil {
					t.Errorf("%s record %d: decode: %v", s.file, r.ID, err1)
				}
				j1, j2 := e1.AppendJSON(nil), e2.AppendJSON(nil)
				if !bytes.Equal(j1, j2) || !reflect.DeepEqual(e1, e2) {
					t.Errorf("%s record %d: events differ:\nfast %s\nxml  %s", s.file, r.ID, j1, j2)
				}
				return true
			})
			return 0
		}, func(*Chunk, int) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d WFP records compared", n)
}

func TestJSONValid(t *testing.T) {
	for _, s := range sampleCounts {
		b := readSample(t, s.file)
		var out bytes.Buffer
		res, err := Dump(context.Background(), bytes.NewReader(b), int64(len(b)), &out, DumpOptions{Format: DumpJSON})
		if err != nil {
			t.Fatal(err)
		}
		if res.Records != s.total || res.Skipped != 0 {
			t.Errorf("%s: %+v", s.file, res)
		}
		for i, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
			var v map[string]any
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("%s line %d: %v\n%s", s.file, i+1, err, line)
			}
			if _, ok := v["Event"]; !ok {
				t.Fatalf("%s line %d: no Event member", s.file, i+1)
			}
		}
	}
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// TestTemplateCacheExact checks that sharing compiled templates across
// chunks changes nothing in the output.
func TestTemplateCacheExact(t *testing.T) {
	for _, s := range sampleCounts {
		b := readSample(t, s.file)
		var outs [2]bytes.Buffer
		for i, off := range []bool{false, true} {
			noTemplateCache = off
			if _, err := Dump(context.Background(), bytes.NewReader(b), int64(len(b)), &outs[i], DumpOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		noTemplateCache = false
		if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
			t.Errorf("%s: output differs with the template cache", s.file)
		}
	}
}
