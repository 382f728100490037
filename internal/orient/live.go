package orient

import (
	"net/netip"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Facts is what a live host knows of itself: its addresses and the order
// its Windows build writes inbound events in.
type Facts struct {
	Addrs []netip.Addr // the adapters' addresses
	Build uint32       // the Windows build number; 0 when unknown
	Order event.Order  // OrderForBuild(Build); OrderNone when unknown
	// Host, when set, limits the facts to the events of this computer
	// (its first DNS label is compared, case-insensitively): a Windows
	// Event Collector's ForwardedEvents channel holds the events of many
	// hosts, each oriented from its own evidence. Empty: every event is
	// this machine's (the local Security log).
	Host string
}

// IsHost reports whether the computer name name is f.Host (or f.Host is
// empty): "WS7.corp.example" is "ws7".
func (f *Facts) IsHost(name string) bool {
	if f.Host == "" {
		return true
	}
	return strings.EqualFold(firstLabel(name), firstLabel(f.Host))
}

func firstLabel(s string) string {
	if i := strings.IndexByte(s, '.'); i > 0 {
		return s[:i]
	}
	return s
}

// OrderForBuild returns the order a Windows build writes inbound ALE
// events in: packet order from Windows 10 / Server 2016 (build 10240) on,
// local-first before; OrderNone for build 0 (unknown).
func OrderForBuild(build uint32) event.Order {
	switch {
	case build == 0:
		return event.OrderNone
	case build >= 10240:
		return event.OrderPacket
	}
	return event.OrderLocalFirst
}

// Live tells o that every event comes from the machine f describes (watch
// reads the local Security log): every host it meets starts with f's
// addresses and, when f.Order is known, that order (evidence "os"), so no
// event is ever held and Close has nothing to hand on.
func (o *Orienter) Live(f Facts) {
	o.live = &f
	for _, h := range o.order {
		o.seed(h)
	}
}

// seed gives h the live facts, if any.
func (o *Orienter) seed(h *Host) {
	if o.live == nil {
		return
	}
	if !o.live.IsHost(h.name) {
		// Another computer's events (a collector's ForwardedEvents):
		// oriented from their own evidence as it comes, never held, so
		// that a live view never waits.
		h.forced = true
		return
	}
	for _, a := range o.live.Addrs {
		h.AddAddr(a)
	}
	h.SetOS(o.live.Order)
}
