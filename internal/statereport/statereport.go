// Package statereport writes what a WFP state dump says in words an
// administrator can read: who has filters in the engine, which sublayers
// decide first, which blocks come from outside the Windows Firewall, and
// which third-party drivers inspect traffic through callouts.
package statereport

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

// maxListed is how many filter names a line lists before "…".
const maxListed = 3

// Summary writes the overview of d to w.
func Summary(w io.Writer, d *wfpstate.Dump) error {
	t := newTables(d)
	b := &strings.Builder{}
	if d.Root == "live" {
		fmt.Fprintf(b, "WFP state of this host, read live at %s:", d.Time.UTC().Format("2006-01-02 15:04:05Z"))
	} else if !d.Time.IsZero() {
		fmt.Fprintf(b, "WFP state of %s:", d.Time.UTC().Format("2006-01-02 15:04:05Z"))
	} else {
		b.WriteString("WFP state:")
	}
	b.WriteString("\n  ")
	fmt.Fprintf(b, "%d filters, %d providers, %d sublayers, %d layers, %d callouts\n",
		len(d.Filters), len(d.Providers), len(d.SubLayers), len(d.Layers), len(d.Callouts))

	// Providers with block/permit/callout counts.
	type counts struct{ block, permit, callout int }
	per := map[string]*counts{}
	for _, f := range d.Filters {
		k := t.providerLabel(f.ProviderKey)
		c := per[k]
		if c == nil {
			c = &counts{}
			per[k] = c
		}
		switch {
		case f.Action == "FWP_ACTION_BLOCK":
			c.block++
		case f.Action == "FWP_ACTION_PERMIT":
			c.permit++
		default:
			c.callout++
		}
	}
	names := make([]string, 0, len(per))
	for k := range per {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := per[names[i]], per[names[j]]
		if x, y := a.block+a.permit+a.callout, b.block+b.permit+b.callout; x != y {
			return x > y
		}
		return names[i] < names[j]
	})
	b.WriteString("\nProviders by filters:\n  block permit callout  provider\n")
	for _, n := range names {
		c := per[n]
		fmt.Fprintf(b, "  %5d %6d %7d  %s\n", c.block, c.permit, c.callout, n)
	}

	// Sublayers by weight: the highest weight is evaluated first.
	subs := append([]wfpstate.SubLayer(nil), d.SubLayers...)
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Weight > subs[j].Weight })
	b.WriteString("\nSublayers, highest weight first (each decides on its own; a block wins over a\npermit of another sublayer unless that permit is a hard permit):\n")
	for _, s := range subs {
		line := fmt.Sprintf("  %5d  %s", s.Weight, orKey(s.Name, s.Key))
		// The provider of a third party's sublayer says whose it is; the
		// built-in ones say it in their names.
		if p := t.providerName(s.ProviderKey); s.ProviderKey != "" && event.ThirdPartyProvider(p) {
			if of := " of " + p; utf8.RuneCountInString(line+of) <= 80 {
				line += of
			} else {
				line += "\n         of " + p
			}
		}
		b.WriteString(line + "\n")
	}

	// Block filters outside the Windows Firewall, grouped by provider.
	b.WriteString("\nBlock filters outside the Windows Firewall:\n")
	type group struct {
		provider string
		layers   map[string]bool
		names    []string
	}
	var groups []*group
	byProv := map[string]*group{}
	for _, f := range d.Filters {
		p := t.providerName(f.ProviderKey)
		if f.Action != "FWP_ACTION_BLOCK" || !event.ThirdPartyProvider(p) {
			continue
		}
		g := byProv[p]
		if g == nil {
			g = &group{provider: p, layers: map[string]bool{}}
			byProv[p] = g
			groups = append(groups, g)
		}
		g.layers[shortLayer(f.LayerKey)] = true
		g.names = append(g.names, f.Name)
	}
	if len(groups) == 0 {
		b.WriteString("  none\n")
	}
	for _, g := range groups {
		fmt.Fprintf(b, "  %s: %d block filter(s) at %s\n", g.provider, len(g.names), setList(g.layers))
		wrap(b, quoteList(g.names), "    ", 80)
	}

	// Callouts of third-party drivers.
	b.WriteString("\nCallouts of third-party drivers (callout id, name, layer):\n")
	// A callout is third-party when its provider is, or when a filter of a
	// third-party provider calls it (drivers often register callouts
	// without a provider key).
	usedBy := map[string]string{}
	for _, f := range d.Filters {
		if p := t.providerName(f.ProviderKey); f.CalloutKey != "" && event.ThirdPartyProvider(p) {
			usedBy[f.CalloutKey] = p
		}
	}
	n := 0
	last := ""
	for _, c := range sortedCallouts(d.Callouts, t, usedBy) {
		p := t.providerName(c.ProviderKey)
		if !event.ThirdPartyProvider(p) {
			if p = usedBy[c.Key]; p == "" {
				continue
			}
		}
		n++
		if p != last {
			fmt.Fprintf(b, "  %s:\n", p)
			last = p
		}
		fmt.Fprintf(b, "    %5d  %q at %s\n", c.ID, c.Name, shortLayer(c.Layer))
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sortedCallouts orders callouts by the provider they are listed under,
// keeping the dump's order within one, so each provider heads one group.
func sortedCallouts(cs []wfpstate.Callout, t *tables, usedBy map[string]string) []wfpstate.Callout {
	out := append([]wfpstate.Callout(nil), cs...)
	prov := func(c wfpstate.Callout) string {
		if p := t.providerName(c.ProviderKey); event.ThirdPartyProvider(p) {
			return p
		}
		return usedBy[c.Key]
	}
	sort.SliceStable(out, func(i, j int) bool { return prov(out[i]) < prov(out[j]) })
	return out
}

// wrap writes text to b in lines of at most width columns (a longer word
// stays whole), each starting with indent.
func wrap(b *strings.Builder, text, indent string, width int) {
	line := indent
	for _, w := range strings.Fields(text) {
		if line != indent && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	if line != indent {
		b.WriteString(line + "\n")
	}
}

// Filter writes one filter, with its conditions in words, or an error
// naming the id when d has no such filter.
func Filter(w io.Writer, d *wfpstate.Dump, id uint64) error {
	t := newTables(d)
	for _, f := range d.Filters {
		if f.ID != id {
			continue
		}
		b := &strings.Builder{}
		fmt.Fprintf(b, "Filter %d: %s\n", f.ID, orKey(f.Name, f.Key))
		if f.Description != "" {
			d := &strings.Builder{}
			wrap(d, f.Description, "               ", 80)
			b.WriteString("  description: " + strings.TrimPrefix(d.String(), "               "))
		}
		fmt.Fprintf(b, "  key:         %s\n", f.Key)
		fmt.Fprintf(b, "  provider:    %s\n", t.providerLabel(f.ProviderKey))
		layer := shortLayer(f.LayerKey)
		if l, ok := t.layers[f.LayerKey]; ok {
			layer += fmt.Sprintf(" (layer id %d)", l.ID)
		}
		fmt.Fprintf(b, "  layer:       %s\n", layer)
		sub := f.SubLayerKey
		if s, ok := t.subs[f.SubLayerKey]; ok {
			sub = fmt.Sprintf("%s (weight %d)", orKey(s.Name, s.Key), s.Weight)
		}
		fmt.Fprintf(b, "  sublayer:    %s\n", sub)
		action := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(f.Action, "FWP_ACTION_"), "_", " "))
		if f.CalloutKey != "" {
			action += " via callout " + t.calloutLabel(f.CalloutKey)
		}
		fmt.Fprintf(b, "  action:      %s\n", action)
		fmt.Fprintf(b, "  weight:      %s (effective %d)\n", orKey(f.Weight, "automatic"), f.EffectiveWeight)
		if len(f.Flags) > 0 {
			fmt.Fprintf(b, "  flags:       %s\n", strings.Join(trimAll(f.Flags, "FWPM_FILTER_FLAG_"), ", "))
		}
		if len(f.Conditions) == 0 {
			b.WriteString("  matches:     all traffic at this layer\n")
		} else {
			b.WriteString("  matches when:\n")
			for _, c := range f.Conditions {
				fmt.Fprintf(b, "    %s\n", Words(c))
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	if d.Root == "live" {
		return fmt.Errorf("no filter with id %d in the engine now (filter ids change at every boot, and the filter may have been removed since the event)", id)
	}
	return fmt.Errorf("no filter with id %d in this dump (filter ids change at every boot: take the dump in the boot the events come from)", id)
}

// Words renders one condition as a sentence fragment:
// "remote port is in 1-1024", "application is \device\…\app.exe".
func Words(c wfpstate.Condition) string {
	field := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(c.Field, "FWPM_CONDITION_"), "_", " "))
	switch field {
	case "ale app id":
		field = "application"
	case "ale user id":
		field = "user"
	case "ip protocol":
		field = "protocol"
	default:
		// "ip remote port" reads "remote port"; "ip local address v4" too.
		if strings.HasPrefix(field, "ip local ") || strings.HasPrefix(field, "ip remote ") {
			field = strings.TrimPrefix(field, "ip ")
		}
	}
	match := map[string]string{
		"FWP_MATCH_EQUAL": "is", "FWP_MATCH_NOT_EQUAL": "is not", "FWP_MATCH_RANGE": "is in",
		"FWP_MATCH_FLAGS_ALL_SET": "has all of flags", "FWP_MATCH_FLAGS_ANY_SET": "has any of flags",
		"FWP_MATCH_FLAGS_NONE_SET": "has none of flags", "FWP_MATCH_GREATER": "is greater than",
		"FWP_MATCH_LESS": "is less than", "FWP_MATCH_GREATER_OR_EQUAL": "is at least",
		"FWP_MATCH_LESS_OR_EQUAL": "is at most", "FWP_MATCH_PREFIX": "starts with",
		"FWP_MATCH_NOT_PREFIX": "does not start with", "FWP_MATCH_EQUAL_CASE_INSENSITIVE": "is (any case)",
	}[c.Match]
	if match == "" {
		match = strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(c.Match, "FWP_MATCH_"), "_", " "))
	}
	v := c.Value
	if field == "protocol" {
		switch v {
		case "6":
			v = "TCP"
		case "17":
			v = "UDP"
		case "1":
			v = "ICMP"
		case "58":
			v = "ICMPv6"
		}
	}
	// netsh writes an IPv4 address condition as its FWP_UINT32 number.
	if c.Type == "FWP_UINT32" && strings.Contains(field, "address") {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			v = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
		}
	}
	if c.Type == "FWP_SECURITY_DESCRIPTOR_TYPE" {
		v = "allowed by " + v
		match = "is"
	}
	return fmt.Sprintf("%s %s %s", field, match, v)
}

