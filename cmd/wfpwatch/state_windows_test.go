package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestStateLiveUnderBench runs 'wfpwatch state --live' against the fake
// fwpuclnt.dll of the Windows ABI bench: the engine's made-up state read
// through the real enumeration bindings and summarized like a dump.
func TestStateLiveUnderBench(t *testing.T) {
	wbtest.Need(t)
	t.Setenv("WFPWATCH_FAKE_STATE_FILTERS", "600")
	var out, errb bytes.Buffer
	if code := run([]string{"state", "--live"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Logf("state --live:\n%s", out.String())
	for _, want := range []string{
		"WFP state of this host, read live at ",
		"600 filters, 2 providers, 2 sublayers, 8 layers, 1 callouts",
		"Beispiel VPN (BeispielVpnSvc)",
		"Beispiel VPN: 150 block filter(s) at ALE_AUTH_CONNECT_V6\n    \"Beispiel VPN block IPv6 #2\", \"Beispiel VPN block IPv6 #6\",",
		"Beispiel VPN:\n      321  \"Beispiel VPN inspection callout\" at ALE_AUTH_CONNECT_V4",
		"65520  Beispiel VPN sublayer of Beispiel VPN",
		"    150    150       0  Microsoft Windows WFP Built-in MPSSVC Windows Firewall provider (MPSSVC_WF)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the summary", want)
		}
	}
	out.Reset()
	if code := run([]string{"state", "--live", "--filter", "70001"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Logf("state --live --filter 70001:\n%s", out.String())
	for _, want := range []string{"Filter 70001: Block outbound to 10/8 #1", "layer:       ALE_AUTH_CONNECT_V4 (layer id 48)",
		"remote address is 10.0.0.0/8", "remote port is in 0-1024", "user is S-1-5-18"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the filter", want)
		}
	}
	errb.Reset()
	if code := run([]string{"state", "--live", "--filter", "424242"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "in the engine now") {
		t.Errorf("a missing filter: exit %d, %s", code, errb.String())
	}
}

// TestAnalyzeStateLiveUnderBench: 'analyze --state live' names this host's
// events of this boot from the fake engine, and calls an event from before
// the boot stale.
func TestAnalyzeStateLiveUnderBench(t *testing.T) {
	wbtest.Need(t)
	t.Setenv("WFPWATCH_FAKE_STATE_FILTERS", "600")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	event := func(ts string) string {
		p := stateEvent(t, ts)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte("<Computer>WS01.corp.example</Computer>"), []byte("<Computer>"+host+"</Computer>"), 1)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out, errb bytes.Buffer
	now := time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z")
	if code := run([]string{"analyze", "-v", "--format", "json", "--state", "live", event(now)}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"name":"Block outbound to 10/8 #1"`) || !strings.Contains(errb.String(), "1 event(s) resolved") {
		t.Errorf("an event of this boot:\n%s\n%s", out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"analyze", "-v", "--format", "json", "--state", "live", event("2001-01-01T10:00:00.0000000Z")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "Block outbound") || !strings.Contains(errb.String(), "1 from another boot") {
		t.Errorf("an event from before the boot:\n%s\n%s", out.String(), errb.String())
	}
}
