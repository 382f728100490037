package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// sampleCounts are the Filtering Platform event ids per real sample file,
// as ../shared/samples/SOURCES.md counts them (with libevtx and
// python-evtx for .evtx, line by line for JSON).
var sampleCounts = []struct {
	file   string
	counts map[string]int
	blocks int // events analyze shows by default (blocks only)
}{
	{"evtx/EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx", map[string]int{"5156": 63, "5158": 9}, 0},
	{"evtx/EVTX-to-MITRE-Attack_ID4688-5447-4950-Firewall_disabled_command.evtx", map[string]int{}, 0},
	{"evtx/omerbenamram-evtx_Security_short_selected.evtx", map[string]int{"5152": 2, "5157": 1}, 1},
	{"evtx/omerbenamram-evtx_security.evtx", map[string]int{}, 0},
	{"json/cmd_dumping_ntds_dit_file_ntdsutil.zip", map[string]int{"5152": 10, "5156": 148, "5158": 53}, 0},
	{"json/covenant_dcom_registerxll.zip", map[string]int{"5031": 4, "5154": 2, "5156": 87, "5158": 95}, 4},
	{"json/covenant_sharpsc_query_dcerpc_smb_svcctl.zip", map[string]int{"5156": 53, "5157": 5, "5158": 22}, 5},
	{"json/empire_mimikatz_opth.tar.gz", map[string]int{"5156": 166, "5157": 1, "5158": 119}, 1},
	{"json/empire_mimikatz_opth.wfp-only.jsonl", map[string]int{"5156": 166, "5157": 1, "5158": 119}, 1},
}

// TestSamplesEndToEnd runs analyze over the real samples, the user's way,
// and checks every Filtering Platform event comes out once, with no input
// problem but the ones the files really have, and that permits are never
// shown as blocks.
func TestSamplesEndToEnd(t *testing.T) {
	samples.Dir(t)
	for _, s := range sampleCounts {
		t.Run(s.file, func(t *testing.T) {
			path := samples.Path(t, s.file)
			var out, errOut bytes.Buffer
			if err := runAnalyze(context.Background(), []string{"--no-aggregate", "--format", "json", "--packets", "--permits", path}, &out, &errOut); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			got := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if line == "" {
					continue
				}
				var m struct {
					Event struct{ Code string }    `json:"event"`
					WFP   struct{ Verdict string } `json:"wfp"`
				}
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				got[m.Event.Code]++
				if (m.Event.Code == "5154" || m.Event.Code == "5156" || m.Event.Code == "5158") && m.WFP.Verdict != "permit" {
					t.Errorf("permit %s shown as %s", m.Event.Code, m.WFP.Verdict)
				}
			}
			if !maps.Equal(got, s.counts) {
				t.Errorf("counts %v, want %v", got, s.counts)
			}
			out.Reset()
			if err := runAnalyze(context.Background(), []string{"--no-aggregate", "--format", "json", "-q", path}, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out.String(), "\n"); n != s.blocks {
				t.Errorf("%d blocks by default, want %d", n, s.blocks)
			}
		})
	}
}