type tables struct {
	providers map[string]wfpstate.Provider
	subs      map[string]wfpstate.SubLayer
	layers    map[string]wfpstate.Layer
	callouts  map[string]wfpstate.Callout
}

func newTables(d *wfpstate.Dump) *tables {
	t := &tables{providers: map[string]wfpstate.Provider{}, subs: map[string]wfpstate.SubLayer{},
		layers: map[string]wfpstate.Layer{}, callouts: map[string]wfpstate.Callout{}}
	for _, p := range d.Providers {
		t.providers[p.Key] = p
	}
	for _, s := range d.SubLayers {
		t.subs[s.Key] = s
	}
	for _, l := range d.Layers {
		t.layers[l.Key] = l
	}
	for _, c := range d.Callouts {
		t.callouts[c.Key] = c
	}
	return t
}

// providerName is the provider's display name, its key when it has none,
// or "" for filters without a provider.
func (t *tables) providerName(key string) string {
	if p, ok := t.providers[key]; ok && p.Name != "" {
		return p.Name
	}
	return key
}

// providerLabel tells providers apart even when several share a display
// name ("Microsoft Corporation"): the name with the key or service.
func (t *tables) providerLabel(key string) string {
	if key == "" {
		return "(no provider)"
	}
	p, ok := t.providers[key]
	if !ok || p.Name == "" {
		return key
	}
	detail := p.ServiceName
	if strings.HasPrefix(key, "FWPM_PROVIDER_") {
		detail = strings.TrimPrefix(key, "FWPM_PROVIDER_")
	}
	if detail == "" {
		detail = key
		if len(key) == 38 && key[0] == '{' {
			detail = key[:9] + "…}" // enough to tell providers of one name apart
		}
	}
	return p.Name + " (" + detail + ")"
}

func (t *tables) calloutLabel(key string) string {
	if c, ok := t.callouts[key]; ok && c.Name != "" {
		if c.ProviderKey == "" {
			return strconv.Quote(c.Name)
		}
		return fmt.Sprintf("%q (%s)", c.Name, t.providerLabel(c.ProviderKey))
	}
	return key
}

func shortLayer(k string) string { return strings.TrimPrefix(k, "FWPM_LAYER_") }

func orKey(name, key string) string {
	if name != "" {
		return name
	}
	return key
}

func trimAll(ss []string, prefix string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimPrefix(s, prefix)
	}
	return out
}

func setList(m map[string]bool) string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}

func quoteList(names []string) string {
	var q []string
	for i, n := range names {
		if i == maxListed {
			q = append(q, "… and "+strconv.Itoa(len(names)-maxListed)+" more")
			break
		}
		q = append(q, strconv.Quote(n))
	}
	return strings.Join(q, ", ")
}
