package store

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Filter.Hosts selects by computer name, whether the host is in the host
// column (records with an id) or in the extra blob (records identified by
// their fingerprint), and TopHosts counts the same way.
func TestHostFilter(t *testing.T) {
	db, _ := openTemp(t, Options{})
	mk := func(host string, rec uint64, i int) event.Event {
		return event.Event{Time: base.Add(time.Duration(i) * time.Second), Code: 5157, RecordID: rec, Host: host,
			Verdict: event.VerdictBlock, Kind: event.KindConnection, Direction: event.DirectionInbound,
			RemoteIP: netip.MustParseAddr("192.0.2.1"), ICMPType: -1, ICMPCode: -1}
	}
	var evs []event.Event
	for i := range 6 {
		evs = append(evs, mk("WS7.corp.example", uint64(100+i), i))     // host column
		evs = append(evs, mk("DC01.corp.example", 0, 10+i))             // fingerprint: host in extra
		evs = append(evs, mk("ws70.corp.example", uint64(200+i), 20+i)) // a name WS7 must not match
	}
	writeAll(t, db, evs)
	for _, c := range []struct {
		hosts []string
		want  int
	}{
		{[]string{"WS7"}, 6},
		{[]string{"ws7.CORP.example"}, 6},
		{[]string{"dc01"}, 6},
		{[]string{"ws7*"}, 12},
		{[]string{"WS7", "DC01"}, 12},
		{[]string{"nobody"}, 0},
	} {
		got := collect(t, db, Filter{Hosts: c.hosts}, 0)
		if len(got) != c.want {
			t.Errorf("Hosts %q: %d events, want %d", c.hosts, len(got), c.want)
		}
		for _, e := range got {
			if len(c.hosts) == 1 && c.hosts[0] == "dc01" && e.Host != "DC01.corp.example" {
				t.Errorf("dc01 gave %q", e.Host)
			}
		}
	}
	res, err := db.TopHosts(context.Background(), Filter{Hosts: []string{"dc01", "ws70*"}}, 10)
	if err != nil || res.Total != 12 || len(res.Rows) != 2 {
		t.Errorf("TopHosts = %+v, %v", res, err)
	}
}

// Filter.Providers selects blocks by the provider of their filter.
func TestProviderFilter(t *testing.T) {
	db, _ := openTemp(t, Options{})
	var evs []event.Event
	for i := range 9 {
		e := event.Event{Time: base.Add(time.Duration(i) * time.Second), Code: 5157, RecordID: uint64(i + 1), Host: "WS7",
			Verdict: event.VerdictBlock, Kind: event.KindConnection, Direction: event.DirectionOutbound, ICMPType: -1, ICMPCode: -1,
			FilterID: uint64(70000 + i), HasFilterID: true}
		switch i % 3 {
		case 0:
			e.FilterProvider, e.Reason = "ProtonVPN Dynamic Provider", "provider"
		case 1:
			e.FilterProvider, e.Reason = "Microsoft Corporation", "rule"
		}
		evs = append(evs, e)
	}
	writeAll(t, db, evs)
	for _, c := range []struct {
		providers []string
		want      int
	}{
		{[]string{"proton"}, 3},
		{[]string{"*vpn*"}, 3},
		{[]string{"ProtonVPN"}, 3},
		{[]string{"microsoft", "proton"}, 6},
		{[]string{"sophos"}, 0},
	} {
		got := collect(t, db, Filter{Providers: c.providers}, 0)
		if len(got) != c.want {
			t.Errorf("Providers %q: %d events, want %d", c.providers, len(got), c.want)
		}
		for _, e := range got {
			if e.FilterProvider == "" {
				t.Errorf("Providers %q matched an event without a provider", c.providers)
			}
		}
	}
}
