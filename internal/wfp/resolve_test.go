package wfp

import (
	"errors"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

type fakeLookup struct {
	filters map[uint64]FilterInfo
	calls   int
}

func (f *fakeLookup) FilterByID(id uint64) (FilterInfo, error) {
	f.calls++
	if fi, ok := f.filters[id]; ok {
		return fi, nil
	}
	return FilterInfo{}, &StatusError{Call: "FwpmFilterGetById0", Status: ErrFilterNotFound}
}
func (f *fakeLookup) LayerByID(id uint16) (LayerInfo, error) {
	if id == 70 {
		return LayerInfo{ID: 70, Name: "Some New Layer"}, nil
	}
	return LayerInfo{}, errors.New("no")
}
func (f *fakeLookup) ProviderName(k GUID) (string, error) {
	if k == ProviderMpssvcWF {
		return "Microsoft Windows WF Provider", nil
	}
	return "", errors.New("no")
}

type rulesMap map[string]string

func (m rulesMap) RuleName(id string) (string, bool) { n, ok := m[id]; return n, ok }

func TestResolverRuleAndCache(t *testing.T) {
	lk := &fakeLookup{filters: map[uint64]FilterInfo{
		70123: {ID: 70123, Name: "Block curl", ProviderKey: ProviderMpssvcWF, RuleID: "{A1B2}"},
	}}
	r := NewResolver(lk, rulesMap{"{A1B2}": "Block curl outbound"}, 2)
	e := event.Event{HasFilterID: true, FilterID: 70123, HasLayerID: true, LayerID: 48, Kind: event.KindConnection}
	r.Resolve(&e)
	if e.FilterName != "Block curl" || e.FilterProvider != "Microsoft Windows WF Provider" || e.RuleID != "{A1B2}" ||
		e.RuleName != "Block curl outbound" || e.Reason != event.ReasonRule || e.Verdict != event.VerdictBlock || e.LayerName != "ALE_AUTH_CONNECT_V4" {
		t.Fatalf("%+v", e)
	}
	r.Resolve(&event.Event{HasFilterID: true, FilterID: 70123})
	if lk.calls != 1 || r.Hits != 1 {
		t.Errorf("calls %d hits %d", lk.calls, r.Hits)
	}
	// A filter change invalidates.
	lk.filters[70123] = FilterInfo{ID: 70123, Name: "Renamed"}
	r.Invalidate(FilterChange{FilterID: 70123})
	if fi, _ := r.Filter(70123); fi.Name != "Renamed" {
		t.Errorf("stale after change: %q", fi.Name)
	}
}

func TestResolverUnresolvedKeepsEvent(t *testing.T) {
	lk := &fakeLookup{filters: map[uint64]FilterInfo{}}
	r := NewResolver(lk, nil, 10)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	e := event.Event{HasFilterID: true, FilterID: 5, HasLayerID: true, LayerID: 70}
	r.Resolve(&e)
	if e.FilterID != 5 || e.FilterName != "" || e.Reason != event.ReasonUnresolved || e.LayerName != "Some New Layer" {
		t.Fatalf("%+v", e)
	}
	r.Resolve(&e)
	if lk.calls != 1 {
		t.Errorf("negative entry not cached: %d calls", lk.calls)
	}
	now = now.Add(time.Minute)
	r.Resolve(&e)
	if lk.calls != 2 {
		t.Errorf("negative entry not expired: %d calls", lk.calls)
	}
}

func TestResolverBounded(t *testing.T) {
	lk := &fakeLookup{filters: map[uint64]FilterInfo{}}
	for i := uint64(0); i < 100; i++ {
		lk.filters[i] = FilterInfo{ID: i}
	}
	r := NewResolver(lk, nil, 10)
	for i := uint64(0); i < 100; i++ {
		r.Filter(i)
	}
	if len(r.filters) > 10 || len(r.order) > 20 {
		t.Errorf("cache grew: %d filters, %d order", len(r.filters), len(r.order))
	}
}

func TestResolverFilterOrigin(t *testing.T) {
	r := NewResolver(&fakeLookup{}, rulesMap{"CoreNet-DHCP-In": "Core Networking - DHCP (DHCP-In)"}, 0)
	e := event.Event{FilterOrigin: "CoreNet-DHCP-In", Code: 5157}
	r.Resolve(&e)
	if e.RuleName != "Core Networking - DHCP (DHCP-In)" || e.Reason != event.ReasonRule {
		t.Fatalf("%+v", e)
	}
}

func TestParseRuleString(t *testing.T) {
	m := ParseRuleString("v2.30|Action=Block|Active=TRUE|Dir=Out|App=C:\\x\\curl.exe|Name=@FirewallAPI.dll,-28502|RA4=1.1.1.1|RA4=2.2.2.2|Desc=x|")
	if m["v"] != "2.30" || m["Action"] != "Block" || m["Name"] != "@FirewallAPI.dll,-28502" || m["RA4"] != "1.1.1.1" {
		t.Fatalf("%v", m)
	}
}

func TestParseResourceRef(t *testing.T) {
	cases := map[string]ResourceRef{
		"@FirewallAPI.dll,-28502":                          {"FirewallAPI.dll", 28502},
		`@%SystemRoot%\system32\firewallapi.dll,-37302`:    {`%SystemRoot%\system32\firewallapi.dll`, 37302},
		"@C:\\Program Files\\a,b\\x.dll,-7;legacy comment": {"C:\\Program Files\\a,b\\x.dll", 7},
	}
	for in, want := range cases {
		if got, ok := ParseResourceRef(in); !ok || got != want {
			t.Errorf("%q → %+v %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "Plain name", "@x.dll", "@x.dll,12", "@{Microsoft.Photos?ms-resource://x}", "@,-1"} {
		if _, ok := ParseResourceRef(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestRuleTable(t *testing.T) {
	reads := 0
	tb := &RuleTable{Read: func(id string) (string, bool) {
		reads++
		if id == "R1" {
			return "v2.30|Name=@FirewallAPI.dll,-1|", true
		}
		if id == "R2" {
			return "v2.30|Name=Plain|", true
		}
		return "", false
	}, Indirect: func(ref string) (string, error) { return "Resolved " + ref, nil }}
	if n, _ := tb.RuleName("R1"); n != "Resolved @FirewallAPI.dll,-1" {
		t.Error(n)
	}
	if n, _ := tb.RuleName("R2"); n != "Plain" {
		t.Error(n)
	}
	if _, ok := tb.RuleName("nope"); ok {
		t.Error("unknown rule named")
	}
	tb.RuleName("R1")
	if reads != 3 {
		t.Errorf("%d reads", reads)
	}
}

func FuzzParseRule(f *testing.F) {
	f.Add("v2.30|Action=Block|Name=@FirewallAPI.dll,-28502|")
	f.Add("@%SystemRoot%\\x.dll,-1;c")
	f.Fuzz(func(t *testing.T, s string) {
		ParseRuleString(s)
		ParseResourceRef(s)
	})
}
