package netevent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// layoutChecks pairs every offset and size the decoder uses with the C
// expression that must equal it.
func layoutChecks() []struct {
	c   string
	go_ int
} {
	type chk = struct {
		c   string
		go_ int
	}
	var out []chk
	add := func(c string, v int) { out = append(out, chk{c, v}) }
	hdrs := []string{"FWPM_NET_EVENT_HEADER0", "FWPM_NET_EVENT_HEADER1", "FWPM_NET_EVENT_HEADER2", "FWPM_NET_EVENT_HEADER3"}
	for _, h := range hdrs {
		add("offsetof("+h+", timeStamp)", offHdrTimeStamp)
		add("offsetof("+h+", flags)", offHdrFlags)
		add("offsetof("+h+", ipVersion)", offHdrIPVersion)
		add("offsetof("+h+", ipProtocol)", offHdrIPProtocol)
		add("offsetof("+h+", localAddrV4)", offHdrLocalAddr)
		add("offsetof("+h+", localAddrV6)", offHdrLocalAddr)
		add("offsetof("+h+", remoteAddrV4)", offHdrRemoteAddr)
		add("offsetof("+h+", localPort)", offHdrLocalPort)
		add("offsetof("+h+", remotePort)", offHdrRemotePort)
		add("offsetof("+h+", scopeId)", offHdrScopeID)
		add("offsetof("+h+", appId.size)", offHdrAppIDSize)
		add("offsetof("+h+", appId.data)", offHdrAppIDData)
		add("offsetof("+h+", userId)", offHdrUserID)
	}
	for _, h := range hdrs[2:] {
		add("offsetof("+h+", addressFamily)", offHdrAddressFamily)
		add("offsetof("+h+", packageSid)", offHdrPackageSid)
	}
	add("offsetof(FWPM_NET_EVENT_HEADER3, enterpriseId)", offHdrEnterpriseID)
	add("offsetof(FWPM_NET_EVENT_HEADER3, policyFlags)", offHdrPolicyFlags)
	add("offsetof(FWPM_NET_EVENT_HEADER3, effectiveName)", offHdrEffName)
	for v, l := range Layouts {
		s := fmt.Sprintf("FWPM_NET_EVENT%d", v)
		add("sizeof("+hdrs[l.Header]+")", l.HeaderSize)
		add("offsetof("+s+", type)", l.OffType)
		add("offsetof("+s+", classifyDrop)", l.OffUnion)
		add("offsetof("+s+", ipsecDrop)", l.OffUnion)
		add("sizeof("+s+")", l.Size)
	}
	for i, d := range []string{"FWPM_NET_EVENT_CLASSIFY_DROP0", "FWPM_NET_EVENT_CLASSIFY_DROP1", "FWPM_NET_EVENT_CLASSIFY_DROP2", "FWPM_NET_EVENT_CLASSIFY_ALLOW0"} {
		add("offsetof("+d+", filterId)", offDropFilterID)
		add("offsetof("+d+", layerId)", offDropLayerID)
		if i > 0 {
			add("offsetof("+d+", reauthReason)", offDropReauthReason)
			add("offsetof("+d+", originalProfile)", offDropOriginalProfile)
			add("offsetof("+d+", currentProfile)", offDropCurrentProfile)
			add("offsetof("+d+", msFwpDirection)", offDropMsFwpDirection)
			add("offsetof("+d+", isLoopback)", offDropIsLoopback)
		}
		add("sizeof("+d+")", []int{sizeDrop0, sizeDrop1, sizeDrop2, sizeAllow0}[i])
	}
	add("offsetof(FWPM_NET_EVENT_CLASSIFY_DROP2, vSwitchId)", offDropVSwitchID)
	add("offsetof(FWPM_NET_EVENT_CLASSIFY_DROP2, vSwitchSourcePort)", offDropVSwitchSrcPort)
	add("offsetof(FWPM_NET_EVENT_CLASSIFY_DROP2, vSwitchDestinationPort)", offDropVSwitchDstPort)
	m := "FWPM_NET_EVENT_CLASSIFY_DROP_MAC0"
	for f, v := range map[string]int{"localMacAddr": offMacLocalMac, "remoteMacAddr": offMacRemoteMac, "mediaType": offMacMediaType,
		"ifType": offMacIfType, "etherType": offMacEtherType, "ndisPortNumber": offMacNdisPortNumber, "vlanTag": offMacVlanTag,
		"ifLuid": offMacIfLuid, "filterId": offMacFilterID, "layerId": offMacLayerID, "reauthReason": offMacReauthReason,
		"originalProfile": offMacOriginalProfile, "currentProfile": offMacCurrentProfile, "msFwpDirection": offMacMsFwpDirection,
		"isLoopback": offMacIsLoopback, "vSwitchId": offMacVSwitchID} {
		add("offsetof("+m+", "+f+")", v)
	}
	add("sizeof("+m+")", sizeDropMAC0)
	for _, c := range []string{"FWPM_NET_EVENT_CAPABILITY_DROP0", "FWPM_NET_EVENT_CAPABILITY_ALLOW0"} {
		add("offsetof("+c+", networkCapabilityId)", offCapNetworkCapabilityID)
		add("offsetof("+c+", filterId)", offCapFilterID)
		add("offsetof("+c+", isLoopback)", offCapIsLoopback)
		add("sizeof("+c+")", sizeCap0)
	}
	k := "FWPM_NET_EVENT_IPSEC_KERNEL_DROP0"
	add("offsetof("+k+", failureStatus)", offIKDFailureStatus)
	add("offsetof("+k+", direction)", offIKDDirection)
	add("offsetof("+k+", spi)", offIKDSpi)
	add("offsetof("+k+", filterId)", offIKDFilterID)
	add("offsetof("+k+", layerId)", offIKDLayerID)
	add("sizeof("+k+")", sizeIKD0)
	d := "FWPM_NET_EVENT_IPSEC_DOSP_DROP0"
	add("offsetof("+d+", ipVersion)", offIDPIPVersion)
	add("offsetof("+d+", publicHostV4Addr)", offIDPPublicHost)
	add("offsetof("+d+", internalHostV6Addr)", offIDPInternalHost)
	add("offsetof("+d+", failureStatus)", offIDPFailureStatus)
	add("offsetof("+d+", direction)", offIDPDirection)
	add("sizeof("+d+")", sizeIDP0)
	return out
}

