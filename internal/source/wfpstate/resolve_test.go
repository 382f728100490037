package wfpstate

import (
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

func TestResolveRealDump(t *testing.T) {
	var r Resolver
	d := readFile(t, samples.Path(t, realDump))
	r.Add("", d)
	at := d.Time.Add(-time.Hour)
	for _, c := range []struct {
		name     string
		e        event.Event
		want     Outcome
		filter   string
		provider string
	}{
		// Filter 66226 "Boot Time Filter" (FWPM_PROVIDER_MPSSVC_WF) sits at
		// ALE_AUTH_RECV_ACCEPT_V4, layer id 44 in this dump.
		{"right layer", event.Event{Time: at, FilterID: 66226, HasFilterID: true, LayerID: 44, HasLayerID: true},
			Resolved, "Boot Time Filter", "Microsoft Corporation"},
		{"wrong layer", event.Event{Time: at, FilterID: 66226, HasFilterID: true, LayerID: 48, HasLayerID: true},
			Stale, "", ""},
		{"too long before the dump", event.Event{Time: d.Time.Add(-3 * MaxSkew), FilterID: 66226, HasFilterID: true, LayerID: 44, HasLayerID: true},
			Stale, "", ""},
		{"unknown id", event.Event{Time: at, FilterID: 1, HasFilterID: true, LayerID: 44, HasLayerID: true},
			Unknown, "", ""},
		{"no id", event.Event{Time: at}, NoID, "", ""},
	} {
		e := c.e
		if got := r.Resolve(&e); got != c.want || e.FilterName != c.filter || e.FilterProvider != c.provider {
			t.Errorf("%s: %v %q %q, want %v %q %q", c.name, got, e.FilterName, e.FilterProvider, c.want, c.filter, c.provider)
		}
		// A boot-time filter is not a rule: its name must not become one.
		if c.want == Resolved && (e.LayerName != "ALE_AUTH_RECV_ACCEPT_V4" || e.RuleName != "") {
			t.Errorf("%s: layer %q rule %q", c.name, e.LayerName, e.RuleName)
		}
	}
	if r.Resolved != 1 || r.Stale != 2 || r.Unknown != 1 {
		t.Errorf("counts %d/%d/%d, want 1/2/1", r.Resolved, r.Stale, r.Unknown)
	}
}

func TestResolveHostAndFilterXML(t *testing.T) {
	var r Resolver
	r.Add("pc1", readFile(t, "testdata/small_filters.xml")) // no layer table, no time
	e := event.Event{Host: "PC1", FilterID: 66000, HasFilterID: true, LayerID: 44, HasLayerID: true, Time: time.Now()}
	if got := r.Resolve(&e); got != Resolved || e.FilterProvider != "FWPM_PROVIDER_MPSSVC_WF" {
		t.Errorf("same host: %v %+v", got, e)
	}
	e = event.Event{Host: "pc2", FilterID: 66000, HasFilterID: true}
	if got := r.Resolve(&e); got != Unknown {
		t.Errorf("other host: %v", got)
	}
	e = event.Event{Host: "pc1", FilterID: 66000, HasFilterID: true, LayerID: 48, HasLayerID: true}
	if got := r.Resolve(&e); got != Stale {
		t.Errorf("wrong layer by name: %v", got)
	}
}

func BenchmarkResolve(b *testing.B) {
	var r Resolver
	r.Add("", readFile(b, "testdata/small_state.xml"))
	ev := event.Event{FilterID: 70001, HasFilterID: true, LayerID: 48, HasLayerID: true}
	for b.Loop() {
		e := ev
		r.Resolve(&e)
	}
}

func TestResolveThirdPartyBlock(t *testing.T) {
	var r Resolver
	r.Add("", readFile(t, "testdata/small_state.xml"))
	e := event.Event{Code: 5157, FilterOrigin: "Unknown", FilterID: 70001, HasFilterID: true, LayerID: 48, HasLayerID: true,
		Time: time.Date(2026, 1, 8, 12, 0, 0, 0, time.UTC)}
	event.Classify(&e)
	if e.Reason != event.ReasonUnresolved {
		t.Fatalf("before: reason %q", e.Reason)
	}
	if got := r.Resolve(&e); got != Resolved || e.Reason != event.ReasonProvider || e.FilterProvider != "Beispiel VPN" ||
		e.FilterName != "VPN blockiert IPv4" || e.Verdict != event.VerdictBlock {
		t.Errorf("%v: reason %q provider %q filter %q verdict %q", got, e.Reason, e.FilterProvider, e.FilterName, e.Verdict)
	}
}

func TestSameHost(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"WS7", "ws7.corp.example", true},
		{"ws7.corp.example", "WS7.CORP.EXAMPLE", true},
		{"ws7.corp.example", "ws7.other.example", false},
		{"WS7", "WS70", false},
		{"", "", true},
	} {
		if got := SameHost(c.a, c.b); got != c.want {
			t.Errorf("SameHost(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// TestResolveBoots: boot markers of the host decide whether a dump and an
// event share a boot, at any distance; without markers reaching back, the
// MaxSkew window decides.
func TestResolveBoots(t *testing.T) {
	d := readFile(t, "testdata/small_state.xml")
	at := d.Time
	ev := func(host string, when time.Duration) event.Event {
		return event.Event{Host: host, Code: 5157, FilterID: 70001, HasFilterID: true, LayerID: 48, HasLayerID: true, Time: at.Add(when)}
	}
	day := 24 * time.Hour
	for _, c := range []struct {
		name  string
		boots []time.Duration // markers of WS7, relative to the dump
		e     event.Event
		want  Outcome
	}{
		{"no markers, near", nil, ev("WS7", 2*time.Hour), Resolved},
		{"no markers, far", nil, ev("WS7", 3*day), Stale},
		{"boot before both, event a week later", []time.Duration{-2 * day}, ev("WS7", 7*day), Resolved},
		{"boot before both, event a week earlier", []time.Duration{-9 * day}, ev("WS7", -7*day), Resolved},
		{"reboot between, event after", []time.Duration{-2 * day, time.Hour}, ev("WS7", 2*time.Hour), Stale},
		{"reboot between, event before", []time.Duration{-2 * day, -time.Hour}, ev("WS7", -2*time.Hour), Stale},
		{"fqdn event, short-name markers", []time.Duration{-time.Minute}, ev("ws7.corp.example", -time.Hour), Stale},
		{"markers of another host", []time.Duration{time.Hour}, ev("PC9", 2*time.Hour), Resolved},
		{"markers start after the dump, none between", []time.Duration{5 * day}, ev("WS7", 3*day), Stale},
		{"markers start after the dump, one between", []time.Duration{2 * time.Hour}, ev("WS7", 3*time.Hour), Stale},
	} {
		var r Resolver
		r.Add("", d)
		for _, b := range c.boots {
			r.AddBoot("WS7", at.Add(b))
		}
		e := c.e
		if got := r.Resolve(&e); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		if c.want == Resolved && e.FilterName == "" {
			t.Errorf("%s: resolved without a name", c.name)
		}
		if c.want == Stale && (e.FilterName != "" || r.StaleBoot+r.StaleTooFar != 1 || r.StaleLayer != 0) {
			t.Errorf("%s: %q, causes layer %d boot %d too far %d", c.name, e.FilterName, r.StaleLayer, r.StaleBoot, r.StaleTooFar)
		}
		if c.name == "no markers, far" && r.StaleTooFar != 1 || c.name == "reboot between, event after" && r.StaleBoot != 1 {
			t.Errorf("%s: causes boot %d too far %d", c.name, r.StaleBoot, r.StaleTooFar)
		}
	}
}
