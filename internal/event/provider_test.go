package event

import "testing"

func TestThirdPartyProvider(t *testing.T) {
	for _, c := range []struct {
		p    string
		want bool
	}{
		{"", false},
		{"{63dd0fa6-3cc5-4f44-91ab-ef56b7af8eae}", false},
		{"Microsoft Corporation", false},
		{"FWPM_PROVIDER_MPSSVC_WF", false},
		{"@bfe.dll,-1217", false},
		{"WFP Built-in MPSSVC Tenant Restrictions Sublayer", false},
		{"Sophos Network Threat Protection Provider", true},
		{"Nmap Software LLC", true},
		{"ProtonVPN Dynamic Provider", true},
	} {
		if got := ThirdPartyProvider(c.p); got != c.want {
			t.Errorf("ThirdPartyProvider(%q) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestClassifyProviderBlock(t *testing.T) {
	e := Event{Code: 5157, FilterOrigin: "Unknown", FilterID: 70001, HasFilterID: true, LayerID: 48, HasLayerID: true,
		FilterProvider: "ProtonVPN Dynamic Provider"}
	Classify(&e)
	if e.Reason != ReasonProvider || e.Verdict != VerdictBlock || !e.Kind.ConnectionLevel() {
		t.Errorf("reason %q verdict %q kind %q", e.Reason, e.Verdict, e.Kind)
	}
	e = Event{Code: 5157, FilterOrigin: "Unknown", FilterID: 1, HasFilterID: true, LayerID: 48, HasLayerID: true,
		FilterProvider: "Microsoft Corporation"}
	Classify(&e)
	if e.Reason != ReasonUnresolved {
		t.Errorf("Microsoft provider: reason %q", e.Reason)
	}
}
