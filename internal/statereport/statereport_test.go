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
		"ip remote port is in 1-1024",
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
