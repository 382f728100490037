package wfp

import (
	"sync"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Lookup is what the resolver asks the engine; *Engine is one.
type Lookup interface {
	FilterByID(id uint64) (FilterInfo, error)
	LayerByID(id uint16) (LayerInfo, error)
	ProviderName(key GUID) (string, error)
}

// RuleNamer turns a firewall rule id into its display name.
type RuleNamer interface {
	RuleName(id string) (string, bool)
}

// ProviderMpssvcWF is FWPM_PROVIDER_MPSSVC_WF, the provider of the
// Windows Firewall's rule filters; their provider data holds the rule id.
var ProviderMpssvcWF = MustGUID("decc16ca-3f33-4346-be1e-8fb4ae0f3d62")

// Resolver fills filter, provider, layer and rule names into events from
// cached engine lookups. Lookups that fail leave the raw ids in the event
// (and reason "unresolved" when nothing else is known); the event is never
// dropped. The cache is bounded, and Invalidate (wired to
// FwpmFilterSubscribeChanges0) keeps it right when filters change.
type Resolver struct {
	lk    Lookup
	rules RuleNamer
	max   int
	// NegativeTTL is how long a failed filter lookup is remembered
	// (default 30 s): a filter deleted before the lookup stays unresolved
	// without asking the engine for every event.
	NegativeTTL time.Duration
	now         func() time.Time

	mu        sync.Mutex
	filters   map[uint64]filterEntry
	order     []uint64 // insertion order, for eviction
	layers    map[uint16]string
	providers map[GUID]string
	Hits      uint64
	Misses    uint64
}

type filterEntry struct {
	info    FilterInfo
	ok      bool
	expires time.Time // for negative entries
}

// NewResolver returns a resolver over lk keeping at most max filters
// (default 4096). rules may be nil.
func NewResolver(lk Lookup, rules RuleNamer, max int) *Resolver {
	if max <= 0 {
		max = 4096
	}
	return &Resolver{lk: lk, rules: rules, max: max, NegativeTTL: 30 * time.Second, now: time.Now,
		filters: map[uint64]filterEntry{}, layers: map[uint16]string{}, providers: map[GUID]string{}}
}

// Invalidate forgets what is cached about a filter; call it on every
// filter change notification.
func (r *Resolver) Invalidate(c FilterChange) {
	r.mu.Lock()
	delete(r.filters, c.FilterID)
	r.mu.Unlock()
}

// Filter returns the cached or looked-up filter.
func (r *Resolver) Filter(id uint64) (FilterInfo, bool) {
	r.mu.Lock()
	if fe, ok := r.filters[id]; ok && (fe.ok || r.now().Before(fe.expires)) {
		r.Hits++
		r.mu.Unlock()
		return fe.info, fe.ok
	}
	r.Misses++
	r.mu.Unlock()
	fi, err := r.lk.FilterByID(id)
	fe := filterEntry{info: fi, ok: err == nil}
	if err != nil {
		fe.expires = r.now().Add(r.NegativeTTL)
	} else if !fi.ProviderKey.IsZero() {
		fe.info.Provider = r.provider(fi.ProviderKey)
	}
	r.mu.Lock()
	if _, had := r.filters[id]; !had {
		r.order = append(r.order, id)
	}
	r.filters[id] = fe
	for len(r.filters) > r.max && len(r.order) > 0 {
		delete(r.filters, r.order[0])
		r.order = r.order[1:]
	}
	if len(r.order) > 2*r.max { // compact ids already evicted or invalidated
		keep := r.order[:0]
		for _, k := range r.order {
			if _, ok := r.filters[k]; ok {
				keep = append(keep, k)
			}
		}
		r.order = keep
	}
	r.mu.Unlock()
	return fe.info, fe.ok
}

func (r *Resolver) provider(k GUID) string {
	r.mu.Lock()
	n, ok := r.providers[k]
	r.mu.Unlock()
	if ok {
		return n
	}
	n, err := r.lk.ProviderName(k)
	if err != nil {
		n = k.String()
	}
	r.mu.Lock()
	if len(r.providers) < 1024 {
		r.providers[k] = n
	}
	r.mu.Unlock()
	return n
}

// Layer returns a layer name for a run-time id: the stable FWPS name from
// event.Layers when known, else the engine's display name.
func (r *Resolver) Layer(id uint16) (string, bool) {
	if l, ok := event.Layers[id]; ok {
		return l.Name, true
	}
	r.mu.Lock()
	n, ok := r.layers[id]
	r.mu.Unlock()
	if ok {
		return n, n != ""
	}
	li, err := r.lk.LayerByID(id)
	if err == nil {
		n = li.Name
	}
	r.mu.Lock()
	if len(r.layers) < 1024 {
		r.layers[id] = n
	}
	r.mu.Unlock()
	return n, n != ""
}

// Resolve fills FilterName, FilterProvider, LayerName, RuleID and RuleName
// where it can, then classifies the event again (a resolved rule makes the
// reason "rule").
func (r *Resolver) Resolve(e *event.Event) {
	if e.HasLayerID && e.LayerName == "" {
		if n, ok := r.Layer(e.LayerID); ok {
			e.LayerName = n
		}
	}
	if e.HasFilterID && e.FilterID != 0 {
		if fi, ok := r.Filter(e.FilterID); ok {
			e.FilterName = fi.Name
			e.FilterProvider = fi.Provider
			if fi.ProviderKey == ProviderMpssvcWF && fi.RuleID != "" && e.RuleID == "" {
				e.RuleID = fi.RuleID
			}
		}
	}
	if e.RuleID == "" && e.FilterOrigin != "" {
		if reason, id := event.ParseFilterOrigin(e.FilterOrigin); reason == event.ReasonRule {
			e.RuleID = id
		}
	}
	if e.RuleID != "" && e.RuleName == "" && r.rules != nil {
		if n, ok := r.rules.RuleName(e.RuleID); ok {
			e.RuleName = n
		}
	}
	event.Classify(e)
}

// Flush forgets every cached filter, layer and provider: call it when the
// engine was reopened (after a BFE restart the filter-change notifications
// of the old handle were lost, and run-time ids may have been reused).
func (r *Resolver) Flush() {
	r.mu.Lock()
	r.filters = map[uint64]filterEntry{}
	r.order = nil
	r.layers = map[uint16]string{}
	r.providers = map[GUID]string{}
	r.mu.Unlock()
}
