package statereport

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wfpwatch/wfpwatch/internal/samples"
	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

func readDump(t *testing.T) *wfpstate.Dump {
	t.Helper()
	d, err := wfpstate.ReadFile(context.Background(), "../source/wfpstate/testdata/small_state.xml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden with what the code prints now")

// TestSummary compares the summary of the small dump and its filter 70001
// with testdata/summary.golden and filter.golden (go test -update rewrites
// them).
func TestSummary(t *testing.T) {
	var b strings.Builder
	if err := Summary(&b, readDump(t)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "summary.golden", b.String())
	b.Reset()
	if err := Filter(&b, readDump(t), 70001); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "filter.golden", b.String())
}

// checkGolden compares got with testdata/name (go test -update rewrites it).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// TestSummaryWidth: the summary of a real dump fits an 80-column terminal.
func TestSummaryWidth(t *testing.T) {
	d, err := wfpstate.ReadFile(context.Background(), samples.Path(t, "wfpstate/joemarshall-python_pi_burner_wfpstate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Summary(&b, d); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("%d columns: %s", n, l)
		}
	}
	if !strings.Contains(b.String(), "292  \"ConnectionTracking TCP Start Callout IPv4\" at ALE_AUTH_CONNECT_V4") {
		t.Errorf("no Sophos callout:\n%s", b.String())
	}
}

func TestFilter(t *testing.T) {
	d := readDump(t)
	var b strings.Builder
	if err := Filter(&b, d, 70001); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Filter 70001: VPN blockiert IPv4",
		"provider:    Beispiel VPN (examplevpn)",
		"layer:       ALE_AUTH_CONNECT_V4 (layer id 48)",
		"sublayer:    Beispiel Sublayer (weight 65535)",
		"action:      block",
		"remote port is in 1-1024",
		`application is \device\harddiskvolume3\app.exe`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("filter lacks %q:\n%s", want, b.String())
		}
	}
	if err := Filter(&b, d, 1); err == nil {
		t.Error("no error for an unknown id")
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		c    wfpstate.Condition
		want string
	}{
		{wfpstate.Condition{Field: "FWPM_CONDITION_IP_REMOTE_ADDRESS", Match: "FWP_MATCH_EQUAL", Type: "FWP_UINT32", Value: "167772161"}, "remote address is 10.0.0.1"},
		{wfpstate.Condition{Field: "FWPM_CONDITION_IP_LOCAL_ADDRESS_V4", Match: "FWP_MATCH_EQUAL", Type: "FWP_UINT32", Value: "x"}, "local address v4 is x"},
		{wfpstate.Condition{Field: "FWPM_CONDITION_IP_REMOTE_ADDRESS", Match: "FWP_MATCH_EQUAL", Type: "FWP_V4_ADDR_MASK", Value: "10.0.0.0/8"}, "remote address is 10.0.0.0/8"},
		{wfpstate.Condition{Field: "FWPM_CONDITION_IP_PROTOCOL", Match: "FWP_MATCH_EQUAL", Type: "FWP_UINT8", Value: "6"}, "protocol is TCP"},
		{wfpstate.Condition{Field: "FWPM_CONDITION_IP_LOCAL_PORT", Match: "FWP_MATCH_RANGE", Type: "FWP_RANGE_TYPE", Value: "0-1024"}, "local port is in 0-1024"},
		{wfpstate.Condition{Field: "FWPM_CONDITION_ALE_USER_ID", Match: "FWP_MATCH_EQUAL", Type: "FWP_SECURITY_DESCRIPTOR_TYPE", Value: "O:SYG:SYD:(A;;CC;;;WD)"}, "user is allowed by O:SYG:SYD:(A;;CC;;;WD)"},
		{wfpstate.Condition{Field: "FWPM_CONDITION_FLAGS", Match: "FWP_MATCH_FLAGS_NONE_SET", Type: "FWP_UINT32", Value: "1"}, "flags has none of flags 1"},
		{wfpstate.Condition{Field: "{0000-odd}", Match: "FWP_MATCH_TYPE_40", Type: "FWP_UINT8", Value: "1"}, "{0000-odd} type 40 1"},
	} {
		if got := Words(tc.c); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	d := readDump(t)
	var b strings.Builder
	if err := JSON(&b, d); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Source    string
		Time      string
		Providers []struct {
			Key        string
			ThirdParty bool `json:"third_party"`
			Filters    struct{ Block, Permit, Callout int }
		}
		Filters []struct {
			ID         uint64
			LayerID    *uint16 `json:"layer_id"`
			Conditions []struct{ Words string }
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.Source != "wfpstate" || got.Time != "2026-01-08T16:50:48.073Z" || len(got.Providers) != 1 || !got.Providers[0].ThirdParty ||
		got.Providers[0].Filters.Block != 1 || len(got.Filters) != 2 {
		t.Fatalf("%+v\n%s", got, b.String())
	}
	var words []string
	for _, f := range got.Filters {
		if f.ID == 70001 {
			if f.LayerID == nil || *f.LayerID != 48 {
				t.Errorf("layer id %v", f.LayerID)
			}
			for _, c := range f.Conditions {
				words = append(words, c.Words)
			}
		}
	}
	if !strings.Contains(strings.Join(words, "; "), "remote port is in 1-1024") {
		t.Errorf("conditions in words: %q", words)
	}
	b.Reset()
	if err := FilterJSON(&b, d, 70001); err != nil || !strings.Contains(b.String(), `"name": "VPN blockiert IPv4"`) {
		t.Errorf("%v\n%s", err, b.String())
	}
	if err := FilterJSON(&b, d, 1); err == nil {
		t.Error("no error for an unknown id")
	}
}
