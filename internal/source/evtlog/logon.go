package evtlog

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/orient"
)

// IsLogonID reports whether id is a logon or share access event whose
// IpAddress and IpPort name the client: 4624, 4625, 5140 or 5145.
func IsLogonID(id int) bool {
	return id == 4624 || id == 4625 || id == 5140 || id == 5145
}

// Client returns the client a logon or share access record names
// (IpAddress, IpPort), as evidence for package orient, and whether it
// names one ("-", an unspecified address or port 0 name none).
func Client(r *Record) (orient.Client, bool) {
	if !IsLogonID(r.EventID) || !strings.EqualFold(r.Provider, ProviderName) {
		return orient.Client{}, false
	}
	a, ok := r.Get("IpAddress")
	if !ok {
		return orient.Client{}, false
	}
	p, ok := r.Get("IpPort")
	if !ok {
		return orient.Client{}, false
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(a))
	if err != nil || addr.IsUnspecified() {
		return orient.Client{}, false
	}
	port, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
	if err != nil || port == 0 {
		return orient.Client{}, false
	}
	return orient.Client{Host: r.Computer, Time: r.Time, Addr: addr.Unmap().WithZone(""), Port: uint16(port)}, true
}
