package orient_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

var t0 = time.Date(2019, 2, 13, 18, 0, 0, 0, time.UTC)

// rec decodes one Security audit record the way every reader does. spec is
// "HOST ID DIR PID PROTO SRC:PORT [DST:PORT]", DIR "in", "out" or "-";
// addresses in brackets for IPv6.
func rec(t testing.TB, n int, spec string) event.Event {
	t.Helper()
	f := strings.Fields(spec)
	id, _ := strconv.Atoi(f[1])
	r := evtlog.Record{Provider: evtlog.ProviderName, EventID: id, Version: 1, RecordID: uint64(n + 1),
		Time: t0.Add(time.Duration(n) * time.Second), Computer: f[0]}
	add := func(k, v string) { r.Data = append(r.Data, evtlog.Field{Name: k, Value: v}) }
	add("ProcessID", f[3])
	add("Application", `\device\harddiskvolume1\windows\system32\svchost.exe`)
	switch f[2] {
	case "in":
		add("Direction", "%%14592")
	case "out":
		add("Direction", "%%14593")
	}
	ap := func(s string) (string, string) {
		a := netip.MustParseAddrPort(s)
		return a.Addr().String(), strconv.Itoa(int(a.Port()))
	}
	a, p := ap(f[5])
	add("SourceAddress", a)
	add("SourcePort", p)
	if len(f) > 6 {
		a, p := ap(f[6])
		add("DestAddress", a)
		add("DestPort", p)
	}
	add("Protocol", f[4])
	add("FilterRTID", "0")
	add("LayerName", "%%14610")
	var e event.Event
	if err := evtlog.Decode(&r, &e); err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	return e
}

// run orients the records of specs (with maxHeld) and returns the events as
// handed on and the orienter.
func run(t testing.TB, maxHeld int, specs ...string) ([]event.Event, *orient.Orienter) {
	t.Helper()
	var out []event.Event
	o := orient.New(func(e *event.Event) error { out = append(out, *e); return nil }, maxHeld)
	for i, s := range specs {
		e := rec(t, i, s)
		if err := o.Process(&e); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(specs) {
		t.Fatalf("%d events handed on, want %d", len(out), len(specs))
	}
	return out, o
}

func describe(e *event.Event) string {
	return fmt.Sprintf("local %v remote %v: %s by %s", e.Local(), e.Remote(), e.Orient.Order, e.Orient.By)
}

// TestEvidence checks each kind of evidence on its own: the last record is
// the inbound one under test, the ones before it give the host's state.
func TestEvidence(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		local string // the local end expected
		by    event.Evidence
		host  bool
	}{
		{"multicast in Source is local (older builds)",
			[]string{"H 5156 in 1588 17 239.255.255.250:1900 127.0.0.1:55141"}, "239.255.255.250:1900", event.EvidenceMulticast, false},
		{"multicast in Destination is local (Windows 10+)",
			[]string{"H 5156 in 1072 17 192.168.1.4:5353 224.0.0.251:5353"}, "224.0.0.251:5353", event.EvidenceMulticast, false},
		{"IPv6 multicast",
			[]string{"H 5156 in 1588 17 [ff02::c]:1900 [::1]:55139"}, "[ff02::c]:1900", event.EvidenceMulticast, false},
		{"directed broadcast in Source",
			[]string{"H 5156 in 4 17 10.255.255.255:137 10.0.2.18:137"}, "10.255.255.255:137", event.EvidenceMulticast, false},
		{"limited broadcast in Destination",
			[]string{"H 5157 in 4 17 172.18.39.5:68 255.255.255.255:67"}, "255.255.255.255:67", event.EvidenceMulticast, false},
		{"own address from an outbound event, in Source",
			[]string{"H 5156 out 520 6 10.0.2.15:49263 10.0.2.9:88", "H 5156 in 4 6 10.0.2.15:50001 10.0.2.17:50002"},
			"10.0.2.15:50001", event.EvidenceAddress, true},
		{"own address from an outbound event, in Destination",
			[]string{"H 5156 out 520 6 10.0.2.15:49263 10.0.2.9:88", "H 5156 in 4 6 10.0.2.17:50002 10.0.2.15:50001"},
			"10.0.2.15:50001", event.EvidenceAddress, true},
		{"own address from a bind",
			[]string{"H 5158 - 700 6 10.0.2.15:50001", "H 5156 in 700 6 10.0.2.17:50002 10.0.2.15:50001"},
			"10.0.2.15:50001", event.EvidenceAddress, true},
		{"port the same process listened on",
			[]string{"H 5154 - 700 6 0.0.0.0:50001", "H 5156 in 700 6 10.0.2.15:50001 10.0.2.17:50002"},
			"10.0.2.15:50001", event.EvidencePort, true},
		{"port the same process bound",
			[]string{"H 5158 - 700 6 0.0.0.0:50001", "H 5156 in 700 6 10.0.2.17:50002 10.0.2.15:50001"},
			"10.0.2.15:50001", event.EvidencePort, true},
		{"a port the process connected out from is a client's: no port evidence",
			[]string{"H 5158 - 700 6 0.0.0.0:50002", "H 5156 out 700 6 0.0.0.0:50002 10.0.2.9:445", "H 5156 in 700 6 10.0.2.15:50001 10.0.2.17:50002"},
			"10.0.2.17:50002", event.EvidenceDefault, false},
		{"ICMP echo request type in Source (older builds)",
			[]string{"H 5157 in 4 1 169.46.6.101:8 169.46.118.42:0"}, "169.46.6.101:0", event.EvidenceICMP, true},
		{"ICMPv6 router advertisement type in Destination",
			[]string{"H 5156 in 4 58 [fe80::1:1]:0 [fe80::2]:134"}, "[fe80::2]:0", event.EvidenceICMP, true},
		{"service port in Source",
			[]string{"DC 5156 in 4 6 10.0.2.15:445 10.0.2.17:49222"}, "10.0.2.15:445", event.EvidenceServicePort, true},
		{"service port in Destination",
			[]string{"DC 5156 in 4 6 10.0.2.17:49222 10.0.2.15:445"}, "10.0.2.15:445", event.EvidenceServicePort, true},
		{"registered against dynamic",
			[]string{"H 5156 in 4 6 127.0.0.2:3389 127.0.0.1:49271"}, "127.0.0.2:3389", event.EvidenceServicePort, true},
		{"nothing: packet order assumed",
			[]string{"H 5156 in 4 6 10.0.2.17:50002 10.0.2.15:50001"}, "10.0.2.15:50001", event.EvidenceDefault, false},
		{"two service-looking ports say nothing",
			[]string{"H 5156 in 4 6 10.0.2.17:445 10.0.2.15:8080"}, "10.0.2.15:8080", event.EvidenceDefault, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := run(t, 0, tt.specs...)
			e := &out[len(out)-1]
			if e.Local().String() != tt.local || e.Orient.By != tt.by {
				t.Errorf("%s; want local %s by %s", describe(e), tt.local, tt.by)
			}
			if e.Orient.Host != tt.host {
				// The host's order is what its records showed, this one
				// included; a group address or nothing at all is the
				// record's own.
				t.Errorf("scope host=%v, want %v", e.Orient.Host, tt.host)
			}
		})
	}
}

