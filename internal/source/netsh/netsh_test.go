package netsh

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readAll(t testing.TB, data []byte, name string) ([]event.Event, []error, Stats, error) {
	var evs []event.Event
	var probs []error
	st, err := Read(context.Background(), bytes.NewReader(data), name, func(e *event.Event) error {
		evs = append(evs, *e)
		return nil
	}, func(err error) { probs = append(probs, err) })
	return evs, probs, st, err
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			evs, probs, st, err := readAll(t, data, filepath.Base(f))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			for i := range evs {
				out.Write(evs[i].AppendJSON(nil))
				out.WriteByte('\n')
			}
			for _, p := range probs {
				fmt.Fprintf(&out, "problem: %v\n", p)
			}
			fmt.Fprintf(&out, "stats: %+v\n", st)
			golden := strings.TrimSuffix(f, ".xml") + ".golden"
			if *update {
				os.WriteFile(golden, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update and check the diff):\n%s", golden, out.String())
			}
		})
	}
}

func TestClassification(t *testing.T) {
	data, err := os.ReadFile("testdata/show-netevents.xml")
	if err != nil {
		t.Fatal(err)
	}
	evs, probs, st, err := readAll(t, data, "x")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ, verdict, kind, reason, dir, exe string
	}{
		{"CLASSIFY_DROP", "block", "connection", "rule", "outbound", `\device\harddiskvolume2\program files\contoso\agent.exe`},
		{"CLASSIFY_DROP", "drop", "packet", "default:stealth", "inbound", ""},
		{"CAPABILITY_DROP", "block", "connection", "default:uwp", "", `\device\harddiskvolume2\windows\explorer.exe`},
		{"IPSEC_KERNEL_DROP", "drop", "packet", "ipsec", "inbound", ""},
		{"CLASSIFY_ALLOW", "permit", "connection", "", "outbound", ""}, // permits carry a reason only when a rule is named
		{"CLASSIFY_DROP_MAC", "drop", "packet", "unresolved", "inbound", ""},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		e := evs[i]
		got := []string{e.NetEventType, string(e.Verdict), string(e.Kind), e.Reason, string(e.Direction), e.Executable}
		if strings.Join(got, "|") != strings.Join([]string{w.typ, w.verdict, w.kind, w.reason, string(w.dir), w.exe}, "|") {
			t.Errorf("event %d: got %q", i+1, got)
		}
	}
	if st.Skipped["FWPM_NET_EVENT_TYPE_IKEEXT_MM_FAILURE"] != 1 || st.NetEvents != 7 || len(probs) != 1 {
		t.Errorf("stats %+v problems %v", st, probs)
	}
}

