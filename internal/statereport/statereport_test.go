package statereport

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

func readDump(t *testing.T) *wfpstate.Dump {
	t.Helper()
	f, err := os.Open("../source/wfpstate/testdata/small_state.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := wfpstate.Read(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSummary(t *testing.T) {
	var b strings.Builder
	if err := Summary(&b, readDump(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2 filters, 1 providers, 1 sublayers, 1 layers, 1 callouts",
		"Beispiel VPN (examplevpn)",
		"65535  Beispiel Sublayer",
		`Beispiel VPN: 1 block filter(s) at ALE_AUTH_CONNECT_V4: "VPN blockiert IPv4"`,
		`Beispiel VPN: "Beispiel-Callout" at ALE_AUTH_CONNECT_V4 (callout id 300)`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
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