// TestRecordAlone: what Decode applies without an Orienter (watch, tests):
// only the proofs a record carries.
func TestRecordAlone(t *testing.T) {
	for _, tt := range []struct {
		spec, local string
		by          event.Evidence
	}{
		{"H 5156 in 1588 17 239.255.255.250:1900 127.0.0.1:55141", "239.255.255.250:1900", event.EvidenceMulticast},
		{"H 5157 in 4 1 169.46.6.101:8 169.46.118.42:0", "169.46.6.101:0", event.EvidenceICMP},
		{"DC 5156 in 4 6 10.0.2.15:445 10.0.2.17:49222", "10.0.2.17:49222", event.EvidenceDefault},
	} {
		e := rec(t, 0, tt.spec)
		if e.Local().String() != tt.local || e.Orient.By != tt.by {
			t.Errorf("%s: %s; want local %s by %s", tt.spec, describe(&e), tt.local, tt.by)
		}
		if o, by := orient.Record(&e, nil); by != tt.by && !(by == event.EvidenceNone && tt.by == event.EvidenceDefault) {
			t.Errorf("%s: Record says %s by %s", tt.spec, o, by)
		}
	}
}

// TestDomainControllerExample is the example of the issue: a domain
// controller of an older build logs an inbound 5156 for System with Source
// 10.0.2.15:445 and Destination 10.0.2.17:49222, and an inbound multicast
// 5156 with 239.255.255.250:1900 as Source.
func TestDomainControllerExample(t *testing.T) {
	out, o := run(t, 0,
		"DC1 5156 in 4 6 10.0.2.15:445 10.0.2.17:49222",
		"DC1 5156 in 1588 17 239.255.255.250:1900 10.0.2.20:55140",
	)
	e := &out[0]
	if e.Local().String() != "10.0.2.15:445" || e.Remote().String() != "10.0.2.17:49222" ||
		e.Orient.By != event.EvidenceMulticast || !e.Orient.Host {
		t.Errorf("DC 5156: %s", describe(e))
	}
	js := string(e.AppendJSON(nil))
	for _, want := range []string{
		`"source":{"ip":"10.0.2.17","port":49222}`, `"destination":{"ip":"10.0.2.15","port":445}`,
		`"orientation":{"order":"local-first","by":"multicast","scope":"host"}`,
		`"local":{"ip":"10.0.2.15","port":445}`, `"remote":{"ip":"10.0.2.17","port":49222}`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
	if p, _ := e.ServicePort(); p != 445 {
		t.Errorf("service port %d", p)
	}
	rs := o.Reports()
	if len(rs) != 1 || !strings.Contains(rs[0].String(), "DC1: local-first order (by multicast)") {
		t.Errorf("reports %v", rs)
	}
}

// TestLoopback: lsass answering dns.exe on ::1 port 389 is local 389, on a
// host of either order (both ends are the host's: the host's order
// decides).
func TestLoopback(t *testing.T) {
	packet, _ := run(t, 0,
		"DC01 5156 out 2348 17 [fe80::3b31:a8fa:5adc:7b9e]:52888 [2001:500:2::c]:53",
		"DC01 5156 in 1072 17 [fe80::3b31:a8fa:5adc:7b9e]:5353 [ff02::fb]:5353",
		"DC01 5156 out 2348 6 [::1]:54805 [::1]:389",
		"DC01 5156 in 600 6 [::1]:54805 [::1]:389",
	)
	older, _ := run(t, 0,
		"PC01 5156 in 1588 17 [ff02::c]:1900 [::1]:55139",
		"PC01 5156 out 2348 6 [::1]:54805 [::1]:389",
		"PC01 5156 in 600 6 [::1]:389 [::1]:54805",
	)
	for _, e := range []*event.Event{&packet[3], &older[2]} {
		if e.Local().String() != "[::1]:389" || !e.Orient.Host {
			t.Errorf("%s: %s", e.Host, describe(e))
		}
	}
}

// TestConflicts: stronger evidence wins over weaker, a record's own proof
// (a group address) over the host's order, and a tie falls to the next kind.
func TestConflicts(t *testing.T) {
	t.Run("multicast beats address", func(t *testing.T) {
		// The host's address evidence says packet (twice), multicast says
		// local-first (once): multicast is proof.
		out, o := run(t, 0,
			"H 5156 out 1 6 10.0.0.5:50000 10.0.0.9:80",
			"H 5156 in 3 17 224.0.0.251:5353 10.0.0.6:5353",
			"H 5156 in 2 6 10.0.0.7:50001 10.0.0.5:80",
			"H 5156 in 2 6 10.0.0.8:50001 10.0.0.5:80",
		)
		if e := &out[2]; e.Orient.Order != event.OrderLocalFirst || e.Orient.By != event.EvidenceMulticast {
			t.Errorf("%s", describe(e))
		}
		r := o.Reports()[0]
		if !strings.Contains(r.String(), "multicast 0:1 address 2:0") {
			t.Errorf("report does not show the conflict: %s", r)
		}
	})
	t.Run("address beats service port", func(t *testing.T) {
		// A UDP reply accepted on a client socket: the service port says
		// the remote end is local, the host's address says otherwise.
		out, _ := run(t, 0,
			"H 5156 out 1 17 10.0.0.5:50000 10.0.0.53:53",
			"H 5156 in 1 17 10.0.0.53:53 10.0.0.5:50000",
		)
		if e := &out[1]; e.Local().String() != "10.0.0.5:50000" || e.Orient.By != event.EvidenceAddress {
			t.Errorf("%s", describe(e))
		}
	})
	t.Run("a group address in the record beats the host's order", func(t *testing.T) {
		out, _ := run(t, 0,
			"H 5156 out 1 6 10.0.0.5:50000 10.0.0.9:80",
			"H 5156 in 2 6 10.0.0.7:50001 10.0.0.5:80",
			"H 5156 in 3 17 224.0.0.251:5353 10.0.0.6:5353",
		)
		if e := &out[2]; e.Local().String() != "224.0.0.251:5353" || e.Orient.By != event.EvidenceMulticast || e.Orient.Host {
			t.Errorf("%s", describe(e))
		}
	})
	t.Run("a tie falls to the next kind", func(t *testing.T) {
		out, o := run(t, 0,
			"H 5156 in 3 17 224.0.0.251:5353 10.0.0.6:5353",
			"H 5156 in 3 17 10.0.0.6:5353 224.0.0.251:5353",
			"H 5156 in 4 6 10.0.2.15:445 10.0.2.17:49222",
			"H 5156 in 4 6 10.0.2.15:445 10.0.2.18:49223",
		)
		if e := &out[3]; e.Orient.Order != event.OrderLocalFirst || e.Orient.By != event.EvidenceServicePort || !e.Orient.Host {
			t.Errorf("%s", describe(e))
		}
		if r := o.Reports()[0]; r.By != event.EvidenceServicePort {
			t.Errorf("report %s", r)
		}
	})
}

// TestStreaming: an inbound event waits for its host's evidence and keeps
// its place; hosts are kept apart; the cap decides with what is known.
func TestStreaming(t *testing.T) {
	t.Run("evidence after the event", func(t *testing.T) {
		out, _ := run(t, 0,
			"OLD 5156 in 4 6 10.0.0.5:50001 10.0.0.7:50002", // nothing yet: held
			"NEW 5156 in 4 6 10.1.0.7:50002 10.1.0.5:50001", // another host: held behind it
			"OLD 5156 out 1 6 10.0.0.5:50000 10.0.0.9:80",   // OLD is 10.0.0.5
			"NEW 5156 out 1 6 10.1.0.5:50000 10.1.0.9:80",   // NEW is 10.1.0.5
		)
		for i, e := range out {
			if e.RecordID != uint64(i+1) {
				t.Fatalf("order changed: record %d at %d", e.RecordID, i)
			}
		}
		if e := &out[0]; e.Local().String() != "10.0.0.5:50001" || e.Orient.By != event.EvidenceAddress {
			t.Errorf("OLD: %s", describe(e))
		}
		if e := &out[1]; e.Local().String() != "10.1.0.5:50001" || e.Orient.By != event.EvidenceAddress {
			t.Errorf("NEW: %s", describe(e))
		}
	})
	t.Run("cap", func(t *testing.T) {
		// With room for one held event, the first is decided with what is
		// known then (service port), before the address evidence comes.
		specs := []string{
			"H 5156 in 4 6 10.0.0.5:445 10.0.0.7:50002",
			"H 5156 in 4 6 10.0.0.5:445 10.0.0.8:50003",
			"H 5156 in 4 6 10.0.0.5:445 10.0.0.9:50004",
			"H 5156 out 1 6 10.0.0.7:50000 10.0.0.99:80", // says the other order
		}
		out, _ := run(t, 1, specs...)
		if e := &out[0]; e.Local().String() != "10.0.0.5:445" || e.Orient.By != event.EvidenceServicePort {
			t.Errorf("capped: %s", describe(e))
		}
		all, _ := run(t, 0, specs...)
		if e := &all[0]; e.Local().String() != "10.0.0.7:50002" || e.Orient.By != event.EvidenceAddress {
			t.Errorf("uncapped: %s", describe(e))
		}
	})
	t.Run("emit error", func(t *testing.T) {
		boom := errors.New("boom")
		o := orient.New(func(*event.Event) error { return boom }, 0)
		e := rec(t, 0, "H 5156 out 1 6 10.0.0.5:50000 10.0.0.9:80")
		if err := o.Process(&e); !errors.Is(err, boom) {
			t.Errorf("Process: %v", err)
		}
		in := rec(t, 1, "H2 5156 in 4 6 10.0.0.5:50001 10.0.0.7:50002")
		if err := o.Process(&in); err != nil {
			t.Errorf("held: %v", err)
		}
		if err := o.Close(); !errors.Is(err, boom) {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestWaiting: readers may decode permits for evidence exactly while an
// inbound event waits for its host's order.
func TestWaiting(t *testing.T) {
	o := orient.New(func(*event.Event) error { return nil }, 0)
	steps := []struct {
		spec    string
		waiting bool
	}{
		{"H 5157 out 1 6 10.0.0.5:50000 10.0.0.9:80", false},
		{"G 5157 in 4 6 10.1.0.7:50002 10.1.0.5:50001", true}, // G: nothing known
		{"G 5157 in 4 6 10.1.0.8:50003 10.1.0.5:50001", true},
		{"G 5156 out 1 6 10.1.0.5:50000 10.1.0.9:80", false}, // a permit shows G's address
	}
	for i, s := range steps {
		e := rec(t, i, s.spec)
		if err := o.Process(&e); err != nil {
			t.Fatal(err)
		}
		if o.Waiting() != s.waiting {
			t.Errorf("after %s: Waiting %v", s.spec, o.Waiting())
		}
	}
}

// TestManyHosts: past the hosts it tracks, an orienter decides record by
// record, and still hands events on in order.
func TestManyHosts(t *testing.T) {
	var specs []string
	specs = append(specs, "FIRST 5156 in 4 6 10.0.0.7:50002 10.0.0.5:50001") // held: nothing known
	for i := 0; i < 4200; i++ {
		specs = append(specs, fmt.Sprintf("H%d 5156 out 1 6 10.0.0.5:50000 10.0.0.9:80", i))
	}
	specs = append(specs, "LAST 5156 in 1588 17 239.255.255.250:1900 127.0.0.1:55141")
	out, _ := run(t, 0, specs...)
	for i, e := range out {
		if e.RecordID != uint64(i+1) {
			t.Fatalf("order changed at %d", i)
		}
	}
	if e := &out[len(out)-1]; e.Local().String() != "239.255.255.250:1900" || e.Orient.Host {
		t.Errorf("last: %s", describe(e))
	}
}
