package ingest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

const (
	fwText = "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n" +
		"#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\n" +
		"2024-03-01 09:15:02 DROP TCP 203.0.113.7 192.0.2.10 51522 3389 52 S 1 0 64240 - - - RECEIVE\n" +
		"2024-03-01 09:15:03 DROP UDP 192.0.2.33 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE\n"
	jsonText = `{"@timestamp":"2024-05-02T10:00:01Z","winlog":{"event_id":5157,"provider_name":"Microsoft-Windows-Security-Auditing","record_id":1,"computer_name":"A","event_data":{"Direction":"%%14593","SourceAddress":"10.0.0.5","SourcePort":"50000","DestAddress":"203.0.113.10","DestPort":"443","Protocol":"6","LayerRTID":"48"}}}` + "\n" +
		`{"@timestamp":"2024-05-02T10:00:02Z","winlog":{"event_id":4624,"event_data":{}}}` + "\n"
	netshText = `<?xml version="1.0"?><netEvents><item><header><timeStamp>2024-05-02T10:11:13Z</timeStamp><ipProtocol>6</ipProtocol></header><type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type><classifyDrop><filterId>5</filterId><layerId>44</layerId></classifyDrop></item></netEvents>`
)

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func zipOf(files map[string][]byte) []byte {
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	for _, name := range sortedKeys(files) {
		f, _ := w.Create(name)
		f.Write(files[name])
	}
	w.Close()
	return out.Bytes()
}

func tarOf(files map[string][]byte) []byte {
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	for _, name := range sortedKeys(files) {
		w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg})
		w.Write(files[name])
	}
	w.Close()
	return out.Bytes()
}

func sortedKeys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	for i := range k {
		for j := i + 1; j < len(k); j++ {
			if k[j] < k[i] {
				k[i], k[j] = k[j], k[i]
			}
		}
	}
	return k
}

