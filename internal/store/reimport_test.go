package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// jsonNoRecordNumber is an NXLog-style export whose lines carry no
// RecordNumber: they are identified by their content. Lines 2 and 3 are
// the same record twice (two identical drops in the same millisecond):
// both are kept.
const jsonNoRecordNumber = `{"@timestamp":"2024-05-02T10:00:00.123Z","EventTime":"2024-05-02 10:00:00.123","Hostname":"WS1","EventID":5152,"ProcessID":"0","Application":"-","Direction":"%%14592","SourceAddress":"198.51.100.7","SourcePort":"5353","DestAddress":"224.0.0.251","DestPort":"5353","Protocol":"17","FilterRTID":"0","LayerName":"%%14597","LayerRTID":"13"}
{"@timestamp":"2024-05-02T10:00:01.500Z","EventTime":"2024-05-02 10:00:01.500","Hostname":"WS1","EventID":5157,"ProcessID":"4","Application":"System","Direction":"%%14592","SourceAddress":"198.51.100.7","SourcePort":"50123","DestAddress":"192.0.2.10","DestPort":"445","Protocol":"6","FilterRTID":"68123","LayerName":"%%14610","LayerRTID":"44","FilterOrigin":"Default Inbound"}
{"@timestamp":"2024-05-02T10:00:01.500Z","EventTime":"2024-05-02 10:00:01.500","Hostname":"WS1","EventID":5157,"ProcessID":"4","Application":"System","Direction":"%%14592","SourceAddress":"198.51.100.7","SourcePort":"50123","DestAddress":"192.0.2.10","DestPort":"445","Protocol":"6","FilterRTID":"68123","LayerName":"%%14610","LayerRTID":"44","FilterOrigin":"Default Inbound"}
`

// pfirewallLog has the same line twice (two drops in one second): both
// are kept, told apart by their position.
const pfirewallLog = `#Version: 1.5
#Software: Microsoft Windows Firewall
#Time Format: Local
#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path

2024-05-02 10:00:00 DROP UDP 192.168.1.5 239.255.255.250 1900 1900 0 - - - - - - - RECEIVE
2024-05-02 10:00:00 DROP UDP 192.168.1.5 239.255.255.250 1900 1900 0 - - - - - - - RECEIVE
2024-05-02 10:00:02 DROP TCP 203.0.113.9 192.168.1.10 51515 3389 52 S 12345 0 64240 - - - RECEIVE
`

// netEvents is a single net event (no record id).
const netEvents = `<netEvent><header><timeStamp>2020-03-30T23:53:09.720Z</timeStamp><ipProtocol>6</ipProtocol>
<localAddrV4>10.0.0.2</localAddrV4><remoteAddrV4>10.0.0.9</remoteAddrV4><localPort>50000</localPort><remotePort>443</remotePort></header>
<type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type><classifyDrop><filterId>7</filterId><layerId>48</layerId></classifyDrop></netEvent>
`

// importThrice writes data as a plain file, a renamed copy and a gzipped
// copy, imports each into one database through ingest and the Writer (as
// analyze --db does), and returns how many events were read each time,
// how many each import skipped, and how many the database holds. With
// strict, a problem reading the input fails the test (real samples have
// a few unreadable lines).
func importThrice(t *testing.T, data []byte, strict bool) (read []int, skipped []int64, stored int64) {
	t.Helper()
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	files := []struct {
		name string
		data []byte
	}{{"export.log", data}, {"renamed-copy.txt", data}, {"archive.gz", gz.Bytes()}}
	db, _ := openTemp(t, Options{MaxAge: -1})
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		w := db.NewWriter(WriterOptions{PruneInterval: -1})
		n := 0
		var probs []string
		_, err := ingest.Walk(context.Background(), []string{path}, false, func(e *event.Event) error {
			n++
			return w.Write(e)
		}, func(p *ingest.Problem) { probs = append(probs, p.Error()) })
		if err != nil || strict && len(probs) != 0 {
			t.Fatalf("%s: %v %q", f.name, err, probs)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		read, skipped = append(read, n), append(skipped, w.Skipped())
	}
	stored, err := db.Count(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return read, skipped, stored
}

func TestReimportRenamedAndGzipped(t *testing.T) {
	for _, c := range []struct {
		name string
		data string
		want int
	}{
		{"json without RecordNumber", jsonNoRecordNumber, 3},
		{"pfirewall.log", pfirewallLog, 3},
		{"pfirewall.log with CRLF", strings.ReplaceAll(pfirewallLog, "\n", "\r\n"), 3},
		{"net event XML", netEvents, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			read, skipped, stored := importThrice(t, []byte(c.data), true)
			if stored != int64(c.want) {
				t.Errorf("stored %d events, want one copy of %d", stored, c.want)
			}
			for i := range read {
				want := int64(0)
				if i > 0 {
					want = int64(read[i])
				}
				if read[i] != c.want || skipped[i] != want {
					t.Errorf("import %d: read %d, skipped %d; want %d, %d", i+1, read[i], skipped[i], c.want, want)
				}
			}
		})
	}
}

// TestReimportSamples imports real samples three times: a JSON export and
// a pfirewall.log.
func TestReimportSamples(t *testing.T) {
	for _, name := range []string{
		"json/cmd_dumping_ntds_dit_file_ntdsutil.wfp-only.jsonl",
		"pfirewall/rafaelnett-CYBER-DEFENSE-OPERATIONS_Lab_03_pfirewall.log",
	} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(samples.Path(t, name))
			if err != nil {
				t.Fatal(err)
			}
			read, skipped, stored := importThrice(t, data, false)
			if stored != int64(read[0]) || skipped[0] != 0 || skipped[1] != int64(read[1]) || skipped[2] != int64(read[2]) {
				t.Errorf("read %v, skipped %v, stored %d", read, skipped, stored)
			}
			t.Logf("read %v events, skipped %v, stored %d", read, skipped, stored)
		})
	}
}
