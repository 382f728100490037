package wfp

import (
	"testing"
)

func TestGUIDRoundTrip(t *testing.T) {
	for _, s := range []string{"c38d57d1-05a7-4c33-904f-7fbceee60e82", "0c1ba1af-5765-453f-af22-a8f791ac775b"} {
		g := MustGUID("{" + s + "}")
		if g.String() != s {
			t.Errorf("%s → %s", s, g)
		}
	}
	if g := MustGUID("c38d57d1-05a7-4c33-904f-7fbceee60e82"); g.Data1 != 0xc38d57d1 || g.Data2 != 0x05a7 || g.Data4[0] != 0x90 {
		t.Errorf("fields %+v", g)
	}
	for _, bad := range []string{"", "c38d57d1-05a7-4c33-904f", "x38d57d1-05a7-4c33-904f-7fbceee60e82"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSelftestPlan(t *testing.T) {
	cases, err := SelftestPlan(50000, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 8 {
		t.Fatalf("%d cases", len(cases))
	}
	ports := map[uint16]bool{}
	for _, c := range cases {
		if ports[c.Port] {
			t.Errorf("%s reuses port %d", c.Name, c.Port)
		}
		ports[c.Port] = true
		conds := c.Conditions([]byte{1, 2})
		want := 3
		if c.Trigger == "connect" {
			// This process only: the client port it binds, not just the
			// program's app id.
			want = 4
			if c.ClientPort < 50008 || ports[c.ClientPort] || conds[3].Field != CondIPLocalPort || conds[3].U != uint64(c.ClientPort) {
				t.Errorf("%s: client port %d, conditions %v", c.Name, c.ClientPort, conds)
			}
			ports[c.ClientPort] = true
		}
		if len(conds) != want || conds[2].Field != CondALEAppID {
			t.Errorf("%s: conditions %v", c.Name, conds)
		}
		sl := MustGUID("11111111-2222-3333-4444-555555555555")
		f := c.Filter(sl, []byte{1, 2})
		if f.SubLayer != sl || f.Flags != FilterFlagClearActionRight || f.Action != ActionBlock || f.LayerKey != c.LayerKey || len(f.Conditions) != want {
			t.Errorf("%s: filter %+v", c.Name, f)
		}
		if c.Trigger == "connect" && (conds[0].Field != CondIPRemoteAddress || conds[1].Field != CondIPRemotePort) {
			t.Errorf("%s: connect must match the remote side: %v", c.Name, conds)
		}
		if c.Trigger != "connect" && (conds[0].Field != CondIPLocalAddress || conds[1].Field != CondIPLocalPort) {
			t.Errorf("%s: must match the local side: %v", c.Name, conds)
		}
		if c.V6 != (conds[0].Type == TypeByteArray16) || (!c.V6 && conds[0].U != 0x7f000001) {
			t.Errorf("%s: loopback condition %v", c.Name, conds[0])
		}
		if conds[1].U != uint64(c.Port) || conds[1].Type != TypeUint16 {
			t.Errorf("%s: port condition %v", c.Name, conds[1])
		}
	}
	if cases[0].LayerKey != LayerALEAuthListenV4 || cases[0].LayerID != 40 || cases[7].LayerKey != LayerALEResourceAssignmentV6 {
		t.Errorf("layers: %+v / %+v", cases[0], cases[7])
	}
	if _, err := SelftestPlan(80, true, false); err == nil {
		t.Error("port 80 accepted")
	}
	if _, err := SelftestPlan(65535-SelftestPorts+1, true, true); err == nil {
		t.Error("a base whose ports pass 65535 accepted")
	}
	for p := range ports {
		if p < 50000 || p >= 50000+SelftestPorts {
			t.Errorf("port %d outside base..base+%d", p, SelftestPorts-1)
		}
	}
	if sl := SelftestSubLayer(MustGUID("11111111-2222-3333-4444-555555555555")); sl.Weight != 0xFFFF || sl.Name == "" {
		t.Errorf("sublayer %+v", sl)
	}
}
