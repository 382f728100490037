package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/samples"
)

func TestEvtxDump(t *testing.T) {
	path := samples.Path(t, "evtx/omerbenamram-evtx_Security_short_selected.evtx")
	var out, errOut bytes.Buffer
	if err := runEvtx(context.Background(), []string{"dump", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var evs struct {
		Event []struct {
			EventID int `xml:"System>EventID"`
		}
	}
	if err := xml.Unmarshal(out.Bytes(), &evs); err != nil {
		t.Fatalf("dump is not one XML document: %v", err)
	}
	if len(evs.Event) != 7 || evs.Event[0].EventID != 5152 || errOut.Len() != 0 {
		t.Errorf("%d events, first %+v, stderr %q", len(evs.Event), evs.Event, errOut.String())
	}

	out.Reset()
	if err := runEvtx(context.Background(), []string{"dump", "--format", "json", "--workers", "2", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("invalid JSON line %s", l)
		}
	}
	if len(lines) != 7 {
		t.Errorf("%d JSON lines, want 7", len(lines))
	}
}

func TestEvtxDumpDamaged(t *testing.T) {
	b, err := os.ReadFile(samples.Path(t, "evtx/EVTX-to-MITRE-Attack_ID4688-5447-4950-Firewall_disabled_command.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tempDir(t), "cut.evtx")
	os.WriteFile(path, b[:4096+10*65536+30000], 0o600)
	var out, errOut bytes.Buffer
	if err := runEvtx(context.Background(), []string{"dump", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cut.evtx: chunk 10 offset 0xa8530: chunk truncated at end of file", "249 records read, 11 skipped"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	if n := strings.Count(out.String(), "<Event "); n != 249 {
		t.Errorf("%d events written, want 249", n)
	}
}

func TestEvtxUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"list", "x"}, {"dump"}, {"dump", "--format", "yaml", "x.evtx"}, {"dump", "a", "b"}} {
		var out, errOut bytes.Buffer
		err := runEvtx(context.Background(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	var out, errOut bytes.Buffer
	if err := runEvtx(context.Background(), []string{"dump", "does-not-exist.evtx"}, &out, &errOut); err == nil {
		t.Error("missing file: no error")
	}
}
