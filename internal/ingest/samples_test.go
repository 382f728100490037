package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// countsOf renders per-code counts as "5152:10 5156:148".
func countsOf(m map[int]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// TestSamplesWFPCounts reads the JSON exports of the shared samples (zip,
// tar.gz and the .wfp-only.jsonl companions) through Walk and checks the
// per-file count of each WFP event id against SOURCES.md.
func TestSamplesWFPCounts(t *testing.T) {
	tests := []struct {
		file, format, want string
		container          string
	}{
		{"json/cmd_dumping_ntds_dit_file_ntdsutil.zip", "json", "5152:10 5156:148 5158:53", "zip"},
		{"json/cmd_dumping_ntds_dit_file_ntdsutil.wfp-only.jsonl", "json", "5152:10 5156:148 5158:53", ""},
		{"json/covenant_dcom_registerxll.zip", "json", "5031:4 5154:2 5156:87 5158:95", "zip"},
		{"json/covenant_dcom_registerxll.wfp-only.jsonl", "json", "5031:4 5154:2 5156:87 5158:95", ""},
		{"json/covenant_sharpsc_query_dcerpc_smb_svcctl.zip", "json", "5156:53 5157:5 5158:22", "zip"},
		{"json/covenant_sharpsc_query_dcerpc_smb_svcctl.wfp-only.jsonl", "json", "5156:53 5157:5 5158:22", ""},
		{"json/empire_mimikatz_opth.tar.gz", "json", "5156:166 5157:1 5158:119", "gzip tar"},
		{"json/empire_mimikatz_opth.wfp-only.jsonl", "json", "5156:166 5157:1 5158:119", ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			path := samples.Path(t, tt.file)
			got := map[int]int{}
			st, err := Walk(context.Background(), []string{path}, false, func(e *event.Event) error {
				got[e.Code]++
				if e.Sources != event.SourceFile || e.FilePath == "" || e.Verdict == "" || e.Time.IsZero() {
					t.Errorf("incomplete event %+v", e)
				}
				return nil
			}, func(p *Problem) { t.Errorf("problem: %v", p) })
			if err != nil {
				t.Fatal(err)
			}
			if c := countsOf(got); c != tt.want {
				t.Errorf("WFP ids: got %s, want %s (SOURCES.md)", c, tt.want)
			}
			if len(st.Files) != 1 || st.Files[0].Format != tt.format || strings.Join(st.Files[0].Container, " ") != tt.container {
				t.Errorf("stats %+v", st.Files)
			}
		})
	}
}

// TestSamplesFwlog checks the DROP-line counts of the real firewall logs
// (SOURCES.md) through Walk.
func TestSamplesFwlog(t *testing.T) {
	tests := []struct {
		file         string
		drops, allow int
		problems     int
	}{
		{"pfirewall/BetaHydri-ParseFirewallLog_pfirewall.log", 11688, 5119, 2}, // 2 INFO-EVENTS-LOST lines
		{"pfirewall/rafaelnett-CYBER-DEFENSE-OPERATIONS_Lab_03_pfirewall.log", 56, 211, 17},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			path := samples.Path(t, tt.file)
			drops, allow, problems := 0, 0, 0
			st, err := Walk(context.Background(), []string{path}, false, func(e *event.Event) error {
				if e.Verdict == event.VerdictPermit {
					allow++
				} else {
					drops++
				}
				return nil
			}, func(p *Problem) { problems++ })
			if err != nil {
				t.Fatal(err)
			}
			if drops != tt.drops || allow != tt.allow || problems != tt.problems {
				t.Errorf("DROP %d ALLOW %d problems %d; want %d %d %d", drops, allow, problems, tt.drops, tt.allow, tt.problems)
			}
			if st.Files[0].Format != "fwlog" || int(st.Files[0].Problems) != tt.problems {
				t.Errorf("stats %+v", st.Files)
			}
		})
	}
}

// TestSamplesBootMarkers: the 40 "Windows is starting up" (4608) records
// of a real Security.evtx reach WalkOptions.Boot, whether or not the WFP
// events are wanted; the same walk without Boot reads them as Other only.
func TestSamplesBootMarkers(t *testing.T) {
	path := samples.Path(t, "evtx/omerbenamram-evtx_security.evtx")
	for _, want := range []func(int) bool{nil, func(int) bool { return false }} {
		var n int
		hosts := map[string]bool{}
		st, err := WalkWith(context.Background(), []string{path}, WalkOptions{Want: want, Boot: func(host string, at time.Time) {
			n++
			hosts[host] = true
			if at.IsZero() {
				t.Error("a marker without a time")
			}
		}}, func(*event.Event) error { return nil }, func(p *Problem) { t.Log(p) })
		if err != nil {
			t.Fatal(err)
		}
		// The host was renamed once: its markers carry two names.
		if n != 40 || len(hosts) != 2 || st.Other == 0 {
			t.Errorf("want %v: %d markers of %d hosts (%v), %d other records; want 40 of two names", want != nil, n, len(hosts), hosts, st.Other)
		}
	}
}
