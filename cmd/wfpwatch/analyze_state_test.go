package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const smallState = "../../internal/source/wfpstate/testdata/small_state.xml"

// stateEvent returns the fixture's 5157 with filter 92001 turned into a
// block by filter 70001 of small_state.xml, Filter Origin "Unknown", at
// time ts.
func stateEvent(t *testing.T, ts string) string {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	for _, part := range strings.Split(string(b), "<Event ")[1:] {
		if strings.Contains(part, "FilterRTID'>92001<") {
			s = "<Event " + part[:strings.Index(part, "</Event>")] + "</Event>"
		}
	}
	if s == "" {
		t.Fatal("fixture lacks the event with filter 92001")
	}
	s = strings.Replace(s, "FilterRTID'>92001<", "FilterRTID'>70001<", 1)
	s = regexp.MustCompile(`FilterOrigin'>[^<]*<`).ReplaceAllString(s, "FilterOrigin'>Unknown<")
	s = regexp.MustCompile(`SystemTime='[^']*'`).ReplaceAllString(s, "SystemTime='"+ts+"'")
	p := filepath.Join(t.TempDir(), "ev.xml")
	if err := os.WriteFile(p, []byte("<Events>"+s+"</Events>"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnalyzeStateResolves(t *testing.T) {
	for _, c := range []struct {
		name, ts string
		args     func(ev string) []string
		want     []string
		stderr   string
	}{
		{"--state", "2026-01-08T16:00:00.0000000Z", func(ev string) []string { return []string{"-v", "--format", "json", "--state", smallState, ev} },
			[]string{`"reason":"provider"`, `VPN blockiert IPv4`, `Beispiel VPN`}, "1 event(s) resolved, 0 stale"},
		{"dump as input", "2026-01-08T16:00:00.0000000Z", func(ev string) []string { return []string{"-v", "--format", "json", smallState, ev} },
			[]string{`"reason":"provider"`}, "1 event(s) resolved"},
		{"stale", "2026-03-02T09:15:00.0000000Z", func(ev string) []string { return []string{"-v", "--format", "json", "--state", smallState, ev} },
			[]string{`"reason":"unresolved"`}, "0 event(s) resolved, 1 stale"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runAnalyze(context.Background(), c.args(stateEvent(t, c.ts)), &out, &errOut); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %s:\n%s", w, out.String())
				}
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, errOut.String())
			}
		})
	}
}
