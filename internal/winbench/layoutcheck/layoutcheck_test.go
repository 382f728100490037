package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// check type-checks src (one file of package p) for windows/amd64 and
// returns its mirrors.
func check(t *testing.T, src string) ([]mirror, []string, error) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "mirror_windows.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.Default(), Sizes: types.SizesFor("gc", "amd64")}
	pkg, err := conf.Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return findMirrors(fset, pkg, []*ast.File{f}, func(s string) string { return s })
}

// header0 is FWPM_NET_EVENT_HEADER0 mirrored with the address unions as
// ADDR, the type of both address fields.
const header0 = `package p

type blob struct {
	Size uint32
	Data *byte
}

// header0 mirrors FWPM_NET_EVENT_HEADER0.
//
//winbench:layout FWPM_NET_EVENT_HEADER0
type header0 struct {
	TimeStamp  [2]uint32 ` + "`c:\"timeStamp\"`" + `
	Flags      uint32    ` + "`c:\"flags\"`" + `
	IPVersion  uint32    ` + "`c:\"ipVersion\"`" + `
	IPProtocol uint8     ` + "`c:\"ipProtocol\"`" + `
	LocalAddr  ADDR      ` + "`c:\"localAddrV6\"`" + `
	RemoteAddr ADDR      ` + "`c:\"remoteAddrV6\"`" + `
	LocalPort  uint16    ` + "`c:\"localPort\"`" + `
	RemotePort uint16    ` + "`c:\"remotePort\"`" + `
	ScopeID    uint32    ` + "`c:\"scopeId\"`" + `
	AppID      blob      ` + "`c:\"appId\"`" + `
	UserID     *byte     ` + "`c:\"userId\"`" + `
}
`

func mirrorSrc(addr string) string { return strings.ReplaceAll(header0, "ADDR", addr) }

func TestLayoutOffsets(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		local, size, pt int64
	}{
		{"[4]uint32", 20, 88, 52}, // right: the C union is 4-byte aligned
		{"[16]byte", 17, 88, 50},  // wrong: a byte array starts right after ipProtocol
	} {
		ms, _, err := check(t, mirrorSrc(tc.addr))
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("%s: %d mirrors, want 1", tc.addr, len(ms))
		}
		m := ms[0]
		if m.CName != "FWPM_NET_EVENT_HEADER0" || m.GoName != "header0" || m.Size != tc.size || len(m.Fields) != 11 {
			t.Errorf("%s: got %s %s size %d, %d fields", tc.addr, m.GoName, m.CName, m.Size, len(m.Fields))
		}
		if f := m.Fields[4]; f.GoName != "LocalAddr" || f.CName != "localAddrV6" || f.Offset != tc.local || f.Size != 16 {
			t.Errorf("%s: LocalAddr = %+v, want offset %d size 16", tc.addr, f, tc.local)
		}
		if f := m.Fields[6]; f.Offset != tc.pt {
			t.Errorf("%s: LocalPort offset %d, want %d", tc.addr, f.Offset, tc.pt)
		}
	}
}

