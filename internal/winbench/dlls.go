package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

//go:embed shim/bcryptprimitives.c shim/bcryptprimitives.def
var shimFS embed.FS

// fakesDir and includeDir are relative to the module root.
const (
	fakesDir   = "internal/winbench/fakes"
	includeDir = "internal/winbench/include"
)

// builtDLL is a DLL built for the run prefix's system32.
type builtDLL struct {
	name string // DLL name without ".dll", e.g. "wevtapi"
	path string // the built file in the cache
	fake bool   // a fake from fakesDir (not the runtime shim)
	// fwd is set for a fake that forwards what it does not implement to
	// Wine's own DLL, installed beside it under another name.
	fwd *forwarding
}

// dllSource is what one DLL is built from.
type dllSource struct {
	name    string
	files   map[string][]byte // base name → content: *.c, *.h, <name>.def, ldflags
	fake    bool
	srcDesc string // for messages
}

// validDLLName keeps fake directory names to plain DLL names.
var validDLLName = regexp.MustCompile(`^[a-z0-9_]+$`)

// buildDLLs builds the ProcessPrng shim and every fake DLL under fakesDir,
// reusing the cached build when the sources, the compiler and the flags are
// unchanged. base is the base Wine prefix, whose system32 holds the Wine
// DLLs that forwarding fakes forward to.
func buildDLLs(ctx context.Context, t *tools, mod, cache, base string) ([]builtDLL, error) {
	srcs, err := dllSources(mod)
	if err != nil {
		return nil, err
	}
	inc, err := readDir(filepath.Join(mod, includeDir), ".h")
	if err != nil {
		return nil, err
	}
	var out []builtDLL
	for _, s := range srcs {
		fwd, err := prepareForward(&s, base)
		if err != nil {
			return nil, err
		}
		d, err := buildDLL(ctx, t, s, inc, filepath.Join(mod, includeDir), cache)
		if err != nil {
			return nil, err
		}
		d.fwd = fwd
		out = append(out, d)
	}
	return out, nil
}

// dllSources returns the shim and the fakes found under mod/fakesDir.
func dllSources(mod string) ([]dllSource, error) {
	shim := dllSource{name: "bcryptprimitives", files: map[string][]byte{}, srcDesc: "the ProcessPrng shim"}
	for _, n := range []string{"bcryptprimitives.c", "bcryptprimitives.def"} {
		b, err := shimFS.ReadFile("shim/" + n)
		if err != nil {
			return nil, err
		}
		shim.files[n] = b
	}
	srcs := []dllSource{shim}
	dir := filepath.Join(mod, fakesDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return srcs, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if !validDLLName.MatchString(name) || name == "bcryptprimitives" {
			return nil, fmt.Errorf("%s/%s: a fake DLL directory must be named like the DLL, in lower case (e.g. wevtapi)", fakesDir, name)
		}
		files, err := readDir(filepath.Join(dir, name), ".c", ".h", ".def", "ldflags", forwardFile)
		if err != nil {
			return nil, err
		}
		nc := 0
		for f := range files {
			if strings.HasSuffix(f, ".c") {
				nc++
			}
		}
		if nc == 0 {
			return nil, fmt.Errorf("%s/%s: no .c file", fakesDir, name)
		}
		srcs = append(srcs, dllSource{name: name, files: files, fake: true, srcDesc: fakesDir + "/" + name})
	}
	return srcs, nil
}

// readDir reads the files of dir whose names end in one of the suffixes.
func readDir(dir string, suffixes ...string) (map[string][]byte, error) {
	files := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		for _, s := range suffixes {
			if strings.HasSuffix(e.Name(), s) {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					return nil, err
				}
				files[e.Name()] = b
				break
			}
		}
	}
	return files, nil
}

// gccFlags are the flags every DLL is built with: warnings on, no timestamp
// in the PE header (the same sources give the same DLL), and the project's
// SDK header directory on the include path.
var gccFlags = []string{"-shared", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-static-libgcc", "-Wl,--no-insert-timestamp"}

// buildDLL builds one DLL into the cache, or returns the cached build.
func buildDLL(ctx context.Context, t *tools, s dllSource, inc map[string][]byte, incDir, cache string) (builtDLL, error) {
	parts := []string{"dll-1", t.gccVersion, strings.Join(gccFlags, " "), s.name}
	for _, m := range []map[string][]byte{s.files, inc} {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			parts = append(parts, n, string(m[n]))
		}
	}
	dir := filepath.Join(cache, "dll", s.name+"-"+hashOf(parts...))
	out := filepath.Join(dir, s.name+".dll")
	d := builtDLL{name: s.name, path: out, fake: s.fake}
	if _, err := os.Stat(out); err == nil {
		return d, nil
	}
	// Build from a copy of the sources in a scratch directory, so that what
	// is built is exactly what was hashed.
	work, err := os.MkdirTemp(filepath.Join(cache), "build-")
	if err != nil {
		return d, err
	}
	defer os.RemoveAll(work)
	var cfiles []string
	args := append([]string{}, gccFlags...)
	args = append(args, "-I", incDir, "-o", filepath.Join(work, s.name+".dll"))
	for n, b := range s.files {
		if err := os.WriteFile(filepath.Join(work, n), b, 0o644); err != nil {
			return d, err
		}
		if strings.HasSuffix(n, ".c") {
			cfiles = append(cfiles, n)
		}
	}
	sort.Strings(cfiles)
	args = append(args, cfiles...)
	if _, ok := s.files[s.name+".def"]; ok {
		args = append(args, s.name+".def")
	}
	if s.name != "advapi32" { // a fake advapi32 must not import itself
		args = append(args, "-ladvapi32")
	}
	if lf, ok := s.files["ldflags"]; ok {
		args = append(args, strings.Fields(string(lf))...)
	}
	cmd := exec.CommandContext(ctx, t.gcc, args...)
	cmd.Dir = work
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return d, fmt.Errorf("build %s.dll from %s: %w\n%s %s\n%s", s.name, s.srcDesc, err, t.gcc, strings.Join(args, " "), log.String())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return d, err
	}
	if err := os.Rename(filepath.Join(work, s.name+".dll"), out); err != nil {
		return d, err
	}
	return d, nil
}

// overrides returns the WINEDLLOVERRIDES value that makes Wine load our
// DLLs instead of its builtin ones.
func overrides(dlls []builtDLL) string {
	var names []string
	for _, d := range dlls {
		names = append(names, d.name)
	}
	return strings.Join(names, ",") + "=n"
}

// fakeNames lists the fake DLLs for the report.
func fakeNames(dlls []builtDLL) string {
	var names []string
	for _, d := range dlls {
		if d.fake {
			names = append(names, d.name+".dll")
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}

// benchEnv is the environment of the test binaries.
func benchEnv(prefix string, dlls []builtDLL) []string {
	return append(cleanEnv(),
		"WINEPREFIX="+prefix,
		"WINEDEBUG=-all",
		"WINEDLLOVERRIDES="+overrides(dlls)+";mscoree,mshtml=",
		"WFPWATCH_WINBENCH=1",
	)
}
