package event

import (
	"strings"
	"testing"
)

// parseFilterOriginRef is the plain form of ParseFilterOrigin (it
// allocates); the fast one must agree with it on every input.
func parseFilterOriginRef(origin string) (reason, ruleID string) {
	o := strings.TrimSpace(origin)
	switch strings.ToLower(o) {
	case "", "-", "unknown", "%%8193", "n/a", "none":
		return "", ""
	}
	for _, d := range DefaultBlocks {
		if strings.EqualFold(o, d.Origin) || strings.EqualFold(strings.ReplaceAll(o, " ", ""), strings.ReplaceAll(d.Origin, " ", "")) {
			return ReasonDefault + d.Name, ""
		}
	}
	return ReasonRule, o
}

var originCases = []struct{ in, reason, rule string }{
	{"", "", ""},
	{" - ", "", ""},
	{"Unknown", "", ""},
	{"UNKNOWN", "", ""},
	{"%%8193", "", ""},
	{"N/A", "", ""},
	{"Stealth", "default:stealth", ""},
	{"WSH Default", "default:wsh", ""},
	{"wshdefault", "default:wsh", ""},
	{" Query  User Default ", "default:query_user", ""},
	{"AppContainer Loopback", "default:appcontainer_loopback", ""},
	{"Default Outbound", "default:outbound", ""},
	{"default  inbound", "default:inbound", ""},
	{"Default Outbounds", "rule", "Default Outbounds"},
	{"WSH Defaul", "rule", "WSH Defaul"},
	{"WSH Defaultx", "rule", "WSH Defaultx"},
	{"{8A2C7B1E-0D4F-4C1B-9F2E-0123456789AB}", "rule", "{8A2C7B1E-0D4F-4C1B-9F2E-0123456789AB}"},
	{"CoreNet-DHCP-In", "rule", "CoreNet-DHCP-In"},
	{"\u212Aunknown", "rule", "\u212Aunknown"},
	{"Stealth\u212A", "rule", "Stealth\u212A"},
}

func TestParseFilterOrigin(t *testing.T) {
	for _, c := range originCases {
		reason, rule := ParseFilterOrigin(c.in)
		if reason != c.reason || rule != c.rule {
			t.Errorf("ParseFilterOrigin(%q) = %q, %q; want %q, %q", c.in, reason, rule, c.reason, c.rule)
		}
	}
}

func TestParseFilterOriginAllocs(t *testing.T) {
	for _, in := range []string{"WSH Default", "{8A2C7B1E-0D4F-4C1B-9F2E-0123456789AB}", "Unknown"} {
		if n := testing.AllocsPerRun(100, func() { ParseFilterOrigin(in) }); n != 0 {
			t.Errorf("ParseFilterOrigin(%q) allocates %v times", in, n)
		}
	}
}

func FuzzParseFilterOrigin(f *testing.F) {
	for _, c := range originCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r1, id1 := ParseFilterOrigin(in)
		r2, id2 := parseFilterOriginRef(in)
		if r1 != r2 || id1 != id2 {
			t.Fatalf("ParseFilterOrigin(%q) = %q, %q; the plain form gives %q, %q", in, r1, id1, r2, id2)
		}
	})
}

func TestOriginKnown(t *testing.T) {
	for in, want := range map[string]bool{
		"":                                       true,
		"Unknown":                                true,
		"Default Outbound":                       true,
		"WSH Default":                            true,
		"{8A2C7B1E-0D4F-4C1B-9F2E-0123456789AB}": true,
		"CoreNet-DHCP-In":                        true,
		"Default Blocked":                        false,
		"Some Vendor Default":                    false,
	} {
		if got := OriginKnown(in); got != want {
			t.Errorf("OriginKnown(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDefaultBlocksDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range DefaultBlocks {
		if d.Origin == "" || d.Name == "" || d.Doc == "" || len(d.Filters) == 0 {
			t.Errorf("%+v: every default needs an origin, a name, a line of doc and its filters", d)
		}
		if seen[d.Name] {
			t.Errorf("%s listed twice", d.Name)
		}
		seen[d.Name] = true
		for _, f := range d.Filters {
			if got := DefaultOfFilter(f); got != ReasonDefault+d.Name {
				t.Errorf("DefaultOfFilter(%q) = %q, want %q", f, got, ReasonDefault+d.Name)
			}
		}
	}
}

func TestOriginTally(t *testing.T) {
	var tally OriginTally
	for _, o := range []string{"Default Outbound", "{1-2}", "CoreNet-DHCP-In", "Vendor Default", "Vendor Default", "Other Thing", ""} {
		tally.Add(&Event{FilterOrigin: o})
	}
	tally.Add(&Event{FilterOrigin: "Resolved Rule", RuleName: "Allow it"})
	var b strings.Builder
	tally.WriteTo(&b)
	want := "Filter Origin values that are neither a default block nor a rule id (counted as rules):\n" +
		"  \"Vendor Default\": 2 event(s)\n  \"Other Thing\": 1 event(s)\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	var empty OriginTally
	if n, _ := empty.WriteTo(&b); n != 0 {
		t.Errorf("an empty tally wrote %d bytes", n)
	}
}
