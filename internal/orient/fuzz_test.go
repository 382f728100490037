package orient_test

import (
	"fmt"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
)

// fuzzSpecs turns bytes into record specs for rec: 6 bytes a record (host,
// event id and direction, pid, protocol, source, destination), from small
// pools so that hosts, addresses, ports and processes repeat.
func fuzzSpecs(b []byte) []string {
	hosts := []string{"A", "B", "C"}
	kinds := []struct{ id, dir string }{
		{"5156", "in"}, {"5157", "in"}, {"5156", "out"}, {"5157", "out"},
		{"5158", "-"}, {"5154", "-"}, {"5152", "in"}, {"5031", "in"},
	}
	addrs := []string{"10.0.0.5", "10.0.0.7", "127.0.0.1", "224.0.0.251", "10.0.0.255",
		"[::1]", "[fe80::1]", "[ff02::c]", "0.0.0.0", "255.255.255.255"}
	ports := []string{"0", "8", "53", "135", "445", "1030", "3389", "8080", "49152", "50000", "61000", "65535"}
	protos := []string{"6", "17", "1", "58"}
	var specs []string
	for len(b) >= 6 && len(specs) < 64 {
		k := kinds[int(b[1])%len(kinds)]
		a := func(x byte) string {
			ad := addrs[int(x)%len(addrs)]
			if ad[0] == '[' != (addrs[int(b[4])%len(addrs)][0] == '[') { // keep one family per record
				ad = addrs[int(b[4])%len(addrs)]
			}
			return ad + ":" + ports[int(x>>4)%len(ports)]
		}
		s := fmt.Sprintf("%s %s %s %d %s %s", hosts[int(b[0])%len(hosts)], k.id, k.dir, b[2]%4, protos[int(b[3])%len(protos)], a(b[4]))
		if k.id != "5158" && k.id != "5154" && k.id != "5031" {
			s += " " + a(b[5])
		}
		specs = append(specs, s)
		b = b[6:]
	}
	return specs
}

// FuzzOrienter checks, over any stream, that every event is handed on once
// and in order, that orienting only ever swaps the two ends of an inbound
// connection event (what Windows wrote is kept: RawEnds is unchanged), and
// that the rest is left alone.
func FuzzOrienter(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0x30, 0x41, 0, 2, 1, 0, 0x71, 0x11})
	f.Add([]byte{1, 1, 0, 2, 0x50, 0x11, 1, 3, 2, 1, 0x22, 0x33, 2, 4, 3, 0, 0x90, 0})
	f.Add([]byte{0, 6, 0, 1, 0x01, 0x30, 0, 0, 0, 1, 0x30, 0x01, 0, 5, 3, 0, 0xa0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		specs := fuzzSpecs(b)
		var in []event.Event
		for i, s := range specs {
			in = append(in, rec(t, i, s))
		}
		for _, maxHeld := range []int{0, 1, 3} {
			var out []event.Event
			o := orient.New(func(e *event.Event) error { out = append(out, *e); return nil }, maxHeld)
			for i := range in {
				e := in[i]
				if err := o.Process(&e); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in) {
				t.Fatalf("%d events in, %d out", len(in), len(out))
			}
			for i := range out {
				a, b := &in[i], &out[i]
				if a.RecordID != b.RecordID {
					t.Fatalf("order changed at %d", i)
				}
				s1, d1, sp1, dp1, hs1, hd1 := a.RawEnds()
				s2, d2, sp2, dp2, hs2, hd2 := b.RawEnds()
				if s1 != s2 || d1 != d2 || sp1 != sp2 || dp1 != dp2 || hs1 != hs2 || hd1 != hd2 {
					t.Fatalf("%s: raw ends changed", specs[i])
				}
				if !a.Orientable() && (a.Local() != b.Local() || a.Remote() != b.Remote() || a.Orient.Order != b.Orient.Order) {
					t.Fatalf("%s: not orientable, yet changed", specs[i])
				}
				if a.Orientable() && (b.Orient.Order == event.OrderNone || b.Orient.By == event.EvidenceNone) {
					t.Fatalf("%s: no order recorded: %+v", specs[i], b.Orient)
				}
			}
			for _, r := range o.Reports() {
				_ = r.String()
			}
		}
	})
}
