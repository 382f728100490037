package orient

import (
	"net/netip"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// LogonWindow is how far apart in time a logon or share access
// (4624/4625/5140/5145) and an inbound event may be for the client the
// first names to say which end of the second is remote. An RDP logon comes
// seconds after the connection was accepted (12.5 s in the EVTX-ATTACK
// sample, after the TLS and CredSSP handshakes); the client's address and
// port must match exactly, so 30 s stays specific.
const LogonWindow = 30 * time.Second

// ringSize is how many recent clients, and recent inbound events not yet
// matched, a host remembers.
const ringSize = 32

// Client is the client end a logon or share access names: the IpAddress
// and IpPort of a 4624, 4625, 5140 or 5145 written on Host at Time.
type Client struct {
	Host string
	Time time.Time
	Addr netip.Addr
	Port uint16
}

// endpoint is one end of an inbound event, or a client, at a time.
type endpoint struct {
	t    time.Time
	addr netip.Addr
	port uint16
}

// inbound is what a host remembers of a recent inbound event.
type inbound struct {
	t        time.Time
	src, dst netip.Addr
	sp, dp   uint16
	used     bool
}

// logons is a host's recent clients and recent inbound events, each in a
// ring of ringSize.
type logons struct {
	clients [ringSize]endpoint
	nc      int
	events  [ringSize]inbound
	ne      int
}

// near reports whether a and b are both known and at most LogonWindow apart.
func near(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return false
	}
	d := a.Sub(b)
	return d <= LogonWindow && d >= -LogonWindow
}

// side returns the order that a client c shows of an event with ends
// src:sp and dst:dp: the end equal to the client is remote. Only one end
// may match (a same-address, same-port exchange says nothing).
func side(c *endpoint, src, dst netip.Addr, sp, dp uint16) event.Order {
	s := c.addr == src.Unmap() && c.port == sp
	d := c.addr == dst.Unmap() && c.port == dp
	return pick(d, s) // the client's end is remote: the other is local
}

// match returns the order the remembered clients show of e (with ends
// src:sp, dst:dp), or OrderNone. It changes nothing.
func (l *logons) match(e *event.Event, src, dst netip.Addr, sp, dp uint16, ports bool) event.Order {
	if l.nc == 0 || !ports {
		return event.OrderNone
	}
	n := min(l.nc, ringSize)
	for i := range n {
		c := &l.clients[i]
		if !near(c.t, e.Time) {
			continue
		}
		if o := side(c, src, dst, sp, dp); o != event.OrderNone {
			return o
		}
	}
	return event.OrderNone
}

// remember keeps e, an orientable inbound event no client has named yet,
// for a client that comes after it.
func (l *logons) remember(e *event.Event) {
	src, dst, sp, dp, hs, hd := e.RawEnds()
	if !hs || !hd || e.Time.IsZero() {
		return
	}
	l.events[l.ne%ringSize] = inbound{t: e.Time, src: src.Unmap(), dst: dst.Unmap(), sp: sp, dp: dp}
	l.ne++
}

// Client takes what a logon or share access names as its client: a
// recent inbound event of the same host (within LogonWindow) with that
// end on one side shows the host's order (evidence "logon"), and an
// inbound event that comes after it is matched against it in turn. Held
// events the new evidence settles are handed on; it returns emit's first
// error.
func (o *Orienter) Client(c Client) error {
	if !c.Addr.IsValid() || c.Addr.IsUnspecified() || c.Port == 0 || c.Time.IsZero() {
		return nil
	}
	h := o.Host(c.Host)
	if h == nil {
		return nil
	}
	if h.logons == nil {
		h.logons = new(logons)
	}
	l := h.logons
	ep := endpoint{t: c.Time, addr: c.Addr.Unmap().WithZone(""), port: c.Port}
	for i := range min(l.ne, ringSize) {
		ev := &l.events[i]
		if ev.used || !near(ev.t, ep.t) {
			continue
		}
		if ord := side(&ep, ev.src, ev.dst, ev.sp, ev.dp); ord != event.OrderNone {
			ev.used = true
			h.votes[event.EvidenceLogon][ord]++
		}
	}
	l.clients[l.nc%ringSize] = ep
	l.nc++
	return o.drain()
}
