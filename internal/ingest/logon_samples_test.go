package ingest

import (
	"context"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// TestSampleLogonClients checks what the RDP tunnel sample yields as logon
// evidence: its one 4624 with a client names 127.0.0.1:49274, the client
// end of the inbound 5156 to 127.0.0.2:3389 written 12.5 s before it, so
// outside orient.LogonWindow (the sample's order is settled by multicast).
func TestSampleLogonClients(t *testing.T) {
	path := samples.Path(t, "evtx/EVTX-ATTACK-SAMPLES_DE_RDP_Tunnel_5156.evtx")
	var got []orient.Client
	_, err := WalkWith(context.Background(), []string{path}, WalkOptions{Client: func(c orient.Client) error { got = append(got, c); return nil }},
		func(*event.Event) error { return nil }, func(*Problem) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Addr.String() != "127.0.0.1" || got[0].Port != 49274 || got[0].Host != "PC01.example.corp" {
		t.Fatalf("clients %+v, want one: PC01.example.corp 127.0.0.1:49274", got)
	}
}
