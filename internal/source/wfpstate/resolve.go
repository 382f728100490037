package wfpstate

import (
	"sort"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Outcome is what Resolver.Resolve did with one event.
type Outcome int

const (
	// NoID: the event names no filter id; nothing to do.
	NoID Outcome = iota
	// Resolved: the filter was found, at the event's layer, in a dump
	// plausible for the event; names were filled in.
	Resolved
	// Stale: a dump knows the id but its layer or time disagrees with the
	// event (filter ids are per boot and reused); nothing was filled in.
	Stale
	// Unknown: no dump knows the id.
	Unknown
)

// MaxSkew is how far from a dump's time an event may be for the dump's
// filter ids to be trusted when the inputs say nothing of the host's
// boots. Run-time ids hold only within one boot; without boot markers
// reaching back before both times, a day around the dump is the bound (a
// dump with no time is trusted at any time).
const MaxSkew = 24 * time.Hour

// Resolver fills filter, provider, layer and rule names into events from
// state dumps, the offline counterpart of wfp.Resolver. It only reads its
// dumps after Add; it is not safe for concurrent Add and Resolve.
type Resolver struct {
	idx []*index
	// Counts of Resolve outcomes, for analyze -v. Stale is split by cause:
	// the filter is at another layer, a boot marker of the host lies
	// between the dump and the event, or (no markers) they are more than
	// MaxSkew apart.
	Resolved, Stale, Unknown           uint64
	StaleLayer, StaleBoot, StaleTooFar uint64
	// boots holds the boot-marker times of each host (key: bootKey),
	// sorted when sorted is set.
	boots  map[string][]time.Time
	sorted bool
	// anyHost are the hosts whose events a dump without a host resolved
	// (at most 64 are kept: only whether there are several matters).
	anyHost map[string]bool
}

// HostlessHosts returns how many hosts' events were resolved by a dump
// added without a host name. More than one means a dump of one host named
// the filters of others, whose ids mean something else there: give each
// dump its host (analyze --state HOST=FILE).
func (r *Resolver) HostlessHosts() int { return len(r.anyHost) }

type index struct {
	host      string // "" matches events of any host
	at        time.Time
	filters   map[uint64]*Filter
	layerID   map[string]uint16 // layer key -> run-time id
	layerName map[uint16]string
	providers map[string]string // provider key -> display name
}

// Add indexes a dump for events of host ("" for any host). The dump must
// not change afterwards.
func (r *Resolver) Add(host string, d *Dump) {
	x := &index{host: host, at: d.Time, filters: make(map[uint64]*Filter, len(d.Filters)),
		layerID: map[string]uint16{}, layerName: map[uint16]string{}, providers: map[string]string{}}
	for i := range d.Filters {
		x.filters[d.Filters[i].ID] = &d.Filters[i]
	}
	for _, l := range d.Layers {
		x.layerID[l.Key] = l.ID
		x.layerName[l.ID] = l.Name
	}
	for _, p := range d.Providers {
		x.providers[p.Key] = p.Name
	}
	r.idx = append(r.idx, x)
}

// AddBoot records a boot marker of host at t (evtlog.Boot: a start or a
// shutdown): filter ids of a dump and of an event on either side of it
// belong to different boots. Add every marker before resolving.
func (r *Resolver) AddBoot(host string, t time.Time) {
	if r.boots == nil {
		r.boots = map[string][]time.Time{}
	}
	k := bootKey(host)
	r.boots[k] = append(r.boots[k], t)
	r.sorted = false
}

// bootKey is a host's first DNS label in lower case, so that "WS7" and
// "ws7.corp.example" share their boots (as SameHost matches them).
func bootKey(host string) string {
	h, _, _ := strings.Cut(host, ".")
	return strings.ToLower(h)
}

// staleCause says why a dump's filter does not name an event's filter.
type staleCause int

const (
	plausible staleCause = iota
	staleLayer
	staleBoot
	staleTooFar
)

// plausible decides whether the dump x was taken in the boot of event e.
// A boot marker of the host between the two times says no. With markers
// reaching back to before both times (the logs cover the interval), none
// between says yes at any distance; otherwise the two must be within
// MaxSkew.
func (r *Resolver) plausible(x *index, e *event.Event) staleCause {
	if x.at.IsZero() || e.Time.IsZero() {
		return plausible
	}
	lo, hi := x.at, e.Time
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	host := e.Host
	if host == "" {
		host = x.host
	}
	if bs := r.boots[bootKey(host)]; len(bs) > 0 {
		i := sort.Search(len(bs), func(i int) bool { return bs[i].After(lo) })
		if i < len(bs) && !bs[i].After(hi) {
			return staleBoot
		}
		if !bs[0].After(lo) {
			return plausible
		}
	}
	if hi.Sub(lo) > MaxSkew {
		return staleTooFar
	}
	return plausible
}

// Timed reports whether a dump added has a time, which is what boot
// markers are compared with.
func (r *Resolver) Timed() bool {
	for _, x := range r.idx {
		if !x.at.IsZero() {
			return true
		}
	}
	return false
}

// BootHosts returns how many hosts have boot markers.
func (r *Resolver) BootHosts() int { return len(r.boots) }

// Len returns how many dumps were added.
func (r *Resolver) Len() int { return len(r.idx) }

// ProviderName returns the display name of provider key in x, or the key.
func (x *index) providerName(key string) string {
	if n := x.providers[key]; n != "" {
		return n
	}
	return key
}

// layerMatches reports whether the filter's layer is the event's layer:
// by the dump's layer table when it has one, else by the stable FWPS name
// (an event at a _DISCARD layer matches its filter's layer).
func (x *index) layerMatches(f *Filter, e *event.Event) bool {
	if !e.HasLayerID {
		return true
	}
	if id, ok := x.layerID[f.LayerKey]; ok {
		return id == e.LayerID
	}
	l, ok := event.Layers[e.LayerID]
	if !ok {
		return true // nothing to compare with; the id alone decides
	}
	return strings.TrimPrefix(f.LayerKey, "FWPM_LAYER_") == strings.TrimSuffix(l.Name, "_DISCARD")
}

// Resolve fills FilterName, FilterProvider, LayerName and, for Windows
// Firewall rule filters, RuleName, then classifies the event again. It
// never overwrites names the event already carries.
func (r *Resolver) Resolve(e *event.Event) Outcome {
	if !e.HasFilterID || e.FilterID == 0 || len(r.idx) == 0 {
		return NoID
	}
	if !r.sorted {
		for _, bs := range r.boots {
			sort.Slice(bs, func(i, j int) bool { return bs[i].Before(bs[j]) })
		}
		r.sorted = true
	}
	out := Unknown
	cause := plausible
	for _, x := range r.idx {
		if x.host != "" && !SameHost(x.host, e.Host) {
			continue
		}
		f, ok := x.filters[e.FilterID]
		if !ok {
			continue
		}
		c := staleLayer
		if x.layerMatches(f, e) {
			c = r.plausible(x, e)
		}
		if c != plausible {
			if out != Stale {
				out, cause = Stale, c
			}
			continue
		}
		if e.FilterName == "" {
			e.FilterName = f.Name
		}
		if e.FilterProvider == "" && f.ProviderKey != "" {
			e.FilterProvider = x.providerName(f.ProviderKey)
		}
		if e.LayerName == "" && e.HasLayerID {
			if l, ok := event.Layers[e.LayerID]; ok {
				e.LayerName = l.Name
			} else if n := x.layerName[e.LayerID]; n != "" {
				e.LayerName = n
			}
		}
		if e.RuleName == "" && isRuleFilter(f) {
			e.RuleName = f.Name
		}
		event.Classify(e)
		r.Resolved++
		if x.host == "" && len(r.anyHost) < 64 {
			if r.anyHost == nil {
				r.anyHost = map[string]bool{}
			}
			r.anyHost[strings.ToLower(e.Host)] = true
		}
		return Resolved
	}
	if out == Stale {
		r.Stale++
		switch cause {
		case staleLayer:
			r.StaleLayer++
		case staleBoot:
			r.StaleBoot++
		case staleTooFar:
			r.StaleTooFar++
		}
	} else {
		r.Unknown++
	}
	return out
}

// SameHost reports whether the computer names a and b are one host: equal
// ignoring case, or one is the other's first DNS label ("WS7" and
// "ws7.corp.example").
func SameHost(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	la, _, _ := strings.Cut(a, ".")
	lb, _, _ := strings.Cut(b, ".")
	return strings.EqualFold(la, lb) && (la == a || lb == b)
}

// isRuleFilter reports whether f is the filter of a Windows Firewall rule,
// whose display name is the rule's: a filter of FWPM_PROVIDER_MPSSVC_WF
// that is not one of the firewall's boot-time filters (those stand for
// the firewall before its service started, not for a rule).
func isRuleFilter(f *Filter) bool {
	if f.ProviderKey != "FWPM_PROVIDER_MPSSVC_WF" {
		return false
	}
	for _, fl := range f.Flags {
		if fl == "FWPM_FILTER_FLAG_BOOTTIME" {
			return false
		}
	}
	return true
}