func utf16le(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// summary renders Stats as one line per input, with paths relative to dir.
func summary(dir string, st Stats) string {
	var lines []string
	for _, f := range st.Files {
		p := strings.TrimPrefix(filepath.ToSlash(f.Path), filepath.ToSlash(dir)+"/")
		s := fmt.Sprintf("%s [%s] %s events=%d problems=%d", p, strings.Join(f.Container, "+"), f.Format, f.Events, f.Problems)
		if f.Err != nil {
			s += " err"
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

func TestWalk(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a-pfirewall.log"), []byte(fwText))
	write(t, filepath.Join(dir, "b-export.bin"), gz([]byte(jsonText))) // name says nothing
	write(t, filepath.Join(dir, "c-bundle.zip"), zipOf(map[string][]byte{
		"x/netevents.xml": []byte(netshText),
		"y/fw.log.gz":     gz([]byte(fwText)),
		"z/readme.txt":    []byte("hello"),
	}))
	write(t, filepath.Join(dir, "d-logs.tar.gz"), gz(tarOf(map[string][]byte{"e.jsonl": []byte(jsonText)})))
	write(t, filepath.Join(dir, "e-utf16.json"), utf16le(jsonText))
	write(t, filepath.Join(dir, "sub", "f-pfirewall.log"), []byte(fwText))
	write(t, filepath.Join(dir, "sub", "deeper", "g.xml"), []byte(netshText))

	run := func(recursive bool, paths ...string) (Stats, []*Problem, map[event.Source]int) {
		var probs []*Problem
		bySource := map[event.Source]int{}
		st, err := Walk(context.Background(), paths, recursive, func(e *event.Event) error {
			bySource[e.Sources]++
			if e.FilePath == "" {
				t.Errorf("event without FilePath: %+v", e)
			}
			return nil
		}, func(p *Problem) { probs = append(probs, p) })
		if err != nil {
			t.Fatal(err)
		}
		return st, probs, bySource
	}

	st, probs, bySource := run(false, dir)
	want := strings.Join([]string{
		"a-pfirewall.log [] fwlog events=2 problems=0",
		"b-export.bin [gzip] json events=1 problems=0",
		"c-bundle.zip!x/netevents.xml [zip] netsh events=1 problems=0",
		"c-bundle.zip!y/fw.log.gz [zip+gzip] fwlog events=2 problems=0",
		"c-bundle.zip!z/readme.txt [zip]  events=0 problems=1 err",
		"d-logs.tar.gz!e.jsonl [gzip+tar] json events=1 problems=0",
		"e-utf16.json [] json events=1 problems=0",
		"sub [] events=0 problems=1",
	}, "\n")
	// The skipped subdirectory is reported as a problem, not as an input.
	got := summary(dir, st)
	if got != strings.TrimSuffix(want, "\nsub [] events=0 problems=1") {
		t.Errorf("without -r:\n%s\nwant:\n%s", got, want)
	}
	if len(probs) != 2 || !errors.Is(probs[0], ErrUnknownFormat) || !strings.Contains(probs[1].Error(), "use -r") {
		t.Errorf("problems: %v", probs)
	}
	if st.Events != 8 || st.Problems != 2 || bySource[event.SourceFwlog] != 4 || bySource[event.SourceFile] != 4 {
		t.Errorf("events %d problems %d by source %v", st.Events, st.Problems, bySource)
	}

	st, probs, _ = run(true, dir)
	if len(st.Files) != 9 || st.Events != 11 || len(probs) != 1 {
		t.Errorf("with -r: %s\nproblems %v", summary(dir, st), probs)
	}

	// Files and directories mixed, and a missing path.
	st, probs, _ = run(false, filepath.Join(dir, "a-pfirewall.log"), filepath.Join(dir, "sub"), filepath.Join(dir, "missing.log"))
	if len(st.Files) != 3 || st.Events != 4 || len(probs) != 2 || !errors.Is(probs[1].Err, os.ErrNotExist) {
		t.Errorf("mixed: %s\nproblems %v", summary(dir, st), probs)
	}
}

func TestWalkStopsOnEmitError(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.log"), []byte(fwText))
	write(t, filepath.Join(dir, "b.log"), []byte(fwText))
	stop := errors.New("enough")
	n := 0
	st, err := Walk(context.Background(), []string{dir}, false, func(*event.Event) error { n++; return stop }, func(p *Problem) { t.Errorf("problem %v", p) })
	if !errors.Is(err, stop) || n != 1 || len(st.Files) != 1 {
		t.Errorf("err %v n %d files %d", err, n, len(st.Files))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Walk(ctx, []string{dir}, false, func(*event.Event) error { return nil }, func(*Problem) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func TestWalkBrokenContainers(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "bad.gz"), []byte{0x1f, 0x8b, 8, 0, 0, 0})
	write(t, filepath.Join(dir, "bad.zip"), []byte("PK\x03\x04 not really"))
	write(t, filepath.Join(dir, "empty.zip"), zipOf(nil))
	write(t, filepath.Join(dir, "trunc.log.gz"), gz([]byte(fwText))[:40])
	var probs []string
	st, err := Walk(context.Background(), []string{dir}, false, func(*event.Event) error { return nil }, func(p *Problem) { probs = append(probs, p.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 4 {
		t.Errorf("problems:\n%s\n%s", strings.Join(probs, "\n"), summary(dir, st))
	}
}

func TestDetectByContent(t *testing.T) {
	for text, want := range map[string]string{
		fwText:    "fwlog",
		jsonText:  "json",
		netshText: "netsh",
		"2021-06-22 12:19:41 DROP UDP 192.168.178.25 224.0.0.251 5353 5353 73 - - - - - - - RECEIVE\n": "fwlog",
		"<netEvent><header/></netEvent>": "netsh",
		string(utf16le(jsonText)):        "json",
		"\xEF\xBB\xBF" + fwText:          "fwlog",
	} {
		f, ok := Detect([]byte(text))
		if !ok || f.Name != want {
			t.Errorf("Detect(%.40q) = %q %v, want %q", text, f.Name, ok, want)
		}
	}
	for _, text := range []string{"hello", "", "#Fields: foo bar", "[1,2,3]"} {
		if f, ok := Detect([]byte(text)); ok && f.Name != "xml" && f.Name != "evtx" {
			t.Errorf("Detect(%q) = %q", text, f.Name)
		}
	}
}

func FuzzReadInput(f *testing.F) {
	f.Add([]byte(fwText))
	f.Add([]byte(jsonText))
	f.Add([]byte(netshText))
	f.Add(gz([]byte(fwText)))
	f.Add(zipOf(map[string][]byte{"a": []byte(jsonText)}))
	f.Add(utf16le(netshText))
	f.Fuzz(func(t *testing.T, data []byte) {
		w := walker{ctx: context.Background(), emit: func(e *event.Event) error {
			e.AppendJSON(nil)
			return nil
		}, warn: func(*Problem) {}}
		w.input(Input{Name: "fuzz", R: bytes.NewReader(data), Size: -1}, nil, 0)
	})
}
