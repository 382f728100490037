package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
)

const smallState = "../../internal/source/wfpstate/testdata/small_state.xml"

// stateEvent returns the fixture's 5157 with filter 92001 turned into a
// block by filter 70001 of small_state.xml, Filter Origin "Unknown", at
// time ts.
func stateEvent(t *testing.T, ts string) string {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	for _, part := range strings.Split(string(b), "<Event ")[1:] {
		if strings.Contains(part, "FilterRTID'>92001<") {
			s = "<Event " + part[:strings.Index(part, "</Event>")] + "</Event>"
		}
	}
	if s == "" {
		t.Fatal("fixture lacks the event with filter 92001")
	}
	s = strings.Replace(s, "FilterRTID'>92001<", "FilterRTID'>70001<", 1)
	s = regexp.MustCompile(`FilterOrigin'>[^<]*<`).ReplaceAllString(s, "FilterOrigin'>Unknown<")
	s = regexp.MustCompile(`SystemTime='[^']*'`).ReplaceAllString(s, "SystemTime='"+ts+"'")
	p := filepath.Join(t.TempDir(), "ev.xml")
	if err := os.WriteFile(p, []byte("<Events>"+s+"</Events>"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnalyzeStateResolves(t *testing.T) {
	for _, c := range []struct {
		name, ts string
		args     func(ev string) []string
		want     []string
		stderr   string
	}{
		{"--state", "2026-01-08T16:00:00.0000000Z", func(ev string) []string { return []string{"-v", "--format", "json", "--state", smallState, ev} },
			[]string{`"reason":"provider"`, `VPN blockiert IPv4`, `Beispiel VPN`}, "1 event(s) resolved, 0 stale"},
		{"dump as input", "2026-01-08T16:00:00.0000000Z", func(ev string) []string { return []string{"-v", "--format", "json", smallState, ev} },
			[]string{`"reason":"provider"`}, "1 event(s) resolved"},
		{"stale", "2026-03-02T09:15:00.0000000Z", func(ev string) []string { return []string{"-v", "--format", "json", "--state", smallState, ev} },
			[]string{`"reason":"unresolved"`}, "0 event(s) resolved, 1 stale"},
		// The filters of a "netsh wfp show filters" file given as an input
		// name the filters of the Security-log events beside it.
		{"filters.xml as input", "2026-01-08T16:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", filtersXML(t), ev}
		}, []string{`"filter":{"id":70001,"name":"Beispiel blockiert"`}, "1 event(s) resolved"},
		{"UTF-16 dump as input", "2026-01-08T16:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", utf16Copy(t, smallState), ev}
		}, []string{`"reason":"provider"`, `VPN blockiert IPv4`}, "1 event(s) resolved"},
		// The event is WS01.corp.example's: a dump named for WS01 resolves
		// it, one named for another host does not.
		{"HOST=FILE of the host", "2026-01-08T16:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", "--state", "ws01=" + smallState, ev}
		}, []string{`"reason":"provider"`}, "1 event(s) resolved"},
		{"HOST=FILE of another host", "2026-01-08T16:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", "--state", "DC02=" + smallState, ev}
		}, []string{`"reason":"unresolved"`}, "1 unknown to the dumps"},
		// The dump is of 16:50:48. A reboot at 16:30, in a System log given
		// after the events, separates the 16:00 event from it.
		{"boot between, System log after", "2026-01-08T16:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", "--state", smallState, ev,
				bootLog(t, "EventLog", 6005, "2026-01-08T16:30:00.0000000Z", "WS01.corp.example")}
		}, []string{`"reason":"unresolved"`}, "1 stale (0 at another layer, 1 from another boot"},
		// Booted at 08:00 the morning of the dump and not since: an event
		// three days later is of the same boot (the 24 h window would say
		// stale).
		{"same boot, days later", "2026-01-11T10:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", "--state", smallState, ev,
				bootLog(t, "Microsoft-Windows-Security-Auditing", 4608, "2026-01-08T08:00:00.0000000Z", "WS01")}
		}, []string{`"reason":"provider"`}, "boot markers of 1 host(s)"},
		{"no markers, days later", "2026-01-11T10:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", "--state", smallState, ev}
		}, []string{`"reason":"unresolved"`}, "1 more than 24 h from the dump"},
		// Another host's reboot says nothing about WS01.
		{"another host's boot", "2026-01-08T16:00:00.0000000Z", func(ev string) []string {
			return []string{"-v", "--format", "json", "--state", smallState, ev,
				bootLog(t, "EventLog", 6005, "2026-01-08T16:30:00.0000000Z", "DC02")}
		}, []string{`"reason":"provider"`}, "1 event(s) resolved"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runAnalyze(context.Background(), c.args(stateEvent(t, c.ts)), &out, &errOut); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %s:\n%s", w, out.String())
				}
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, errOut.String())
			}
		})
	}
}

