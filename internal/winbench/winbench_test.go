package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHashOf(t *testing.T) {
	if hashOf("a", "b") == hashOf("ab") || hashOf("a", "b") != hashOf("a", "b") || len(hashOf("x")) != 16 {
		t.Error("hashOf must separate its parts and be stable")
	}
}

// TestLinkTree checks the run prefix copy: files are hard links except the
// registry, which is copied so that Wine's rewrites never reach the base.
func TestLinkTree(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	for _, d := range []string{"drive_c/windows/system32", "dosdevices"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(src, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("system.reg", "REG")
	write("drive_c/windows/system32/kernel32.dll", "MZ")
	if err := os.Symlink("../drive_c", filepath.Join(src, "dosdevices", "c:")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(base, "dst")
	if err := linkTree(src, dst); err != nil {
		t.Fatal(err)
	}
	same := func(rel string) bool {
		a, err := os.Stat(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.Stat(filepath.Join(dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		return os.SameFile(a, b)
	}
	if !same("drive_c/windows/system32/kernel32.dll") {
		t.Error("DLL not hard-linked")
	}
	if same("system.reg") {
		t.Error("registry hard-linked: Wine would write through to the base prefix")
	}
	if l, err := os.Readlink(filepath.Join(dst, "dosdevices", "c:")); err != nil || l != "../drive_c" {
		t.Errorf("symlink %q, %v", l, err)
	}

	// Installing a DLL replaces the link instead of writing through it.
	dll := filepath.Join(base, "kernel32.dll")
	if err := os.WriteFile(dll, []byte("FAKE"), 0o644); err != nil {
		t.Fatal(err)
	}
	rp := &runPrefix{dir: dst}
	if err := rp.install([]builtDLL{{name: "kernel32", path: dll}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "drive_c/windows/system32/kernel32.dll")); string(b) != "MZ" {
		t.Errorf("base prefix DLL changed to %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "drive_c/windows/system32/kernel32.dll")); string(b) != "FAKE" {
		t.Errorf("run prefix DLL is %q", b)
	}
}

func TestDLLSources(t *testing.T) {
	mod := t.TempDir()
	srcs, err := dllSources(mod)
	if err != nil || len(srcs) != 1 || srcs[0].name != "bcryptprimitives" || len(srcs[0].files) != 2 {
		t.Fatalf("no fakes: %v %+v", err, srcs)
	}
	fake := filepath.Join(mod, fakesDir, "wevtapi")
	if err := os.MkdirAll(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := dllSources(mod); err == nil || !strings.Contains(err.Error(), "no .c file") {
		t.Errorf("empty fake dir: %v", err)
	}
	for _, f := range []string{"wevtapi.c", "wevtapi.def", "ldflags", "README.md"} {
		if err := os.WriteFile(filepath.Join(fake, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srcs, err = dllSources(mod)
	if err != nil || len(srcs) != 2 {
		t.Fatalf("%v %+v", err, srcs)
	}
	if f := srcs[1].files; len(f) != 3 || f["README.md"] != nil {
		t.Errorf("fake files %v", f)
	}
	if got := overrides([]builtDLL{{name: "bcryptprimitives"}, {name: "wevtapi", fake: true}}); got != "bcryptprimitives,wevtapi=n" {
		t.Errorf("overrides %q", got)
	}
	if err := os.MkdirAll(filepath.Join(mod, fakesDir, "WevtApi"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := dllSources(mod); err == nil {
		t.Error("an upper-case fake directory was accepted")
	}
}

// TestListPackages lists this module: the smoke package has Windows code,
// the bench's own commands are left out, portable packages only with -all.
func TestListPackages(t *testing.T) {
	ps, err := listPackages(context.Background(), []string{"github.com/wfpwatch/wfpwatch/..."}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]pkg{}
	for _, p := range ps {
		got[p.ImportPath] = p
	}
	smoke, ok := got["github.com/wfpwatch/wfpwatch/internal/winbench/smoke"]
	if !ok || !smoke.HasTests || !strings.Contains(strings.Join(smoke.WindowsFiles, " "), "smoke_windows_test.go") {
		t.Errorf("smoke: %+v", smoke)
	}
	for p := range benchTools {
		if _, ok := got[p]; ok {
			t.Errorf("%s listed", p)
		}
	}
	if _, ok := got["github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"]; ok {
		t.Error("portable package wbtest listed without -all")
	}
	all, err := listPackages(context.Background(), []string{"github.com/wfpwatch/wfpwatch/internal/winbench/..."}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 { // smoke and wbtest
		t.Errorf("-all: %d packages, want 2: %+v", len(all), all)
	}
}

// TestMissingWine checks the message when wine64 (and the compiler) cannot
// be found. PATH is set to a directory of the test's making, so that the
// result does not depend on what this machine has installed (CI starts
// without Wine and mingw-w64).
func TestMissingWine(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	t.Setenv("WINE64", filepath.Join(t.TempDir(), "no-wine64"))
	_, err := findTools(context.Background(), false, &bytes.Buffer{})
	want := "wine64 and x86_64-w64-mingw32-gcc not found: apt-get install wine64 gcc-mingw-w64-x86-64-win32 (or run with --install)"
	if err == nil || err.Error() != want {
		t.Errorf("neither tool: err = %v\nwant %s", err, want)
	}

	// Only wine64 missing: a stand-in compiler on PATH.
	if err := os.WriteFile(filepath.Join(bin, "x86_64-w64-mingw32-gcc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = findTools(context.Background(), false, &bytes.Buffer{})
	want = "wine64 not found: apt-get install wine64 (or run with --install)"
	if err == nil || err.Error() != want {
		t.Errorf("no wine64: err = %v\nwant %s", err, want)
	}
}

func TestFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainErr([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-run") {
		t.Errorf("-h: %d %s", code, errb.String())
	}
	if code := mainErr([]string{"-nope"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
	out.Reset()
	if code := mainErr([]string{"-list", "-pkg", "github.com/wfpwatch/wfpwatch/internal/winbench/..."}, &out, &errb); code != 0 || !strings.Contains(out.String(), "internal/winbench/smoke\t") {
		t.Errorf("-list: %d %q %s", code, out.String(), errb.String())
	}
}

func TestDeleteatOverlay(t *testing.T) {
	cache := t.TempDir()
	js, note, err := deleteatOverlay(context.Background(), cache)
	if err != nil {
		t.Fatal(err)
	}
	if js == "" {
		t.Skipf("no overlay for this Go: %s", note)
	}
	b, err := os.ReadFile(js)
	if err != nil || !strings.Contains(string(b), "at_windows.go") {
		t.Fatalf("overlay.json %s: %v", b, err)
	}
	src, err := os.ReadFile(filepath.Join(filepath.Dir(js), "at_windows.go"))
	if err != nil || !strings.Contains(string(src), deleteatCase+deleteatExtra) {
		t.Errorf("patched Deleteat lacks the Wine statuses: %v", err)
	}
	if js2, _, err := deleteatOverlay(context.Background(), cache); err != nil || js2 != js {
		t.Errorf("second call: %q %v, want the cached %q", js2, err, js)
	}
}