// LayoutCSource returns a C file of _Static_assert lines, one per offset
// or size the decoder relies on.
func layoutCSource() string {
	var b strings.Builder
	b.WriteString("#include \"wfpwatch_sdk.h\"\n#include <stddef.h>\n")
	for i, c := range layoutChecks() {
		fmt.Fprintf(&b, "_Static_assert(%s == %d, \"check %d: %s\");\n", c.c, c.go_, i, c.c)
	}
	return b.String()
}

// TestLayoutAgainstC compiles the offset table against the C declarations
// (mingw's headers plus the project's wfpwatch_sdk.h) with
// x86_64-w64-mingw32-gcc -fsyntax-only. It skips when mingw is absent.
func TestLayoutAgainstC(t *testing.T) {
	gcc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		t.Skip("x86_64-w64-mingw32-gcc not installed (Debian package mingw-w64): layout not checked")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "layout.c")
	if err := os.WriteFile(src, []byte(layoutCSource()), 0o644); err != nil {
		t.Fatal(err)
	}
	inc, _ := filepath.Abs("../../winbench/include")
	out, err := exec.Command(gcc, "-fsyntax-only", "-I", inc, src).CombinedOutput()
	if err != nil {
		t.Fatalf("layout differs from C:\n%s", out)
	}
	t.Logf("%d offsets and sizes match C", len(layoutChecks()))
}

// TestLayoutCheckCatchesWrongMirror proves the check has teeth: a mirror
// that puts the address union at 17 (as a Go [16]byte would) must fail.
func TestLayoutCheckCatchesWrongMirror(t *testing.T) {
	gcc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		t.Skip("x86_64-w64-mingw32-gcc not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.c")
	os.WriteFile(src, []byte("#include \"wfpwatch_sdk.h\"\n#include <stddef.h>\n_Static_assert(offsetof(FWPM_NET_EVENT_HEADER3, localAddrV6) == 17, \"x\");\n"), 0o644)
	inc, _ := filepath.Abs("../../winbench/include")
	if out, err := exec.Command(gcc, "-fsyntax-only", "-I", inc, src).CombinedOutput(); err == nil {
		t.Fatalf("a wrong offset compiled: %s", out)
	}
}
