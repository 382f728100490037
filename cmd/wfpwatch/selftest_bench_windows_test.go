package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchSecurityLog gives the event-log half of the self-test something to
// find under the Wine bench, where the fake advapi32 lets it turn auditing
// on: a fake Security log (WFPWATCH_FAKE_WEVTAPI) with a 5157 for each
// filter id the fake fwpuclnt may hand out in this test process (it numbers
// filters from 90001), and a file-backed fake audit policy
// (WFPWATCH_FAKE_AUDIT) that must read as it started when the test ends.
func benchSecurityLog(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	for id := 90001; id <= 90400; id++ {
		fmt.Fprintf(&b, "event <Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"+
			"<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>"+
			"<EventID>5157</EventID><Version>1</Version><Level>0</Level><Task>12810</Task><Opcode>0</Opcode>"+
			"<Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2026-01-02T03:04:05.1234567Z'/>"+
			"<EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='80'/><Channel>Security</Channel>"+
			"<Computer>bench.example</Computer><Security/></System><EventData><Data Name='ProcessID'>1234</Data>"+
			"<Data Name='Application'>\\device\\harddiskvolume3\\wfpwatch.exe</Data><Data Name='Direction'>%%%%14593</Data>"+
			"<Data Name='SourceAddress'>127.0.0.1</Data><Data Name='SourcePort'>51000</Data><Data Name='DestAddress'>127.0.0.1</Data>"+
			"<Data Name='DestPort'>51000</Data><Data Name='Protocol'>6</Data><Data Name='FilterRTID'>%d</Data>"+
			"<Data Name='LayerName'>%%%%14611</Data><Data Name='LayerRTID'>48</Data><Data Name='RemoteUserID'>S-1-0-0</Data>"+
			"<Data Name='RemoteMachineID'>S-1-0-0</Data></EventData></Event>\n", id-90000, id)
	}
	evlog := filepath.Join(dir, "security-log.txt")
	if err := os.WriteFile(evlog, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WFPWATCH_FAKE_WEVTAPI", evlog)
	const start = "{0CCE9226-69AE-11D9-BED3-505054503030} 1\n{0CCE9225-69AE-11D9-BED3-505054503030} 0\n"
	pol := filepath.Join(dir, "audit-policy.txt")
	if err := os.WriteFile(pol, []byte(start), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WFPWATCH_FAKE_AUDIT", pol)
	t.Cleanup(func() {
		b, err := os.ReadFile(pol)
		if got := strings.ReplaceAll(string(b), "\r", ""); err != nil || got != start {
			t.Errorf("fake audit policy after the self-test:\n%s(%v), want as it started:\n%s", got, err, start)
		}
	})
}