// TestSamples decodes the two netEvents transcribed from Microsoft's
// documentation (see SOURCES.md).
func TestSamples(t *testing.T) {
	t.Run("uwp", func(t *testing.T) {
		data, err := os.ReadFile(samples.Path(t, "netevents/msdocs-uwp-case2-netevent-classifydrop.xml"))
		if err != nil {
			t.Fatal(err)
		}
		evs, probs, _, err := readAll(t, data, "uwp")
		if err != nil || len(probs) != 0 || len(evs) != 1 {
			t.Fatalf("%d events, problems %v, err %v", len(evs), probs, err)
		}
		e := evs[0]
		if e.LayerID != 50 || e.LayerName != "ALE_AUTH_CONNECT_V6" || e.Direction != event.DirectionOutbound ||
			e.FilterID != 68893 || e.NetEventType != event.NetEventClassifyDrop || e.Sources != event.SourceFile {
			t.Errorf("header/classifyDrop: %+v", e)
		}
		if e.Local().String() != "[2001:4898:1a:1045:8469:3351:e6e2:543]:63187" || e.Remote().String() != "[2620:1ec:c11::200]:443" || e.Protocol != 6 {
			t.Errorf("endpoints %v %v", e.Local(), e.Remote())
		}
		if !strings.HasSuffix(e.Executable, `\uwpsocketclient.exe`) || !strings.HasPrefix(e.Executable, `\device\harddiskvolume1\program files\windowsapps\`) {
			t.Errorf("appId: %q", e.Executable)
		}
		if e.PackageSID == "" || e.UserID != "S-1-5-21-2788718703-1626973220-3690764900-1000" {
			t.Errorf("sids %q %q", e.PackageSID, e.UserID)
		}
		if e.Kind != event.KindConnection || e.Verdict != event.VerdictBlock {
			t.Errorf("classified %s/%s/%s", e.Kind, e.Verdict, e.Reason)
		}
		// The guide: the drop was made by the "Block Outbound Default
		// Rule" filter (WSH sublayer) because the app held no capability
		// token: the AppContainer (UWP) default block.
		if e.Reason != "default:uwp" || e.Sublayer != "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH" || e.Capabilities != "none" {
			t.Errorf("reason %q sublayer %q capabilities %q", e.Reason, e.Sublayer, e.Capabilities)
		}
		if j := string(e.AppendJSON(nil)); !strings.Contains(j, `"capabilities":[]`) || !strings.Contains(j, `"reason":"default:uwp"`) {
			t.Errorf("JSON %s", j)
		}
	})
	t.Run("quarantine", func(t *testing.T) {
		data, err := os.ReadFile(samples.Path(t, "netevents/msdocs-quarantine-netevent-classifydrop.xml"))
		if err != nil {
			t.Fatal(err)
		}
		evs, probs, _, err := readAll(t, data, "q")
		if err != nil || len(probs) != 0 || len(evs) != 1 {
			t.Fatalf("%d events, problems %v, err %v", len(evs), probs, err)
		}
		e := evs[0]
		if e.Reason != "default:quarantine" || e.FilterOrigin != "Quarantine Default" || e.Verdict != event.VerdictBlock {
			t.Errorf("reason %q origin %q verdict %s", e.Reason, e.FilterOrigin, e.Verdict)
		}
		// Its terminating filter, the event's own, is in the quarantine
		// sublayer: the same reason without the origin.
		if e.Sublayer != "FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE" || e.Capabilities != "" {
			t.Errorf("sublayer %q capabilities %q", e.Sublayer, e.Capabilities)
		}
		noOrigin := strings.Replace(string(data), "<filterOrigin>Quarantine Default</filterOrigin>", "", 1)
		evs, _, _, _ = readAll(t, []byte(noOrigin), "q2")
		if len(evs) != 1 || evs[0].Reason != "default:quarantine" {
			t.Errorf("without its origin: %+v", evs)
		}
		if e.LayerID != 44 || e.Direction != event.DirectionInbound || !e.HasInterfaceIndex || e.InterfaceIndex != 5 {
			t.Errorf("layer %d dir %s if %d", e.LayerID, e.Direction, e.InterfaceIndex)
		}
		// The published data hex decodes to this (SOURCES.md notes the
		// quirk); the data wins over asString.
		if e.Executable != `\dem32\svchost.exe` || e.Name != "svchost.exe" {
			t.Errorf("appId %q", e.Executable)
		}
	})
}

// terminating builds a CLASSIFY_DROP (or ALLOW) net event whose
// internalFields hold the given terminatingFiltersInfo items and
// capabilities.
func terminating(typ, filterID, pkg, caps string, items ...[3]string) string {
	var b strings.Builder
	b.WriteString("<netEvent><header><ipProtocol>6</ipProtocol><localAddrV4>10.0.0.2</localAddrV4><remoteAddrV4>10.0.0.9</remoteAddrV4>")
	b.WriteString("<packageSid>" + pkg + "</packageSid></header><type>FWPM_NET_EVENT_TYPE_" + typ + "</type>")
	tag := "classifyDrop"
	if typ == "CLASSIFY_ALLOW" {
		tag = "classifyAllow"
	}
	b.WriteString("<" + tag + "><filterId>" + filterID + "</filterId><layerId>48</layerId></" + tag + "><internalFields>" + caps + "<terminatingFiltersInfo>")
	for _, it := range items {
		b.WriteString("<item><filterId>" + it[0] + "</filterId><subLayer>FWPP_SUBLAYER_INTERNAL_FIREWALL_" + it[1] + "</subLayer><actionType>FWP_ACTION_" + it[2] + "</actionType></item>")
	}
	b.WriteString("</terminatingFiltersInfo></internalFields></netEvent>")
	return b.String()
}

func TestTerminatingFilters(t *testing.T) {
	const appc = "S-1-15-2-1"
	noCaps := "<capabilities/>"
	twoCaps := "<capabilities><item>FWP_CAPABILITIES_FLAG_INTERNET_CLIENT</item><item>FWP_CAPABILITIES_FLAG_PRIVATE_NETWORK</item></capabilities>"
	cases := []struct {
		name, xml, reason, sublayer, caps string
	}{
		{"own filter in WSH", terminating("CLASSIFY_DROP", "7", "", "", [3]string{"7", "WSH", "BLOCK"}, [3]string{"8", "WF", "PERMIT"}), "default:wsh", "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", ""},
		{"AppContainer in WSH", terminating("CLASSIFY_DROP", "7", appc, noCaps, [3]string{"7", "WSH", "BLOCK"}), "default:uwp", "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", "none"},
		{"capabilities kept", terminating("CLASSIFY_DROP", "7", appc, twoCaps, [3]string{"7", "APP_ISOLATION", "BLOCK"}), "default:uwp", "FWPP_SUBLAYER_INTERNAL_FIREWALL_APP_ISOLATION", "internetClient,privateNetworkClientServer"},
		{"own filter wins over the first block", terminating("CLASSIFY_DROP", "9", "", "", [3]string{"7", "WSH", "BLOCK"}, [3]string{"9", "QUARANTINE", "BLOCK"}), "default:quarantine", "FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE", ""},
		{"first block when the id is not listed", terminating("CLASSIFY_DROP", "5", "", "", [3]string{"7", "WF", "PERMIT"}, [3]string{"8", "QUARANTINE", "BLOCK"}), "default:quarantine", "FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE", ""},
		{"WF block says nothing", terminating("CLASSIFY_DROP", "7", "", "", [3]string{"7", "WF", "BLOCK"}), "unresolved", "FWPP_SUBLAYER_INTERNAL_FIREWALL_WF", ""},
		{"no block", terminating("CLASSIFY_DROP", "7", "", "", [3]string{"7", "WSH", "PERMIT"}), "unresolved", "", ""},
		{"permit keeps no sublayer", terminating("CLASSIFY_ALLOW", "7", appc, twoCaps, [3]string{"7", "WSH", "PERMIT"}), "", "", "internetClient,privateNetworkClientServer"},
		{"unknown capability kept", terminating("CLASSIFY_DROP", "7", appc, "<capabilities><item>FWP_CAPABILITIES_FLAG_NEW,ONE</item></capabilities>", [3]string{"7", "WSH", "BLOCK"}), "default:uwp", "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", "FWP_CAPABILITIES_FLAG_NEW ONE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, probs, _, err := readAll(t, []byte(c.xml), "t")
			if err != nil || len(probs) != 0 || len(evs) != 1 {
				t.Fatalf("%d events, problems %v, err %v", len(evs), probs, err)
			}
			e := evs[0]
			if e.Reason != c.reason || e.Sublayer != c.sublayer || e.Capabilities != c.caps {
				t.Errorf("reason %q sublayer %q capabilities %q; want %q %q %q", e.Reason, e.Sublayer, e.Capabilities, c.reason, c.sublayer, c.caps)
			}
		})
	}
}

func TestAppID(t *testing.T) {
	cases := []struct{ data, as, want string }{
		{"5c0061002e00650078006500000000", "", ""}, // odd length: invalid, no fallback
		{"5c0061002e0065007800650000000000", "", `\a.exe`},
		{"", `\.a...e.x.e...`, `\a.exe`},
		{"zz", `\.b...e.x.e...`, `\b.exe`},
		{"", "", ""},
	}
	for _, c := range cases {
		got, _ := AppID(c.data, c.as)
		if got != c.want {
			t.Errorf("AppID(%q, %q) = %q, want %q", c.data, c.as, got, c.want)
		}
	}
}

func TestDetect(t *testing.T) {
	for s, want := range map[string]bool{
		"<?xml version=\"1.0\"?>\n<netEvents>":           true,
		"<!-- x -->\n<netEvent>":                         true,
		"<wfpdiag>":                                      true,
		"<Events><Event xmlns='x'>":                      false,
		"{\"EventID\":5152}":                             false,
		"<?xml version=\"1.0\"?><!DOCTYPE x><netEvents>": true,
	} {
		if got := Detect([]byte(s)); got != want {
			t.Errorf("Detect(%q) = %v", s, got)
		}
	}
}

func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/show-netevents.xml", "testdata/wfpdiag.xml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<netEvent><type>3</type><classifyDrop><layerId>99999</layerId></classifyDrop></netEvent>"))
	f.Add([]byte(terminating("CLASSIFY_DROP", "7", "S-1-15-2-1", "<capabilities><item>FWP_CAPABILITIES_FLAG_INTERNET_CLIENT</item></capabilities>", [3]string{"7", "WSH", "BLOCK"})))
	f.Add([]byte("<netEvents>" + strings.Repeat("<a>", MaxDepth+1)))
	f.Add([]byte("<netEvents><!-- <x> --><![CDATA[ <y> ]]><?p <z> ?><item a='>'/></netEvents>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Read(context.Background(), bytes.NewReader(b), "f", func(e *event.Event) error {
			if e.Verdict == "" || e.NetEventType == "" {
				t.Fatalf("incomplete %+v", e)
			}
			e.AppendJSON(nil)
			return nil
		}, func(error) {})
		Detect(b)
	})
}