func TestTags(t *testing.T) {
	ms, incs, err := check(t, `package p

//winbench:include <iphlpapi.h>

//winbench:layout EVT_VARIANT
type variant struct {
	Value uint64 `+"`c:\"UInt64Val,offset\"`"+`
	Count uint32
	Type  uint32
	_     [0]uint64
	pad   uint32 `+"`c:\"-\"`"+`
}

// notMarked has no directive.
type notMarked struct{ A int }
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0] != "<iphlpapi.h>" {
		t.Errorf("includes %q", incs)
	}
	if len(ms) != 1 {
		t.Fatalf("%d mirrors", len(ms))
	}
	fs := ms[0].Fields
	if len(fs) != 3 || fs[0].CName != "UInt64Val" || fs[0].CheckSize || fs[1].CName != "Count" || fs[2].Offset != 12 || !fs[2].CheckSize {
		t.Errorf("fields %+v", fs)
	}
	for _, bad := range []string{
		"package p\n//winbench:layout\ntype t struct{ A int }\n",
		"package p\n//winbench:layout A B\ntype t struct{ A int }\n",
		"package p\n//winbench:layout T\ntype t int\n",
		"package p\n//winbench:layout T\ntype t struct{ A int `c:\"a;b\"` }\n",
		"package p\n//winbench:layout T\ntype t struct{ A int `c:\"a,size\"` }\n",
		"package p\n//winbench:include stdio.h\n",
	} {
		if _, _, err := check(t, bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// gccCheck compiles the generated check of src's mirrors with mingw-w64.
func gccCheck(t *testing.T, src string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
		t.Skip("x86_64-w64-mingw32-gcc not found: apt-get install gcc-mingw-w64-x86-64-win32")
	}
	ms, incs, err := check(t, src)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := filepath.Abs(filepath.Join("..", "include"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := compileC(context.Background(), generateC(ms, incs), inc)
	if err != nil {
		t.Fatal(err)
	}
	return res[0].output, res[0].err
}

// TestWrongMirrorFails proves the check: the right mirror compiles, and a
// [16]byte address union (offset 17 instead of 20) fails to.
func TestWrongMirrorFails(t *testing.T) {
	if out, err := gccCheck(t, mirrorSrc("[4]uint32")); err != nil {
		t.Fatalf("right mirror failed the check: %v\n%s", err, out)
	}
	out, err := gccCheck(t, mirrorSrc("[16]byte"))
	if err == nil {
		t.Fatal("a [16]byte address union passed the layout check")
	}
	want := "offsetof(FWPM_NET_EVENT_HEADER0, localAddrV6) is not 17, the offset of Go p.header0.LocalAddr"
	if !strings.Contains(out, want) {
		t.Errorf("compiler output lacks %q:\n%s", want, out)
	}
}

// TestSDKHeader checks mirrors of the structs declared in wfpwatch_sdk.h,
// with the sizes from WINDOWS-FACTS.md.
func TestSDKHeader(t *testing.T) {
	src := `package p

type blob struct {
	Size uint32
	Data *byte
}

//winbench:layout FWPM_NET_EVENT_HEADER3
type header3 struct {
	TimeStamp     [2]uint32 ` + "`c:\"timeStamp\"`" + `
	Flags         uint32    ` + "`c:\"flags\"`" + `
	IPVersion     uint32    ` + "`c:\"ipVersion\"`" + `
	IPProtocol    uint8     ` + "`c:\"ipProtocol\"`" + `
	LocalAddr     [4]uint32 ` + "`c:\"localAddrV6\"`" + `
	RemoteAddr    [4]uint32 ` + "`c:\"remoteAddrV6\"`" + `
	LocalPort     uint16    ` + "`c:\"localPort\"`" + `
	RemotePort    uint16    ` + "`c:\"remotePort\"`" + `
	ScopeID       uint32    ` + "`c:\"scopeId\"`" + `
	AppID         blob      ` + "`c:\"appId\"`" + `
	UserID        *byte     ` + "`c:\"userId\"`" + `
	AddressFamily uint32    ` + "`c:\"addressFamily\"`" + `
	PackageSID    *byte     ` + "`c:\"packageSid\"`" + `
	EnterpriseID  *uint16   ` + "`c:\"enterpriseId\"`" + `
	PolicyFlags   uint64    ` + "`c:\"policyFlags\"`" + `
	EffectiveName blob      ` + "`c:\"effectiveName\"`" + `
}

//winbench:layout FWPM_NET_EVENT5
type event5 struct {
	Header header3 ` + "`c:\"header\"`" + `
	Type   uint32  ` + "`c:\"type\"`" + `
	Body   uintptr ` + "`c:\"classifyDrop\"`" + `
}

//winbench:layout FWPM_NET_EVENT_CLASSIFY_DROP2
type drop2 struct {
	FilterID        uint64 ` + "`c:\"filterId\"`" + `
	LayerID         uint16 ` + "`c:\"layerId\"`" + `
	ReauthReason    uint32 ` + "`c:\"reauthReason\"`" + `
	OriginalProfile uint32 ` + "`c:\"originalProfile\"`" + `
	CurrentProfile  uint32 ` + "`c:\"currentProfile\"`" + `
	MsFwpDirection  uint32 ` + "`c:\"msFwpDirection\"`" + `
	IsLoopback      int32  ` + "`c:\"isLoopback\"`" + `
	VSwitchID       blob   ` + "`c:\"vSwitchId\"`" + `
	VSwitchSrcPort  uint32 ` + "`c:\"vSwitchSourcePort\"`" + `
	VSwitchDstPort  uint32 ` + "`c:\"vSwitchDestinationPort\"`" + `
}

//winbench:layout FWPM_NET_EVENT_SUBSCRIPTION0
type subscription0 struct {
	EnumTemplate uintptr   ` + "`c:\"enumTemplate\"`" + `
	Flags        uint32    ` + "`c:\"flags\"`" + `
	SessionKey   [16]byte  ` + "`c:\"sessionKey\"`" + `
}

//winbench:layout EVT_VARIANT
type evtVariant struct {
	Value uint64 ` + "`c:\"UInt64Val\"`" + `
	Count uint32
	Type  uint32
}
`
	if out, err := gccCheck(t, src); err != nil {
		t.Fatalf("SDK mirrors failed the check: %v\n%s", err, out)
	}
}

// TestPins type-checks the generated pins against the mirror: they compile
// for the verified size and stop compiling when the size changes.
func TestPins(t *testing.T) {
	ms, _, err := check(t, mirrorSrc("[4]uint32"))
	if err != nil {
		t.Fatal(err)
	}
	pins := generatePins("p", ms)
	if !bytes.Contains(pins, []byte("unsafe.Sizeof(header0{})-88]")) || !bytes.Contains(pins, []byte("//go:build windows")) {
		t.Fatalf("pins:\n%s", pins)
	}
	typecheck := func(mirror string) error {
		fset := token.NewFileSet()
		var files []*ast.File
		for name, src := range map[string]string{"m.go": mirror, "zlayout_windows.go": string(pins)} {
			f, err := parser.ParseFile(fset, name, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		conf := types.Config{Importer: importer.Default(), Sizes: types.SizesFor("gc", "amd64")}
		_, err := conf.Check("p", fset, files, nil)
		return err
	}
	if err := typecheck(mirrorSrc("[4]uint32")); err != nil {
		t.Errorf("pins fail on the verified mirror: %v", err)
	}
	for _, addr := range []string{"[5]uint32", "[3]uint32"} { // 96 and 80 bytes
		if err := typecheck(mirrorSrc(addr)); err == nil {
			t.Errorf("pins compile with a %s address (wrong size)", addr)
		}
	}
}