func TestSplitStateArg(t *testing.T) {
	for _, c := range []struct{ in, host, file string }{
		{"wfpstate.xml", "", "wfpstate.xml"},
		{"WS7=wfpstate.xml", "WS7", "wfpstate.xml"},
		{`C:\dumps\a=b.xml`, "", `C:\dumps\a=b.xml`},
		{"dir/a=b.xml", "", "dir/a=b.xml"},
		{"=x.xml", "", "=x.xml"},
	} {
		if h, f := splitStateArg(c.in); h != c.host || f != c.file {
			t.Errorf("splitStateArg(%q) = %q, %q", c.in, h, f)
		}
	}
}

// utf16Copy writes path as UTF-16LE with a byte order mark, as an editor's
// "Unicode" or an older PowerShell's > saves it, and returns the copy.
func utf16Copy(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := utf16.Encode([]rune(strings.TrimPrefix(string(b), "\ufeff")))
	out := []byte{0xFF, 0xFE}
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	p := filepath.Join(t.TempDir(), "state-utf16.xml")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// filtersXML writes a "netsh wfp show filters" file (a <wfpdiag> root)
// with filter 70001 at the layer of the fixture's event.
func filtersXML(t *testing.T) string {
	t.Helper()
	x := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<wfpdiag>
	<filters numItems="1">
		<item>
			<filterKey>{dddddddd-0000-0000-0000-000000070001}</filterKey>
			<displayData><name>Beispiel blockiert</name><description/></displayData>
			<flags/>
			<providerKey>{aaaaaaaa-0000-0000-0000-000000000001}</providerKey>
			<layerKey>FWPM_LAYER_ALE_AUTH_CONNECT_V4</layerKey>
			<subLayerKey>{bbbbbbbb-0000-0000-0000-000000000001}</subLayerKey>
			<weight><type>FWP_UINT64</type><uint64>100</uint64></weight>
			<filterCondition numItems="0"/>
			<action><type>FWP_ACTION_BLOCK</type><filterType/></action>
			<filterId>70001</filterId>
			<effectiveWeight><type>FWP_UINT64</type><uint64>100</uint64></effectiveWeight>
		</item>
	</filters>
</wfpdiag>
`
	p := filepath.Join(t.TempDir(), "filters.xml")
	if err := os.WriteFile(p, []byte(x), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStateArgs(t *testing.T) {
	for _, args := range [][]string{{"state"}, {"state", "--live", "wfpstate.xml"}, {"state", "a.xml", "b.xml"}} {
		if _, stderr, code := runCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage): %s", args, code, stderr)
		}
	}
}

// bootLog writes an event XML file holding one boot marker.
func bootLog(t *testing.T, provider string, id int, ts, computer string) string {
	t.Helper()
	x := fmt.Sprintf("<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='%s'/>"+
		"<EventID>%d</EventID><Version>0</Version><TimeCreated SystemTime='%s'/><EventRecordID>7</EventRecordID>"+
		"<Computer>%s</Computer></System><EventData></EventData></Event></Events>", provider, id, ts, computer)
	p := filepath.Join(t.TempDir(), "boot.xml")
	if err := os.WriteFile(p, []byte(x), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
