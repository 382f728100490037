package evtlog

import (
	"strings"
	"testing"
)

// TestCanonicalField checks the exact-spelling switch of CanonicalField
// against knownFields: every known field maps to itself in any case, and
// nothing else matches.
func TestCanonicalField(t *testing.T) {
	for _, k := range knownFields {
		for _, in := range []string{k, strings.ToLower(k), strings.ToUpper(k)} {
			if got := CanonicalField(in); got != k {
				t.Errorf("CanonicalField(%q) = %q, want %q", in, got, k)
			}
		}
	}
	for _, in := range []string{"", "ProcessID ", "Process", "SubjectUserSid", "processidx"} {
		if got := CanonicalField(in); got != "" {
			t.Errorf("CanonicalField(%q) = %q, want \"\"", in, got)
		}
	}
}
