package netevent

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

var t0 = time.Date(2026, 11, 26, 5, 30, 0, 123456700, time.UTC)

func TestDecodeEveryVersion(t *testing.T) {
	base := spec{time: t0, typ: TypeClassifyDrop, proto: 6,
		local: netip.MustParseAddr("10.1.2.3"), remote: netip.MustParseAddr("203.0.113.9"),
		lport: 49999, rport: 443, app: `\device\harddiskvolume3\windows\system32\curl.exe`, user: true, pkg: true,
		filterID: 70123, layerID: 48, msDirection: msFwpDirectionOut}
	for v := V0; v <= V5; v++ {
		a := newArena()
		p := a.build(v, base)
		var e event.Event
		if err := Decode(v, a, p, &e); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if !e.Time.Equal(t0) || e.Sources != event.SourceNetevent || e.Protocol != 6 || !e.HasProtocol ||
			e.LocalIP.String() != "10.1.2.3" || e.RemoteIP.String() != "203.0.113.9" ||
			e.LocalPort != 49999 || e.RemotePort != 443 || e.Name != "curl.exe" || e.UserID != "S-1-5-18" ||
			e.FilterID != 70123 || !e.HasFilterID || e.LayerID != 48 || e.LayerName != "ALE_AUTH_CONNECT_V4" ||
			e.NetEventType != event.NetEventClassifyDrop || e.Direction != event.DirectionOutbound ||
			e.Kind != event.KindConnection || e.Verdict != event.VerdictBlock || e.Reason != event.ReasonUnresolved {
			t.Errorf("v%d: decoded %+v", v, e)
		}
		wantPkg := ""
		if Layouts[v].Header >= 2 {
			wantPkg = "S-1-15-2-1-2-3-4-5-6-7"
		}
		if e.PackageSID != wantPkg {
			t.Errorf("v%d: package SID %q, want %q", v, e.PackageSID, wantPkg)
		}
	}
}

