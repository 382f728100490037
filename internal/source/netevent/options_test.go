package netevent

import (
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

type fakeOpts struct {
	v   map[uint32]uint32
	set []OptionChange
}

func (f *fakeOpts) Option(o uint32) (uint32, error) { return f.v[o], nil }
func (f *fakeOpts) SetOption(o, v uint32) error {
	f.set = append(f.set, OptionChange{o, f.v[o], v})
	f.v[o] = v
	return nil
}

func TestEnableCollectionOnlyWhatIsOff(t *testing.T) {
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 1, wfp.OptionNetEventMatchAnyKeyword: wfp.KeywordCapabilityDrop}}
	g, err := EnableCollection(f, KeywordsFor(false, false))
	if err != nil || len(f.set) != 0 || g.CollectionWasOff {
		t.Fatalf("changed what was on: %v %v", f.set, err)
	}
	if err := g.Restore(); err != nil || len(f.set) != 0 {
		t.Fatalf("restore touched: %v", f.set)
	}
}

func TestEnableAndRestoreExactly(t *testing.T) {
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 0, wfp.OptionNetEventMatchAnyKeyword: wfp.KeywordInboundMcast}}
	g, err := EnableCollection(f, KeywordsFor(true, true))
	if err != nil || !g.CollectionWasOff || len(g.Changes) != 2 {
		t.Fatalf("%+v %v", g, err)
	}
	if f.v[wfp.OptionCollectNetEvents] != 1 || f.v[wfp.OptionNetEventMatchAnyKeyword] != wfp.KeywordInboundMcast|0x4|0x8|0x10|0x20 {
		t.Fatalf("values %v", f.v)
	}
	// Another tool adds a keyword meanwhile: it is kept.
	f.v[wfp.OptionNetEventMatchAnyKeyword] |= wfp.KeywordInboundBcast
	if err := g.Restore(); err != nil {
		t.Fatal(err)
	}
	if f.v[wfp.OptionCollectNetEvents] != 0 || f.v[wfp.OptionNetEventMatchAnyKeyword] != wfp.KeywordInboundMcast|wfp.KeywordInboundBcast {
		t.Fatalf("after restore %v", f.v)
	}
	for _, s := range f.set {
		if s.Option == wfp.OptionMonitorIPsecConnections {
			t.Fatal("MONITOR_IPSEC_CONNECTIONS set")
		}
	}
	n := len(f.set)
	g.Restore()
	if len(f.set) != n {
		t.Error("second restore changed something")
	}
}

func TestRecheck(t *testing.T) {
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 1}}
	g, _ := EnableCollection(f, 0)
	f.v[wfp.OptionCollectNetEvents] = 0 // another tool turned it off
	if did, err := g.Recheck(); !did || err != nil || f.v[wfp.OptionCollectNetEvents] != 1 {
		t.Fatalf("recheck %v %v", did, err)
	}
	if did, _ := g.Recheck(); did {
		t.Error("recheck acted with collection on")
	}
}
