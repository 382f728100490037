package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fwdEvent is a 5157 as a Windows Event Collector stores it in
// ForwardedEvents: the source host's record with the collector's
// RenderingInfo (the message and names rendered on the source) after it.
func fwdEvent(rid int, host, dir, src string, sport int, dst string, dport int, app string) string {
	d := map[string]string{"in": "%%14592", "out": "%%14593"}[dir]
	layer := map[string]string{"in": "%%14610", "out": "%%14611"}[dir]
	return fmt.Sprintf(`event <Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>5157</EventID><Version>1</Version><Level>0</Level><Task>12810</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2026-01-02T03:04:%02d.5Z'/><EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='80'/><Channel>Security</Channel><Computer>%s</Computer><Security/></System><EventData><Data Name='ProcessID'>4242</Data><Data Name='Application'>\device\harddiskvolume2\windows\system32\%s</Data><Data Name='Direction'>%s</Data><Data Name='SourceAddress'>%s</Data><Data Name='SourcePort'>%d</Data><Data Name='DestAddress'>%s</Data><Data Name='DestPort'>%d</Data><Data Name='Protocol'>6</Data><Data Name='FilterRTID'>84211</Data><Data Name='LayerName'>%s</Data><Data Name='LayerRTID'>44</Data><Data Name='RemoteUserID'>S-1-0-0</Data><Data Name='RemoteMachineID'>S-1-0-0</Data></EventData><RenderingInfo Culture='en-US'><Message>The Windows Filtering Platform has blocked a connection.</Message><Level>Information</Level><Task>Filtering Platform Connection</Task><Opcode>Info</Opcode><Channel>Security</Channel><Provider>Microsoft Windows security auditing.</Provider><Keywords><Keyword>Audit Failure</Keyword></Keywords></RenderingInfo></Event>`,
		rid%60, rid, host, app, d, src, sport, dst, dport, layer)
}

// forwardedStream is a Windows Event Collector's ForwardedEvents of three
// hosts: outbound blocks that show two hosts their addresses, then one
// inbound block each, written in the order of each host's Windows build.
func forwardedStream() []string {
	return []string{
		fwdEvent(1, "WS10.corp.example", "out", "10.0.0.10", 50001, "203.0.113.5", 443, "svchost.exe"),
		fwdEvent(2, "OLD7.corp.example", "out", "10.0.0.20", 50002, "203.0.113.5", 443, "svchost.exe"),
		// Windows 10 writes the packet's sender first ...
		fwdEvent(3, "WS10.corp.example", "in", "203.0.113.7", 51000, "10.0.0.10", 3389, "svchost.exe"),
		// ... Windows 7 the local end first.
		fwdEvent(4, "OLD7.corp.example", "in", "10.0.0.20", 3389, "203.0.113.8", 52000, "svchost.exe"),
		// A host with no other evidence: the service port decides.
		fwdEvent(5, "SRV3.corp.example", "in", "198.51.100.9", 49999, "10.0.0.30", 445, "System"),
	}
}

// forwardedWant is the local end of each host's inbound block.
var forwardedWant = map[string]string{"WS10.corp.example": "10.0.0.10:3389", "OLD7.corp.example": "10.0.0.20:3389", "SRV3.corp.example": "10.0.0.30:445"}

// inboundLocalEnds reads watch's or analyze's NDJSON and returns the local
// end of each host's inbound event.
func inboundLocalEnds(t *testing.T, ndjson string) map[string]string {
	t.Helper()
	type rec struct {
		Host struct {
			Name string `json:"name"`
		} `json:"host"`
		Network struct {
			Direction string `json:"direction"`
		} `json:"network"`
		WFP struct {
			Local struct {
				IP   string `json:"ip"`
				Port int    `json:"port"`
			} `json:"local"`
		} `json:"wfp"`
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(ndjson), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if r.Network.Direction == "inbound" {
			got[r.Host.Name] = fmt.Sprintf("%s:%d", r.WFP.Local.IP, r.WFP.Local.Port)
		}
	}
	return got
}

// The same ForwardedEvents stream, exported from the collector
// (wevtutil qe ForwardedEvents /f:xml, RenderingInfo and all), read
// offline: every host oriented from its own evidence and named.
func TestAnalyzeForwardedEvents(t *testing.T) {
	var b strings.Builder
	b.WriteString("<Events>\n")
	for _, l := range forwardedStream() {
		b.WriteString(strings.TrimPrefix(l, "event ") + "\n")
	}
	b.WriteString("</Events>\n")
	p := filepath.Join(t.TempDir(), "ForwardedEvents.xml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"analyze", "--format", "json", "--no-aggregate", p}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := inboundLocalEnds(t, out.String())
	for h, w := range forwardedWant {
		if got[h] != w {
			t.Errorf("%s: local end %q, want %q\n%s", h, got[h], w, out.String())
		}
	}
}
