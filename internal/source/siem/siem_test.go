package siem

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

var update = flag.Bool("update", false, "rewrite golden files")

// decodeAll reads JSON lines and decodes each record with evtlog.Decode,
// as the ingest format does.
func decodeAll(t testing.TB, r *bytes.Reader) ([]event.Event, []string, Stats, error) {
	var evs []event.Event
	var probs []string
	var ev event.Event
	st, err := Read(context.Background(), r, func(rec *evtlog.Record, line uint64) error {
		err := evtlog.Decode(rec, &ev)
		if errors.Is(err, evtlog.ErrNotWFP) {
			probs = append(probs, fmt.Sprintf("line %d: skipped: %v", line, err))
			return nil
		}
		if err != nil {
			probs = append(probs, fmt.Sprintf("line %d: %v", line, err))
		}
		evs = append(evs, ev)
		return nil
	}, func(le *LineError) { probs = append(probs, le.Error()) })
	return evs, probs, st, err
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			evs, probs, st, err := decodeAll(t, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			for i := range evs {
				out.Write(evs[i].AppendJSON(nil))
				out.WriteByte('\n')
			}
			for _, p := range probs {
				fmt.Fprintf(&out, "problem: %s\n", p)
			}
			fmt.Fprintf(&out, "stats: lines %d records %d skipped %d bad %d winlogbeat %d winlogbeat6 %d flat %d\n",
				st.Lines, st.Records, st.Skipped, st.Bad, st.Shapes[ShapeWinlogbeat], st.Shapes[ShapeWinlogbeat6], st.Shapes[ShapeFlat])
			golden := strings.TrimSuffix(f, ".jsonl") + ".golden"
			if *update {
				os.WriteFile(golden, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update and check the diff):\n%s", golden, out.String())
			}
		})
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		line           string
		shape          Shape
		id             int
		computer, data string
		rid            uint64
		time           string
	}{
		{`{"@timestamp":"2024-05-02T10:00:00Z","winlog":{"event_id":"5157","record_id":"9","computer_name":"A","event_data":{"DestPort":"443"}}}`,
			ShapeWinlogbeat, 5157, "A", "DestPort=443", 9, "2024-05-02T10:00:00Z"},
		{`{"@timestamp":"2024-05-02T10:00:00Z","event":{"code":"5152"},"host":{"name":"h"},"winlog":{"event_data":{"DestPort":"1"}}}`,
			ShapeWinlogbeat, 5152, "h", "DestPort=1", 0, "2024-05-02T10:00:00Z"},
		{`{"@timestamp":"2019-03-19T17:13:36.078Z","event_id":5156,"computer_name":"HFDC01","record_number":"7766659","event_data":{"ProcessID":"336"}}`,
			ShapeWinlogbeat6, 5156, "HFDC01", "ProcessID=336", 7766659, "2019-03-19T17:13:36.078Z"},
		{`{"EventTime":"2020-09-18 14:59:58","EventReceivedTime":"2020-09-18 15:00:00","@timestamp":"2020-09-18T19:00:00.711Z","EventID":5158,"Hostname":"W5","RecordNumber":317591,"ProcessId":"3192","Message":"m","ThreadID":1}`,
			ShapeFlat, 5158, "W5", "ProcessId=3192", 317591, "2020-09-18T18:59:58Z"},
		{`{"TimeCreated":"2023-07-19T09:02:18.300Z","EventID":5156,"Hostname":"DC01","ProcessID":"2348","Keywords":"0x8020000000000000"}`,
			ShapeFlat, 5156, "DC01", "ProcessID=2348", 0, "2023-07-19T09:02:18.3Z"},
		{`{"EventID":5156,"EventData":{"ProcessID":"7"},"EventTime":"2024-01-01 00:00:00"}`,
			ShapeFlat, 5156, "", "ProcessID=7", 0, "2024-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		var d Decoder
		var rec evtlog.Record
		shape, err := d.Record([]byte(tt.line), &rec)
		if err != nil || shape != tt.shape {
			t.Errorf("%s: shape %v err %v", tt.line, shape, err)
			continue
		}
		var data []string
		for _, f := range rec.Data {
			data = append(data, f.Name+"="+f.Value)
		}
		if rec.EventID != tt.id || rec.Computer != tt.computer || strings.Join(data, ",") != tt.data || rec.RecordID != tt.rid || rec.Time.Format(time.RFC3339Nano) != tt.time {
			t.Errorf("%s:\n got id %d computer %q data %q rid %d time %s", tt.line, rec.EventID, rec.Computer, data, rec.RecordID, rec.Time.Format(time.RFC3339Nano))
		}
	}
}

func TestLineErrors(t *testing.T) {
	for _, line := range []string{`{"foo":1}`, `[1,2]`, `{"EventID":5157,`, `{"EventID":5157} x`, `{"a":tru}`, `{"a":"\u12"}`} {
		var d Decoder
		var rec evtlog.Record
		if _, err := d.Record([]byte(line), &rec); err == nil || errors.Is(err, ErrSkipped) {
			t.Errorf("%s: err %v", line, err)
		}
	}
}

