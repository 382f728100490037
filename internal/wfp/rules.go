package wfp

import (
	"strconv"
	"strings"
	"sync"
)

// ParseRuleString splits a Windows Firewall rule as the registry stores it
// ("v2.30|Action=Block|Dir=In|Name=@FirewallAPI.dll,-28502|…") into its
// fields. Keys that repeat (LA4, RA4…) keep their first value. The
// version is under key "v".
func ParseRuleString(s string) map[string]string {
	out := map[string]string{}
	for i, f := range strings.Split(s, "|") {
		if f == "" {
			continue
		}
		if i == 0 && strings.HasPrefix(f, "v") && !strings.Contains(f, "=") {
			out["v"] = f[1:]
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if _, dup := out[k]; !dup {
			out[k] = v
		}
	}
	return out
}

// ResourceRef is an indirect string "@file,-id".
type ResourceRef struct {
	File string // as written, environment variables unexpanded
	ID   int    // the string resource id (positive)
}

// ParseResourceRef parses "@%SystemRoot%\system32\FirewallAPI.dll,-28502"
// (optionally followed by ";comment"). Package references
// ("@{Package?ms-resource://…}") are not file references: ok is false for
// them, though the Windows resolver still hands them to
// SHLoadIndirectString.
func ParseResourceRef(s string) (ResourceRef, bool) {
	if !strings.HasPrefix(s, "@") || strings.HasPrefix(s, "@{") {
		return ResourceRef{}, false
	}
	s = s[1:]
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	i := strings.LastIndexByte(s, ',')
	if i <= 0 {
		return ResourceRef{}, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s[i+1:]))
	if err != nil || n >= 0 {
		return ResourceRef{}, false
	}
	return ResourceRef{File: strings.TrimSpace(s[:i]), ID: -n}, true
}

// RuleTable resolves firewall rule ids to display names through two
// functions (the registry and SHLoadIndirectString on Windows), caching
// at most Max names.
type RuleTable struct {
	// Read returns the registry rule string of a rule id.
	Read func(id string) (string, bool)
	// Indirect loads an "@…" resource string.
	Indirect func(ref string) (string, error)
	Max      int

	mu    sync.Mutex
	cache map[string]string
}

// RuleName returns the display name of rule id.
func (t *RuleTable) RuleName(id string) (string, bool) {
	t.mu.Lock()
	if n, ok := t.cache[id]; ok {
		t.mu.Unlock()
		return n, n != ""
	}
	t.mu.Unlock()
	name := ""
	if s, ok := t.Read(id); ok {
		name = ParseRuleString(s)["Name"]
		if strings.HasPrefix(name, "@") && t.Indirect != nil {
			if r, err := t.Indirect(name); err == nil && r != "" {
				name = r
			}
		}
	}
	t.mu.Lock()
	if t.cache == nil {
		t.cache = map[string]string{}
	}
	max := t.Max
	if max <= 0 {
		max = 4096
	}
	if len(t.cache) >= max {
		t.cache = map[string]string{} // simple and bounded: start over
	}
	t.cache[id] = name
	t.mu.Unlock()
	return name, name != ""
}
