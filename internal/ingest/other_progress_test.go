package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// TestWalkCountsOtherRecords checks the readers of event logs count the
// records that are not Filtering Platform events, so that analyze can say
// what an input held instead.
func TestWalkCountsOtherRecords(t *testing.T) {
	dir := t.TempDir()
	rec := func(id int) string {
		return `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>` +
			itoa(id) + `</EventID><TimeCreated SystemTime="2026-03-02T09:15:01Z"/></System></Event>`
	}
	xml := filepath.Join(dir, "logon.xml")
	os.WriteFile(xml, []byte("<Events>"+rec(4624)+rec(4625)+rec(4688)+"</Events>"), 0o644)
	json := filepath.Join(dir, "beats.json")
	os.WriteFile(json, []byte(`{"@timestamp":"2026-03-02T09:15:01Z","winlog":{"event_id":4624,"provider_name":"Microsoft-Windows-Security-Auditing","channel":"Security"}}`+"\n"), 0o644)
	st, err := Walk(context.Background(), []string{xml, json}, false, func(*event.Event) error { return nil }, func(p *Problem) {})
	if err != nil {
		t.Fatal(err)
	}
	if st.Other != 4 || st.Files[0].Other != 3 || st.Files[1].Other != 1 || st.Events != 0 {
		t.Errorf("other %d (%d, %d), events %d; want 4 (3, 1), 0", st.Other, st.Files[0].Other, st.Files[1].Other, st.Events)
	}
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestWalkCountsOtherEvtxRecords checks the .evtx reader counts its
// non-WFP records apart from the permits it skips for Want.
func TestWalkCountsOtherEvtxRecords(t *testing.T) {
	path := samples.Path(t, "evtx/omerbenamram-evtx_security.evtx")
	st, err := Walk(context.Background(), []string{path}, false, func(*event.Event) error { return nil }, func(p *Problem) {})
	if err != nil {
		t.Fatal(err)
	}
	if st.Other != 2261 || st.Events != 0 {
		t.Errorf("other %d, events %d; want the 2261 records of the file, none WFP", st.Other, st.Events)
	}
}

// TestWalkProgress checks Progress follows a file to its end, for a plain
// file, a compressed one and an .evtx read with ReadAt.
func TestWalkProgress(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "pfirewall.log")
	var b strings.Builder
	b.WriteString("#Version: 1.5\n#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\n")
	for i := 0; i < 5000; i++ {
		b.WriteString("2026-03-02 09:15:01 DROP TCP 203.0.113.7 10.0.0.5 51234 3389 52 S 123 0 8192 - - - RECEIVE\n")
	}
	os.WriteFile(plain, []byte(b.String()), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(b.String()))
	zw.Close()
	packed := filepath.Join(dir, "pfirewall.log.gz")
	os.WriteFile(packed, gz.Bytes(), 0o644)
	paths := []string{plain, packed}
	if d, ok := samples.Find(); ok {
		paths = append(paths, filepath.Join(d, "evtx", "EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx"))
	}
	type call struct{ pos, size int64 }
	calls := map[string][]call{}
	_, err := WalkWith(context.Background(), paths, WalkOptions{Progress: func(path string, pos, size int64) {
		calls[path] = append(calls[path], call{pos, size})
	}}, func(*event.Event) error { return nil }, func(p *Problem) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		st, _ := os.Stat(p)
		c := calls[p]
		if len(c) < 2 {
			t.Errorf("%s: %d progress calls", p, len(c))
			continue
		}
		for i, x := range c {
			if x.size != st.Size() || x.pos > x.size || i > 0 && x.pos < c[i-1].pos {
				t.Errorf("%s: call %d: %d of %d (file %d bytes)", p, i, x.pos, x.size, st.Size())
			}
		}
		if last := c[len(c)-1]; last.pos != st.Size() {
			t.Errorf("%s: ends at %d of %d", p, last.pos, st.Size())
		}
	}
}
