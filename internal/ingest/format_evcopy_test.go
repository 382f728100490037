package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// eventViewerCopy is a 5157 as Event Viewer's XML view shows it when
// copied: "- " before each expanded element, two spaces before the others,
// a space after "/>", and a collapsed ("+ ") element whose content was not
// copied.
const eventViewerCopy = `- <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
- <System>
  <Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}" /> 
  <EventID>5157</EventID> 
  <Version>1</Version> 
  <TimeCreated SystemTime="2026-03-02T09:15:10.250000000Z" /> 
  <EventRecordID>308129</EventRecordID> 
  <Correlation /> 
  <Execution ProcessID="4" ThreadID="3712" /> 
  <Channel>Security</Channel> 
  <Computer>WS01.corp.example</Computer> 
  <Security /> 
  </System>
- <EventData>
  <Data Name="ProcessID">2212</Data> 
  <Data Name="Application">\device\harddiskvolume3\program files\contoso\agent.exe</Data> 
  <Data Name="Direction">%%14593</Data> 
  <Data Name="SourceAddress">192.0.2.10</Data> 
  <Data Name="SourcePort">50123</Data> 
  <Data Name="DestAddress">198.51.100.80</Data> 
  <Data Name="DestPort">443</Data> 
  <Data Name="Protocol">6</Data> 
  <Data Name="FilterRTID">92001</Data> 
  <Data Name="LayerName">%%14611</Data> 
  <Data Name="LayerRTID">48</Data> 
  <Data Name="RemoteUserID">S-1-0-0</Data> 
  <Data Name="RemoteMachineID">S-1-0-0</Data> 
  <Data Name="FilterOrigin">Default Outbound</Data> 
  </EventData>
+ <RenderingInfo Culture="en-US">
  </Event>
`

func TestEventViewerCopy(t *testing.T) {
	utf16le := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	inputs := map[string][]byte{
		"utf8":        []byte(eventViewerCopy),
		"crlf":        []byte(strings.ReplaceAll(eventViewerCopy, "\n", "\r\n")),
		"bom":         append([]byte("\xEF\xBB\xBF"), eventViewerCopy...),
		"utf16":       utf16le(eventViewerCopy),
		"declaration": []byte("<?xml version=\"1.0\"?>\n\n" + eventViewerCopy),
		"indented":    []byte(strings.ReplaceAll(eventViewerCopy, "\n- ", "\n    - ")),
		"two events":  []byte(eventViewerCopy + strings.Replace(eventViewerCopy, "308129", "308130", 1)),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			var got []event.Event
			var probs []string
			f, err := ReadInput(context.Background(), Input{Name: "copy.xml", R: bytes.NewReader(in), Size: -1},
				func(e *event.Event) error { got = append(got, *e); return nil },
				func(p *Problem) { probs = append(probs, p.Error()) })
			if err != nil || f.Name != "xml-copy" || len(probs) != 0 {
				t.Fatalf("format %q, err %v, problems %q", f.Name, err, probs)
			}
			want := 1
			if name == "two events" {
				want = 2
			}
			if len(got) != want {
				t.Fatalf("%d events, want %d", len(got), want)
			}
			e := got[0]
			if e.Code != 5157 || e.RecordID != 308129 || e.Host != "WS01.corp.example" || e.Reason != "default:outbound" ||
				e.Verdict != event.VerdictBlock || e.Remote().String() != "198.51.100.80:443" || e.Name != "agent.exe" {
				t.Errorf("event %+v", e)
			}
		})
	}
}

func TestIsEventViewerCopy(t *testing.T) {
	for s, want := range map[string]bool{
		eventViewerCopy:                     true,
		"<?xml version='1.0'?>\n- <Event>":  true,
		"<!-- c -->\n+ <Events>":            true,
		"  -  <netEvent>":                   true,
		"<Event xmlns='x'>":                 false,
		"- item":                            false,
		"-<Event>":                          false,
		"2021-06-22 10:00:00 DROP UDP - - ": false,
		"":                                  false,
	} {
		if got := IsEventViewerCopy([]byte(s)); got != want {
			t.Errorf("IsEventViewerCopy(%.20q) = %v, want %v", s, got, want)
		}
	}
}