func TestGiveUp(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 100; i++ {
		b.WriteString(`{"name":"not an event","n":1}` + "\n")
	}
	bad := 0
	_, err := Read(context.Background(), &b, func(*evtlog.Record, uint64) error { return nil }, func(*LineError) { bad++ })
	if err == nil || bad != giveUpAfter {
		t.Errorf("err %v after %d problems", err, bad)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`a\\b`:           `a\b`,
		`\u00e9\n\t\"`:   "é\n\t\"",
		`\ud83d\ude00`:   "😀",
		`\ud83d`:         "\uFFFD",
		`\x`:             `\x`,
		`trailing\`:      `trailing\`,
		`\/\b\f\r`:       "/\b\f\r",
		`\u00zz`:         `\u00zz`,
		`\ud83d\u0041 z`: "\uFFFDA z",
	} {
		if got := string(unescape([]byte(in))); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSamplesTimes checks the flat NXLog time recovery on real lines: the
// EventTime of the Mordor exports is the shipping host's local time.
func TestSamplesTimes(t *testing.T) {
	data, err := os.ReadFile(samples.Path(t, "json/covenant_dcom_registerxll.wfp-only.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	line := data[:bytes.IndexByte(data, '\n')]
	var d Decoder
	var rec evtlog.Record
	if _, err := d.Record(line, &rec); err != nil {
		t.Fatal(err)
	}
	// EventTime 14:59:58 local; received 15:00:00 local = 19:00:00.711Z.
	if got := rec.Time.Format(time.RFC3339); got != "2020-09-18T18:59:58Z" {
		t.Errorf("time %s", got)
	}
	if u := evtlog.UnknownFields(&rec); len(u) != 0 {
		t.Errorf("metadata taken for EventData: %v", u)
	}
}

// TestSamplesUnknownFields checks that no shipper metadata is taken for
// EventData in any of the real exports.
func TestSamplesUnknownFields(t *testing.T) {
	for _, f := range []string{
		"json/cmd_dumping_ntds_dit_file_ntdsutil.wfp-only.jsonl",
		"json/covenant_dcom_registerxll.wfp-only.jsonl",
		"json/covenant_sharpsc_query_dcerpc_smb_svcctl.wfp-only.jsonl",
		"json/empire_mimikatz_opth.wfp-only.jsonl",
	} {
		data, err := os.ReadFile(samples.Path(t, f))
		if err != nil {
			t.Fatal(err)
		}
		unknown := map[string]int{}
		_, err = Read(context.Background(), bytes.NewReader(data), func(rec *evtlog.Record, line uint64) error {
			for _, u := range evtlog.UnknownFields(rec) {
				unknown[u]++
			}
			if rec.Time.IsZero() || rec.Computer == "" || rec.RecordID == 0 && !strings.Contains(f, "ntdsutil") {
				t.Errorf("%s line %d: header %+v", f, line, rec)
			}
			return nil
		}, func(le *LineError) { t.Errorf("%s: %v", f, le) })
		if err != nil || len(unknown) != 0 {
			t.Errorf("%s: err %v unknown fields %v", f, err, unknown)
		}
	}
}

// BenchmarkJSONLines measures lines/s over the real mixed export when the
// samples are present (most lines are other event ids, as in a real SIEM
// export), else over synthetic WFP lines.
func BenchmarkJSONLines(b *testing.B) {
	var data []byte
	if d, ok := samples.Find(); ok {
		data, _ = os.ReadFile(filepath.Join(d, "json", "covenant_dcom_registerxll.wfp-only.jsonl"))
	}
	if data == nil {
		data, _ = os.ReadFile("testdata/mixed.jsonl")
	}
	for len(data) < 8<<20 {
		data = append(data, data...)
	}
	benchLines(b, data)
}

func benchLines(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var lines uint64
	var ev event.Event
	for i := 0; i < b.N; i++ {
		st, err := Read(context.Background(), bytes.NewReader(data), func(rec *evtlog.Record, _ uint64) error {
			evtlog.Decode(rec, &ev)
			return nil
		}, func(*LineError) {})
		if err != nil {
			b.Fatal(err)
		}
		lines += st.Lines
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(lines)/cpu.Seconds(), "lines/cpu-s")
	}
}

func FuzzRecord(f *testing.F) {
	if data, err := os.ReadFile("testdata/mixed.jsonl"); err == nil {
		for _, l := range bytes.Split(data, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"winlog":{"event_id":5157,"event_data":{"A":"\ud800\udc00"}}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var d Decoder
		var rec evtlog.Record
		shape, err := d.Record(line, &rec)
		if err == nil {
			if shape == ShapeUnknown || !event.IsWFPAuditID(rec.EventID) {
				t.Fatalf("accepted %v id %d", shape, rec.EventID)
			}
			var ev event.Event
			evtlog.Decode(&rec, &ev)
			ev.AppendJSON(nil)
		}
	})
}

// BenchmarkJSONLinesExport reads a whole real export (the 22 MB member of
// the ntdsutil archive: 11,184 lines of all event ids, 211 of them WFP).
func BenchmarkJSONLinesExport(b *testing.B) {
	d, ok := samples.Find()
	if !ok {
		b.Skip("samples not found")
	}
	zr, err := zip.OpenReader(filepath.Join(d, "json", "cmd_dumping_ntds_dit_file_ntdsutil.zip"))
	if err != nil {
		b.Skip(err)
	}
	defer zr.Close()
	rc, err := zr.File[0].Open()
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		b.Fatal(err)
	}
	benchLines(b, data)
}
