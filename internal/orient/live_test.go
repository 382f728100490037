package orient_test

import (
	"net/netip"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
)

func TestOrderForBuild(t *testing.T) {
	for _, tt := range []struct {
		build uint32
		want  event.Order
	}{
		{0, event.OrderNone},
		{7601, event.OrderLocalFirst}, // Windows 7 / 2008 R2
		{9600, event.OrderLocalFirst}, // 8.1 / 2012 R2
		{10240, event.OrderPacket},    // Windows 10 1507
		{14393, event.OrderPacket},    // Server 2016
		{26100, event.OrderPacket},    // Windows 11 24H2 / Server 2025
	} {
		if got := orient.OrderForBuild(tt.build); got != tt.want {
			t.Errorf("build %d: %s, want %s", tt.build, got, tt.want)
		}
	}
}

// TestLive: watch's orienter knows the machine's addresses and build, so
// it never holds an event, and the addresses outrank the build.
func TestLive(t *testing.T) {
	var out []event.Event
	o := orient.New(func(e *event.Event) error { out = append(out, *e); return nil }, 0)
	o.Live(orient.Facts{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}, Build: 9600, Order: event.OrderLocalFirst})
	for i, spec := range []string{
		"PC 5157 in 600 6 [::1]:389 [::1]:54805",       // loopback: the build decides
		"PC 5157 in 4 6 10.0.0.7:50002 10.0.0.5:50001", // the address decides
	} {
		e := rec(t, i, spec)
		if err := o.Process(&e); err != nil {
			t.Fatal(err)
		}
		if o.Waiting() || len(out) != i+1 {
			t.Fatalf("%s was held", spec)
		}
	}
	if e := &out[0]; e.Local().String() != "[::1]:389" || e.Orient.By != event.EvidenceOS {
		t.Errorf("loopback: %s", describe(e))
	}
	if e := &out[1]; e.Local().String() != "10.0.0.5:50001" || e.Orient.By != event.EvidenceAddress {
		t.Errorf("address: %s", describe(e))
	}
}

// With Facts.Host (a collector's ForwardedEvents), the machine's own
// facts orient only its own events; another host's event is decided from
// its own evidence as it comes (here only the port rank), never held.
func TestLiveOtherHosts(t *testing.T) {
	var out []event.Event
	o := orient.New(func(e *event.Event) error { out = append(out, *e); return nil }, 0)
	o.Live(orient.Facts{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}, Build: 9600, Order: event.OrderLocalFirst, Host: "COLLECTOR"})
	own := rec(t, 0, "PC 5157 in 4 6 10.0.0.7:50002 10.0.0.5:50001")
	own.Host = "collector.corp.example"
	if err := o.Process(&own); err != nil {
		t.Fatal(err)
	}
	other := rec(t, 1, "PC 5157 in 4 6 10.0.0.7:50002 10.0.0.5:50001")
	other.Host = "WS9.corp.example"
	if err := o.Process(&other); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Orient.By != event.EvidenceAddress || o.Waiting() {
		t.Fatalf("%d out, waiting %v", len(out), o.Waiting())
	}
	if by := out[1].Orient.By; by == event.EvidenceAddress || by == event.EvidenceOS {
		t.Errorf("another host's event was oriented with this machine's facts: %s", describe(&out[1]))
	}
}
