package orient_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
)

// TestLogon checks the logon evidence: a 4624/4625/5140/5145 client of the
// same host, a few seconds away, names the remote end of an inbound event.
func TestLogon(t *testing.T) {
	type client struct {
		after int    // given after this many records (-1: before all)
		host  string // Computer of the logon
		at    int    // seconds after t0
		ep    string // IpAddress:IpPort
	}
	tests := []struct {
		name    string
		specs   []string // the last one is the inbound event under test
		clients []client
		local   string
		by      event.Evidence
	}{
		{"DC example: 4624 right after names the client",
			[]string{"DC 5156 in 4 6 10.0.2.15:445 10.0.2.17:49222"},
			[]client{{1, "DC", 1, "10.0.2.17:49222"}}, "10.0.2.15:445", event.EvidenceLogon},
		{"client after, two ephemeral ports",
			[]string{"H 5156 in 4 6 10.0.2.15:50001 10.0.2.17:50002"},
			[]client{{1, "H", 2, "10.0.2.17:50002"}}, "10.0.2.15:50001", event.EvidenceLogon},
		{"client before, packet order",
			[]string{"H 5156 in 4 6 10.0.2.17:50002 10.0.2.15:50001"},
			[]client{{-1, "H", 0, "[::ffff:10.0.2.17]:50002"}}, "10.0.2.15:50001", event.EvidenceLogon},
		{"no match: another port",
			[]string{"H 5156 in 4 6 10.0.2.15:50001 10.0.2.17:50002"},
			[]client{{1, "H", 1, "10.0.2.17:50003"}}, "10.0.2.17:50002", event.EvidenceDefault},
		{"wrong host",
			[]string{"H 5156 in 4 6 10.0.2.15:50001 10.0.2.17:50002"},
			[]client{{1, "OTHER", 1, "10.0.2.17:50002"}}, "10.0.2.17:50002", event.EvidenceDefault},
		{"outside the window",
			[]string{"H 5156 in 4 6 10.0.2.15:50001 10.0.2.17:50002"},
			[]client{{1, "H", 60, "10.0.2.17:50002"}}, "10.0.2.17:50002", event.EvidenceDefault},
		{"stronger evidence wins: the host's own address",
			[]string{"H 5156 out 4 6 10.0.2.15:50009 10.0.2.9:80", "H 5156 in 4 6 10.0.2.17:50002 10.0.2.15:50001"},
			[]client{{2, "H", 2, "10.0.2.15:50001"}}, "10.0.2.15:50001", event.EvidenceAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []event.Event
			o := orient.New(func(e *event.Event) error { out = append(out, *e); return nil }, 0)
			give := func(n int) {
				for _, c := range tt.clients {
					if c.after == n {
						ap := netip.MustParseAddrPort(c.ep)
						if err := o.Client(orient.Client{Host: c.host, Time: t0.Add(time.Duration(c.at) * time.Second), Addr: ap.Addr(), Port: ap.Port()}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			give(-1)
			for i, s := range tt.specs {
				e := rec(t, i, s)
				if err := o.Process(&e); err != nil {
					t.Fatal(err)
				}
				give(i + 1)
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			e := &out[len(out)-1]
			if got := e.Local().String(); got != tt.local || e.Orient.By != tt.by {
				t.Errorf("got %s, want local %s by %s", describe(e), tt.local, tt.by)
			}
		})
	}
}
