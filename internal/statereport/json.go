package statereport

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

// The JSON of 'wfpwatch state --format json': the dump's tables as they
// are, keys as netsh names them, plus what the summary derives (filter
// counts per provider, whether a provider is a third party's) and each
// condition in words.
type (
	jsonState struct {
		Source    string         `json:"source"` // "wfpstate", "wfpdiag" or "live"
		Time      *time.Time     `json:"time,omitempty"`
		Providers []jsonProvider `json:"providers"`
		SubLayers []jsonSubLayer `json:"sublayers"`
		Layers    []jsonLayer    `json:"layers"`
		Callouts  []jsonCallout  `json:"callouts"`
		Filters   []jsonFilter   `json:"filters"`
	}
	jsonProvider struct {
		Key         string      `json:"key"`
		Name        string      `json:"name,omitempty"`
		Description string      `json:"description,omitempty"`
		Service     string      `json:"service,omitempty"`
		Flags       []string    `json:"flags,omitempty"`
		ThirdParty  bool        `json:"third_party"`
		Filters     jsonActions `json:"filters"`
	}
	jsonActions struct {
		Block   int `json:"block"`
		Permit  int `json:"permit"`
		Callout int `json:"callout"`
	}
	jsonSubLayer struct {
		Key      string   `json:"key"`
		Name     string   `json:"name,omitempty"`
		Provider string   `json:"provider,omitempty"`
		Weight   uint16   `json:"weight"`
		Flags    []string `json:"flags,omitempty"`
	}
	jsonLayer struct {
		Key             string   `json:"key"`
		Name            string   `json:"name,omitempty"`
		ID              uint16   `json:"id"`
		DefaultSubLayer string   `json:"default_sublayer,omitempty"`
		Flags           []string `json:"flags,omitempty"`
	}
	jsonCallout struct {
		Key      string   `json:"key"`
		Name     string   `json:"name,omitempty"`
		Provider string   `json:"provider,omitempty"`
		Layer    string   `json:"layer,omitempty"`
		ID       uint32   `json:"id"`
		Flags    []string `json:"flags,omitempty"`
	}
	jsonFilter struct {
		ID              uint64          `json:"id"`
		Key             string          `json:"key,omitempty"`
		Name            string          `json:"name,omitempty"`
		Description     string          `json:"description,omitempty"`
		Provider        string          `json:"provider,omitempty"`
		ProviderName    string          `json:"provider_name,omitempty"`
		Layer           string          `json:"layer,omitempty"`
		LayerID         *uint16         `json:"layer_id,omitempty"`
		SubLayer        string          `json:"sublayer,omitempty"`
		Action          string          `json:"action"`
		Callout         string          `json:"callout,omitempty"`
		Weight          string          `json:"weight,omitempty"`
		EffectiveWeight uint64          `json:"effective_weight"`
		Flags           []string        `json:"flags,omitempty"`
		Conditions      []jsonCondition `json:"conditions"`
	}
	jsonCondition struct {
		Field string `json:"field"`
		Match string `json:"match"`
		Type  string `json:"type"`
		Value string `json:"value"`
		Words string `json:"words"`
	}
)

// JSON writes d as one JSON document.
func JSON(w io.Writer, d *wfpstate.Dump) error {
	t := newTables(d)
	out := jsonState{Source: d.Root, Providers: []jsonProvider{}, SubLayers: []jsonSubLayer{}, Layers: []jsonLayer{},
		Callouts: []jsonCallout{}, Filters: make([]jsonFilter, 0, len(d.Filters))}
	if !d.Time.IsZero() {
		tm := d.Time.UTC()
		out.Time = &tm
	}
	per := map[string]*jsonActions{}
	for _, f := range d.Filters {
		a := per[f.ProviderKey]
		if a == nil {
			a = &jsonActions{}
			per[f.ProviderKey] = a
		}
		switch f.Action {
		case "FWP_ACTION_BLOCK":
			a.Block++
		case "FWP_ACTION_PERMIT":
			a.Permit++
		default:
			a.Callout++
		}
		out.Filters = append(out.Filters, t.jsonFilter(f))
	}
	for _, p := range d.Providers {
		jp := jsonProvider{Key: p.Key, Name: p.Name, Description: p.Description, Service: p.ServiceName, Flags: p.Flags,
			ThirdParty: event.ThirdPartyProvider(t.providerName(p.Key))}
		if a := per[p.Key]; a != nil {
			jp.Filters = *a
		}
		out.Providers = append(out.Providers, jp)
	}
	for _, s := range d.SubLayers {
		out.SubLayers = append(out.SubLayers, jsonSubLayer{Key: s.Key, Name: s.Name, Provider: s.ProviderKey, Weight: s.Weight, Flags: s.Flags})
	}
	for _, l := range d.Layers {
		out.Layers = append(out.Layers, jsonLayer{Key: l.Key, Name: l.Name, ID: l.ID, DefaultSubLayer: l.DefaultSubLayer, Flags: l.Flags})
	}
	for _, c := range d.Callouts {
		out.Callouts = append(out.Callouts, jsonCallout{Key: c.Key, Name: c.Name, Provider: c.ProviderKey, Layer: c.Layer, ID: c.ID, Flags: c.Flags})
	}
	return encode(w, out)
}

// FilterJSON writes the filter with run-time id id as one JSON object, or
// returns the error Filter returns when d has none.
func FilterJSON(w io.Writer, d *wfpstate.Dump, id uint64) error {
	t := newTables(d)
	for _, f := range d.Filters {
		if f.ID == id {
			return encode(w, t.jsonFilter(f))
		}
	}
	return Filter(io.Discard, d, id)
}

func (t *tables) jsonFilter(f wfpstate.Filter) jsonFilter {
	jf := jsonFilter{ID: f.ID, Key: f.Key, Name: f.Name, Description: f.Description, Provider: f.ProviderKey,
		Layer: f.LayerKey, SubLayer: f.SubLayerKey, Action: f.Action, Callout: f.CalloutKey, Weight: f.Weight,
		EffectiveWeight: f.EffectiveWeight, Flags: f.Flags, Conditions: make([]jsonCondition, 0, len(f.Conditions))}
	if f.ProviderKey != "" {
		jf.ProviderName = t.providerName(f.ProviderKey)
	}
	if l, ok := t.layers[f.LayerKey]; ok {
		id := l.ID
		jf.LayerID = &id
	}
	for _, c := range f.Conditions {
		jf.Conditions = append(jf.Conditions, jsonCondition{Field: c.Field, Match: c.Match, Type: c.Type, Value: c.Value, Words: Words(c)})
	}
	return jf
}

func encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
