package wfp

import "unsafe"

// Compile-time size pins: a mirror whose size drifts from the C struct
// (amd64/arm64) stops the build. Offsets are checked against C by
// layout_test.go with mingw.
var (
	_ [72]byte  = [unsafe.Sizeof(fwpmSession0{})]byte{}
	_ [200]byte = [unsafe.Sizeof(fwpmFilter0{})]byte{}
	_ [72]byte  = [unsafe.Sizeof(fwpmLayer0{})]byte{}
	_ [72]byte  = [unsafe.Sizeof(fwpmSubLayer0{})]byte{}
	_ [64]byte  = [unsafe.Sizeof(fwpmProvider0{})]byte{}
	_ [16]byte  = [unsafe.Sizeof(fwpValue0{})]byte{}
	_ [40]byte  = [unsafe.Sizeof(fwpmFilterCondition0{})]byte{}
	_ [20]byte  = [unsafe.Sizeof(fwpmAction0{})]byte{}
	_ [32]byte  = [unsafe.Sizeof(fwpmNetEventEnumTemplate0{})]byte{}
	_ [32]byte  = [unsafe.Sizeof(fwpmNetEventSubscription0{})]byte{}
	_ [32]byte  = [unsafe.Sizeof(fwpmFilterSubscription0{})]byte{}
	_ [32]byte  = [unsafe.Sizeof(fwpmFilterChange0{})]byte{}
	_ [16]byte  = [unsafe.Sizeof(fwpByteBlob{})]byte{}
	_ [88]byte  = [unsafe.Sizeof(fwpmCallout0{})]byte{}
	_ [80]byte  = [unsafe.Offsetof(fwpmCallout0{}.CalloutID)]byte{}
	_ [8]byte   = [unsafe.Sizeof(fwpV4AddrAndMask{})]byte{}
	_ [17]byte  = [unsafe.Sizeof(fwpV6AddrAndMask{})]byte{}
	_ [32]byte  = [unsafe.Sizeof(fwpRange0{})]byte{}
	_ [176]byte = [unsafe.Offsetof(fwpmFilter0{}.FilterID)]byte{}
	_ [128]byte = [unsafe.Offsetof(fwpmFilter0{}.Action)]byte{}
	_ [152]byte = [unsafe.Offsetof(fwpmFilter0{}.ProviderContextKey)]byte{}
	_ [64]byte  = [unsafe.Offsetof(fwpmLayer0{}.LayerID)]byte{}
)
