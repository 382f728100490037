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