func TestUnmarkReader(t *testing.T) {
	cases := []struct{ in, want string }{
		{"- <A>\n  <B>x</B> \n  </A>\n", "<A>\n  <B>x</B> \n  </A>\n"},
		{"+ <R Culture=\"en\">\r\n", "<R Culture=\"en\"/>\r\n"},
		{"+ <R/>\n", "<R/>\n"},
		{"+ <D>text</D>\n", "<D>text</D>\n"},
		{"  - <A>", "  <A>"},
		{"<a>- <b></a>\n", "<a>- <b></a>\n"}, // a mark only counts at the start of a line
		{"- x\n", "- x\n"},
	}
	for _, c := range cases {
		u := &unmarkReader{br: bufioReader(c.in, 64), start: true}
		got, err := io.ReadAll(u)
		if err != nil || string(got) != c.want {
			t.Errorf("unmark(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	// A line longer than the buffer keeps its start rewritten and its
	// rest unchanged.
	long := "- <A>" + strings.Repeat("x", 100) + "\n- <B>\n"
	u := &unmarkReader{br: bufioReader(long, 16), start: true}
	got, _ := io.ReadAll(u)
	if want := "<A>" + strings.Repeat("x", 100) + "\n<B>\n"; string(got) != want {
		t.Errorf("long line: %q", got)
	}
}

func TestUnknownFormat(t *testing.T) {
	cases := []struct{ in, start, what string }{
		{"", "", "the input is empty"},
		{" \n\t", "", "only white space"},
		{`{1: "foo"}`, `'{1: "foo"}'`, "JSON, but not Winlogbeat/NXLog Security events"},
		{"{\"foo\": 1}\n{\"bar\": 2}\n", `'{"foo": 1}'`, "JSON, but not Winlogbeat/NXLog Security events"},
		{`[{"Id": 5157}]`, `'[{"Id": 5157}]'`, "a JSON array"},
		{"<firewallState><x>", "'<firewallState><x>'", "netsh wfp show state"},
		{"<?xml version='1.0'?><html>", "'<?xml version=\\'1.0\\'?><ht…'", "first element is <html>"},
		{"#Version: 1.0\n#Fields: a b\n", "'#Version: 1.0'", "W3C-style log"},
		{"# Notes\n", "'# Notes'", "text that is none"},
		{"MZ\x90\x00\x03", `'MZ\x90\x00\x03'`, "Windows program"},
		{"ElfChnk\x00\x01", `'ElfChnk\x00\x01'`, ".evtx chunk"},
		{"\x00\x01\x02binary", "bytes 00 01 02 62 69 6e 61 72 …", "binary data"},
		{"hello world, this is a long first line of text", "'hello world, this is a l…'", "text that is none"},
	}
	for _, c := range cases {
		_, err := ReadInput(context.Background(), Input{Name: "y", R: strings.NewReader(c.in), Size: -1},
			func(*event.Event) error { return nil }, func(*Problem) {})
		var ue *UnknownFormatError
		if !errors.Is(err, ErrUnknownFormat) || !errors.As(err, &ue) {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if ue.Start != c.start || !strings.Contains(ue.What, c.what) || !strings.Contains(err.Error(), "accepted: Security event XML") {
			t.Errorf("%q: start %s, what %q; want %s, %q (%v)", c.in, ue.Start, ue.What, c.start, c.what, err)
		}
	}
}

func FuzzEventViewerCopy(f *testing.F) {
	f.Add([]byte(eventViewerCopy))
	f.Add([]byte("+ <R Culture=\"en\">\r\n- <A>\n"))
	f.Add([]byte("- <netEvent>\n+ <header>\n  <type>3</type>\n  </netEvent>\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Whatever the input, unmarking only removes bytes from line
		// starts or adds a "/" to a collapsed line, and reading ends.
		u := &unmarkReader{br: bufioReader(string(b), 16), start: true}
		out, err := io.ReadAll(u)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > len(b)+bytes.Count(b, []byte("\n"))+1 {
			t.Fatalf("output of %d bytes from %d", len(out), len(b))
		}
		IsEventViewerCopy(b)
		ReadInput(context.Background(), Input{Name: "f", R: bytes.NewReader(b), Size: -1},
			func(*event.Event) error { return nil }, func(*Problem) {})
	})
}

func bufioReader(s string, size int) *bufio.Reader {
	return bufio.NewReaderSize(strings.NewReader(s), size)
}

// TestEventViewerCopyNetsh: netsh XML shown in the same viewer (a
// wfpdiag.xml opened in a browser) is read the same way.
func TestEventViewerCopyNetsh(t *testing.T) {
	const in = `- <netEvent>
- <header>
  <timeStamp>2020-10-07T01:03:56.281Z</timeStamp> 
  <ipProtocol>17</ipProtocol> 
  <localAddrV4>255.255.255.255</localAddrV4> 
  <remoteAddrV4>10.195.33.252</remoteAddrV4> 
  <localPort>21</localPort> 
  <remotePort>61706</remotePort> 
+ <flags numItems="9">
  </header>
  <type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type> 
- <classifyDrop>
  <filterId>66241</filterId> 
  <layerId>44</layerId> 
  </classifyDrop>
- <internalFields>
  <filterOrigin>Quarantine Default</filterOrigin> 
  </internalFields>
  </netEvent>
`
	var got []event.Event
	f, err := ReadInput(context.Background(), Input{Name: "n.xml", R: strings.NewReader(in), Size: -1},
		func(e *event.Event) error { got = append(got, *e); return nil }, func(p *Problem) { t.Error(p) })
	if err != nil || f.Name != "xml-copy" || len(got) != 1 {
		t.Fatalf("format %q, err %v, %d events", f.Name, err, len(got))
	}
	if e := got[0]; e.Reason != "default:quarantine" || e.FilterID != 66241 || e.Fingerprint == 0 {
		t.Errorf("event %+v", e)
	}
}
