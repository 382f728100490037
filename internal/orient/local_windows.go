package orient

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/windows"
)

// LocalFacts returns this machine's adapter addresses (the standard
// library asks GetAdaptersAddresses) and its Windows build (RtlGetVersion,
// which, unlike GetVersionEx, is not subject to manifest-based version
// lies).
func LocalFacts() (Facts, error) {
	v := windows.RtlGetVersion()
	f := Facts{Build: v.BuildNumber, Order: OrderForBuild(v.BuildNumber)}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return f, fmt.Errorf("GetAdaptersAddresses: %w (local and remote are then learned from the events alone)", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				f.Addrs = append(f.Addrs, ip.Unmap())
			}
		}
	}
	return f, nil
}
