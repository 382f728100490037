package wfp

import (
	"errors"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// vpnLookup knows one filter of a third-party provider.
type vpnLookup struct{}

var vpnProvider = MustGUID("63dd0fa6-3cc5-4f44-91ab-ef56b7af8eae")

func (vpnLookup) FilterByID(id uint64) (FilterInfo, error) {
	if id == 70001 {
		return FilterInfo{ID: id, Name: "ProtonVPN block IPv4", ProviderKey: vpnProvider}, nil
	}
	return FilterInfo{}, errors.New("no")
}
func (vpnLookup) LayerByID(uint16) (LayerInfo, error) { return LayerInfo{}, errors.New("no") }
func (vpnLookup) ProviderName(k GUID) (string, error) {
	if k == vpnProvider {
		return "ProtonVPN Dynamic Provider", nil
	}
	return "", errors.New("no")
}

func TestResolverThirdPartyProvider(t *testing.T) {
	r := NewResolver(vpnLookup{}, nil, 0)
	e := event.Event{Code: 5157, FilterOrigin: "Unknown", HasFilterID: true, FilterID: 70001, HasLayerID: true, LayerID: 48}
	r.Resolve(&e)
	if e.Reason != event.ReasonProvider || e.FilterProvider != "ProtonVPN Dynamic Provider" || e.Verdict != event.VerdictBlock {
		t.Errorf("reason %q provider %q verdict %q", e.Reason, e.FilterProvider, e.Verdict)
	}
}