func TestDecodeTypes(t *testing.T) {
	v6l, v6r := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::7")
	cases := []struct {
		name  string
		v     Version
		s     spec
		check func(*event.Event) string
	}{
		{"drop0 direction from layer", V0, spec{typ: TypeClassifyDrop, filterID: 5, layerID: 44}, func(e *event.Event) string {
			if e.Direction != event.DirectionInbound || e.Kind != event.KindConnection {
				return "want inbound connection"
			}
			return ""
		}},
		{"drop on discard layer", V3, spec{typ: TypeClassifyDrop, filterID: 0, layerID: 13, msDirection: msFwpDirectionIn}, func(e *event.Event) string {
			if e.Reason != event.ReasonDiscard || e.Verdict != event.VerdictDrop || e.Kind != event.KindPacket {
				return "want discard drop"
			}
			return ""
		}},
		{"allow is permit", V5, spec{typ: TypeClassifyAllow, filterID: 9, layerID: 40, msDirection: msFwpDirectionIn, loopback: true}, func(e *event.Event) string {
			if e.Verdict != event.VerdictPermit || e.Kind != event.KindListen || e.Info != "loopback" {
				return "want permit listen loopback"
			}
			return ""
		}},
		{"capability drop", V4, spec{typ: TypeCapabilityDrop, filterID: 77, capability: 1}, func(e *event.Event) string {
			if e.Reason != "default:uwp" || e.FilterID != 77 || !strings.Contains(e.Info, "internetClientServer") {
				return "want default:uwp capability"
			}
			return ""
		}},
		{"capability allow", V2, spec{typ: TypeCapabilityAllow, filterID: 78}, func(e *event.Event) string {
			if e.Verdict != event.VerdictPermit {
				return "want permit"
			}
			return ""
		}},
		{"mac drop", V3, spec{typ: TypeClassifyDropMAC, filterID: 3, layerID: 60, msDirection: msFwpDirectionIn}, func(e *event.Event) string {
			if e.FilterID != 3 || e.LayerID != 60 || !strings.Contains(e.Info, "ff-ff-ff-ff-ff-ff") || e.Direction != event.DirectionInbound {
				return "want mac fields"
			}
			return ""
		}},
		{"ipsec kernel drop v6", V1, spec{typ: TypeIPsecKernelDrop, local: v6l, remote: v6r, filterID: 8, layerID: 14, ipsecStatus: 0xC000A002, ipsecDir: fwpDirectionInbound}, func(e *event.Event) string {
			if e.Reason != event.ReasonIPsec || e.Verdict != event.VerdictDrop || e.LocalIP != v6l || e.RemoteIP != v6r ||
				e.Direction != event.DirectionInbound || !strings.Contains(e.Info, "0xC000A002") {
				return "want ipsec drop"
			}
			return ""
		}},
		{"dosp drop", V2, spec{typ: TypeIPsecDoSPDrop, ipsecDir: fwpDirectionInbound}, func(e *event.Event) string {
			if e.Reason != event.ReasonIPsec || e.RemoteIP.String() != "192.0.2.1" || e.LocalIP.String() != "10.0.0.5" {
				return "want dosp hosts"
			}
			return ""
		}},
	}
	for _, c := range cases {
		a := newArena()
		p := a.build(c.v, c.s)
		var e event.Event
		if err := Decode(c.v, a, p, &e); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if msg := c.check(&e); msg != "" {
			t.Errorf("%s: %s; got %+v", c.name, msg, e)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	a := newArena()
	p := a.build(V5, spec{typ: TypeIKEExtMMFailure})
	var e event.Event
	if err := Decode(V5, a, p, &e); !errors.Is(err, ErrNotDecoded) {
		t.Errorf("IKE failure: %v, want ErrNotDecoded", err)
	}
	// A type newer than the struct version carries is not trusted.
	p = a.build(V1, spec{typ: TypeClassifyAllow})
	if err := Decode(V1, a, p, &e); !errors.Is(err, ErrNotDecoded) {
		t.Errorf("allow in v1: %v", err)
	}
	if err := Decode(V5, a, 0, &e); err == nil {
		t.Error("nil event decoded")
	}
	p = a.build(V5, spec{typ: TypeClassifyDrop})
	a.put64(p, Layouts[V5].OffUnion, 0)
	if err := Decode(V5, a, p, &e); err == nil || !strings.Contains(err.Error(), "CLASSIFY_DROP body") {
		t.Errorf("nil body: %v", err)
	}
	if err := Decode(9, a, p, &e); err == nil {
		t.Error("version 9 accepted")
	}
}

func TestTypeByName(t *testing.T) {
	for in, want := range map[string]uint32{"FWPM_NET_EVENT_TYPE_CLASSIFY_DROP": 3, "CAPABILITY_DROP": 7, "9": 9, "FWPM_NET_EVENT_TYPE_LPM_PACKET_ARRIVAL": 10, "IKEEXT_MM_FAILURE": 0} {
		if got, ok := TypeByName(in); !ok || got != want {
			t.Errorf("TypeByName(%q) = %d, %v", in, got, ok)
		}
	}
	if _, ok := TypeByName("11"); ok {
		t.Error("11 accepted")
	}
}

func TestFormatSID(t *testing.T) {
	if s := FormatSID([]byte{1, 0, 0, 0, 0, 0, 0, 0}); s != "S-1-0" {
		t.Error(s)
	}
	if s := FormatSID([]byte{1, 1, 1, 0, 0, 0, 0, 0, 5, 0, 0, 0}); s != "S-1-0x010000000000-5" {
		t.Error(s)
	}
	if s := FormatSID([]byte{1, 2, 0, 0, 0, 0, 0, 5, 1}); s != "" {
		t.Error("short SID formatted:", s)
	}
}

func TestFileTimeRoundTrip(t *testing.T) {
	if got := FileTime(ToFileTime(t0)); !got.Equal(t0) {
		t.Errorf("%v != %v", got, t0)
	}
	if !FileTime(0).IsZero() || !FileTime(5).Equal(time.Unix(0, 0)) {
		t.Error("edge FILETIMEs")
	}
}

// FuzzDecode feeds arbitrary bytes as an event at every version: Decode
// must never panic, whatever the pointers and sizes say.
func FuzzDecode(f *testing.F) {
	for v := V0; v <= V5; v++ {
		a := newArena()
		a.build(v, spec{typ: TypeClassifyDrop, app: `\device\x\a.exe`, user: true, pkg: true, filterID: 1, layerID: 48})
		f.Add(uint8(v), a.buf)
	}
	f.Fuzz(func(t *testing.T, v uint8, b []byte) {
		a := &arena{base: 0x10000, buf: b}
		var e event.Event
		_ = Decode(Version(v%6), a, 0x10000, &e)
	})
}

func BenchmarkDecode(b *testing.B) {
	a := newArena()
	p := a.build(V5, spec{time: t0, typ: TypeClassifyDrop, proto: 6, local: netip.MustParseAddr("10.1.2.3"),
		remote: netip.MustParseAddr("203.0.113.9"), lport: 1, rport: 2, app: `\device\harddiskvolume3\windows\system32\svchost.exe`,
		user: true, pkg: true, filterID: 1, layerID: 48, msDirection: msFwpDirectionOut})
	var e event.Event
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(V5, a, p, &e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
