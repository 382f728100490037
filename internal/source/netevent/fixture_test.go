package netevent

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unicode/utf16"
)

// arena is a Memory made of one byte slice at a made-up base address; the
// fixtures below lay out FWPM_NET_EVENTn structs in it exactly as C does.
type arena struct {
	base uint64
	buf  []byte
}

func newArena() *arena { return &arena{base: 0x10000} }

func (a *arena) Bytes(addr uint64, n int) []byte {
	if addr < a.base || n < 0 || addr-a.base+uint64(n) > uint64(len(a.buf)) {
		return nil
	}
	o := addr - a.base
	return a.buf[o : o+uint64(n)]
}

func (a *arena) alloc(n int) uint64 {
	for len(a.buf)%8 != 0 {
		a.buf = append(a.buf, 0)
	}
	p := a.base + uint64(len(a.buf))
	a.buf = append(a.buf, make([]byte, n)...)
	return p
}

func (a *arena) at(p uint64, off int) []byte     { return a.buf[p-a.base+uint64(off):] }
func (a *arena) put8(p uint64, off int, v uint8) { a.at(p, off)[0] = v }
func (a *arena) put16(p uint64, off int, v uint16) {
	binary.LittleEndian.PutUint16(a.at(p, off), v)
}
func (a *arena) put32(p uint64, off int, v uint32) {
	binary.LittleEndian.PutUint32(a.at(p, off), v)
}
func (a *arena) put64(p uint64, off int, v uint64) {
	binary.LittleEndian.PutUint64(a.at(p, off), v)
}

func (a *arena) utf16z(s string) (uint64, uint32) {
	u := append(utf16.Encode([]rune(s)), 0)
	p := a.alloc(2 * len(u))
	for i, c := range u {
		a.put16(p, 2*i, c)
	}
	return p, uint32(2 * len(u))
}

// sid stores S-1-auth-sub… and returns its address.
func (a *arena) sid(auth uint8, subs ...uint32) uint64 {
	p := a.alloc(8 + 4*len(subs))
	a.put8(p, 0, 1)
	a.put8(p, 1, uint8(len(subs)))
	a.put8(p, 7, auth)
	for i, s := range subs {
		a.put32(p, 8+4*i, s)
	}
	return p
}

// spec says what a fixture event holds.
type spec struct {
	time        time.Time
	typ         uint32
	proto       uint8
	local       netip.Addr
	remote      netip.Addr
	lport       uint16
	rport       uint16
	app         string
	user        bool // S-1-5-18
	pkg         bool // an AppContainer package SID (v2+)
	filterID    uint64
	layerID     uint16
	msDirection uint32
	loopback    bool
	capability  uint32
	ipsecStatus uint32
	ipsecDir    uint32
}

// build lays out spec as an FWPM_NET_EVENT<v> and returns its address.
func (a *arena) build(v Version, s spec) uint64 {
	l := Layouts[v]
	ev := a.alloc(l.Size)
	a.put64(ev, offHdrTimeStamp, ToFileTime(s.time))
	flags := uint32(FlagIPVersionSet)
	if s.proto != 0 {
		flags |= FlagIPProtocolSet
		a.put8(ev, offHdrIPProtocol, s.proto)
	}
	putAddr := func(off int, ad netip.Addr) {
		if ad.Is4() {
			b := ad.As4()
			a.put32(ev, off, binary.BigEndian.Uint32(b[:]))
		} else {
			b := ad.As16()
			copy(a.at(ev, off), b[:])
		}
	}
	if s.local.Is6() && !s.local.Is4In6() {
		a.put32(ev, offHdrIPVersion, ipVersionV6)
	}
	if s.local.IsValid() {
		flags |= FlagLocalAddrSet
		putAddr(offHdrLocalAddr, s.local)
	}
	if s.remote.IsValid() {
		flags |= FlagRemoteAddrSet
		putAddr(offHdrRemoteAddr, s.remote)
	}
	if s.lport != 0 {
		flags |= FlagLocalPortSet
		a.put16(ev, offHdrLocalPort, s.lport)
	}
	if s.rport != 0 {
		flags |= FlagRemotePortSet
		a.put16(ev, offHdrRemotePort, s.rport)
	}
	if s.app != "" {
		flags |= FlagAppIDSet
		p, n := a.utf16z(s.app)
		a.put32(ev, offHdrAppIDSize, n)
		a.put64(ev, offHdrAppIDData, p)
	}
	if s.user {
		flags |= FlagUserIDSet
		a.put64(ev, offHdrUserID, a.sid(5, 18))
	}
	if s.pkg && l.Header >= 2 {
		a.put64(ev, offHdrPackageSid, a.sid(15, 2, 1, 2, 3, 4, 5, 6, 7))
	}
	a.put32(ev, offHdrFlags, flags)
	a.put32(ev, l.OffType, s.typ)
	var body uint64
	switch s.typ {
	case TypeClassifyDrop, TypeClassifyAllow:
		n := [...]int{sizeDrop0, sizeDrop1, sizeDrop2}[l.Drop]
		if s.typ == TypeClassifyAllow {
			n = sizeAllow0
		}
		body = a.alloc(n)
		a.put64(body, offDropFilterID, s.filterID)
		a.put16(body, offDropLayerID, s.layerID)
		if n > sizeDrop0 {
			a.put32(body, offDropMsFwpDirection, s.msDirection)
			if s.loopback {
				a.put32(body, offDropIsLoopback, 1)
			}
		}
	case TypeClassifyDropMAC:
		body = a.alloc(sizeDropMAC0)
		copy(a.at(body, offMacLocalMac), []byte{0, 0x15, 0x5d, 1, 2, 3})
		copy(a.at(body, offMacRemoteMac), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		a.put16(body, offMacEtherType, 0x0806)
		a.put64(body, offMacFilterID, s.filterID)
		a.put16(body, offMacLayerID, s.layerID)
		a.put32(body, offMacMsFwpDirection, s.msDirection)
	case TypeCapabilityDrop, TypeCapabilityAllow:
		body = a.alloc(sizeCap0)
		a.put32(body, offCapNetworkCapabilityID, s.capability)
		a.put64(body, offCapFilterID, s.filterID)
		if s.loopback {
			a.put32(body, offCapIsLoopback, 1)
		}
	case TypeIPsecKernelDrop:
		body = a.alloc(sizeIKD0)
		a.put32(body, offIKDFailureStatus, s.ipsecStatus)
		a.put32(body, offIKDDirection, s.ipsecDir)
		a.put32(body, offIKDSpi, 0x1234)
		a.put64(body, offIKDFilterID, s.filterID)
		a.put16(body, offIKDLayerID, s.layerID)
	case TypeIPsecDoSPDrop:
		body = a.alloc(sizeIDP0)
		a.put32(body, offIDPFailureStatus, s.ipsecStatus)
		a.put32(body, offIDPDirection, s.ipsecDir)
		a.put32(body, offIDPPublicHost, 0xC0000201)   // 192.0.2.1
		a.put32(body, offIDPInternalHost, 0x0A000005) // 10.0.0.5
	}
	a.put64(ev, l.OffUnion, body)
	return ev
}
