package main

import (
	"os"
	"strings"
	"testing"
)

func TestForwardDef(t *testing.T) {
	own, err := defExports([]byte("LIBRARY advapi32.dll\nEXPORTS\n\tAuditFree ; frees\n  AuditSetSystemPolicy=impl @3\n\n"))
	if err != nil || strings.Join(own, ",") != "AuditFree,AuditSetSystemPolicy" {
		t.Fatalf("defExports = %v, %v", own, err)
	}
	def := string(forwardDef("advapi32", "advapi3w", own, []peExport{
		{name: "A_SHAFinal", forward: "ntdll.A_SHAFinal"},
		{name: "AuditFree"},
		{name: "ByOrdinal", forward: "other.#12"},
		{name: "RegOpenKeyExW"},
	}))
	for _, want := range []string{"LIBRARY advapi32.dll\nEXPORTS\n", "\tAuditFree\n\tAuditSetSystemPolicy\n",
		"\tA_SHAFinal=ntdll.A_SHAFinal\n", "\tByOrdinal=advapi3w.ByOrdinal\n", "\tRegOpenKeyExW=advapi3w.RegOpenKeyExW\n"} {
		if !strings.Contains(def, want) {
			t.Errorf("generated .def lacks %q:\n%s", want, def)
		}
	}
	if strings.Contains(def, "AuditFree=") {
		t.Errorf("an export the fake implements is forwarded:\n%s", def)
	}
}

// TestPEExports reads the export table of Wine's own advapi32.dll when Wine
// is installed (the DLL the fake advapi32 forwards to).
func TestPEExports(t *testing.T) {
	var b []byte
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/advapi32.dll", "/usr/lib/wine/x86_64-windows/advapi32.dll"} {
		if d, err := os.ReadFile(p); err == nil {
			b = d
			break
		}
	}
	if b == nil {
		t.Skip("Wine's advapi32.dll is not installed")
	}
	ex, err := peExports(b)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, e := range ex {
		found[e.name] = e.forward
	}
	if _, ok := found["RegOpenKeyExW"]; !ok || len(ex) < 300 {
		t.Errorf("%d exports, RegOpenKeyExW %v", len(ex), ok)
	}
	if f := found["A_SHAFinal"]; f != "" && !strings.Contains(f, ".") {
		t.Errorf("forwarder A_SHAFinal → %q", f)
	}
	if _, err := peExports([]byte("MZ not a PE")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestExeHelpers(t *testing.T) {
	if got := winPath("/root/.cache/x/run-1/tmp/a.txt"); got != `Z:\root\.cache\x\run-1\tmp\a.txt` {
		t.Errorf("winPath = %q", got)
	}
	a := map[string]uint32{guidConnection: 1, guidPacketDrop: 0}
	b := map[string]uint32{guidConnection: 1, guidPacketDrop: 0}
	if !samePolicy(a, b) || fmtPolicy(a) != "Connection=1 PacketDrop=0" {
		t.Errorf("samePolicy/fmtPolicy: %v %q", samePolicy(a, b), fmtPolicy(a))
	}
	b[guidPacketDrop] = 2
	if samePolicy(a, b) {
		t.Error("different policies compare equal")
	}
	names := map[string]bool{}
	for _, sc := range exeScenarios {
		if names[sc.name] || sc.run == nil || len(sc.policy) == 0 {
			t.Errorf("scenario %q: duplicate or incomplete", sc.name)
		}
		names[sc.name] = true
	}
}
