package main

import (
	"bufio"
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// forwardFile names, in a fake's directory, the file that turns the fake
// into a partial replacement of a Wine DLL: it holds one word, the name
// under which Wine's own DLL is installed beside the fake (e.g. advapi3w for
// advapi32: same length, so nothing in Wine looks for it under another
// name). Every export of Wine's DLL that the fake's <name>.def does not list
// becomes a forwarder to that copy (or straight to the target of Wine's own
// forwarder), so the fake implements a few calls and Wine the rest.
const forwardFile = "forward"

// validForwardName keeps the renamed DLL a plain, short file name.
var validForwardName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// forwarding is the part of a fake built by forwarding to Wine's DLL.
type forwarding struct {
	renamed string // the name Wine's DLL is installed under, without ".dll"
	builtin string // Wine's DLL in the base prefix's system32
}

// prepareForward reads the fake's forward file, generates its module
// definition from the export table of Wine's DLL in the base prefix, and
// puts it in s.files (so that the build hash covers the Wine DLL's exports).
// It returns nil when the fake has no forward file.
func prepareForward(s *dllSource, base string) (*forwarding, error) {
	fw, ok := s.files[forwardFile]
	if !ok {
		return nil, nil
	}
	renamed := strings.TrimSpace(string(fw))
	if !validForwardName.MatchString(renamed) || renamed == s.name {
		return nil, fmt.Errorf("%s/%s: want one DLL name other than %s (e.g. advapi3w), got %q", s.srcDesc, forwardFile, s.name, renamed)
	}
	builtin := filepath.Join(base, "drive_c", "windows", "system32", s.name+".dll")
	b, err := os.ReadFile(builtin)
	if err != nil {
		return nil, fmt.Errorf("%s: Wine's own %s.dll, to forward to: %w", s.srcDesc, s.name, err)
	}
	exports, err := peExports(b)
	if err != nil {
		return nil, fmt.Errorf("export table of %s: %w", builtin, err)
	}
	own, err := defExports(s.files[s.name+".def"])
	if err != nil {
		return nil, fmt.Errorf("%s/%s.def: %w", s.srcDesc, s.name, err)
	}
	if len(own) == 0 {
		return nil, fmt.Errorf("%s: a forwarding fake needs %s.def listing the exports it implements", s.srcDesc, s.name)
	}
	s.files[s.name+".def"] = forwardDef(s.name, renamed, own, exports)
	return &forwarding{renamed: renamed, builtin: builtin}, nil
}

// peExport is one named export of a PE file.
type peExport struct {
	name    string
	forward string // "dll.Func" when Wine's export is itself a forwarder
}

// peExports returns the named exports of the PE image b, sorted by name.
func peExports(b []byte) ([]peExport, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var dir pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		if oh.NumberOfRvaAndSizes > pe.IMAGE_DIRECTORY_ENTRY_EXPORT {
			dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
		}
	case *pe.OptionalHeader32:
		if oh.NumberOfRvaAndSizes > pe.IMAGE_DIRECTORY_ENTRY_EXPORT {
			dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
		}
	}
	if dir.Size == 0 {
		return nil, errors.New("no export table")
	}
	// read returns n bytes at the relative virtual address rva.
	read := func(rva, n uint32) ([]byte, error) {
		for _, s := range f.Sections {
			if rva >= s.VirtualAddress && rva-s.VirtualAddress < s.Size {
				d, err := s.Data()
				if err != nil {
					return nil, err
				}
				off := rva - s.VirtualAddress
				if uint64(off)+uint64(n) > uint64(len(d)) {
					n = uint32(len(d)) - off
				}
				return d[off : off+n], nil
			}
		}
		return nil, fmt.Errorf("RVA %#x is in no section", rva)
	}
	cstring := func(rva uint32) (string, error) {
		d, err := read(rva, 512)
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(d, 0); i >= 0 {
			return string(d[:i]), nil
		}
		return "", fmt.Errorf("unterminated name at RVA %#x", rva)
	}
	hdr, err := read(dir.VirtualAddress, 40)
	if err != nil || len(hdr) < 40 {
		return nil, fmt.Errorf("export directory: %v", err)
	}
	le := binary.LittleEndian
	nfuncs, nnames := le.Uint32(hdr[20:]), le.Uint32(hdr[24:])
	funcs, names, ords := le.Uint32(hdr[28:]), le.Uint32(hdr[32:]), le.Uint32(hdr[36:])
	if nnames > 65536 || nfuncs > 65536 {
		return nil, errors.New("export directory: implausible counts")
	}
	ft, err := read(funcs, 4*nfuncs)
	if err != nil {
		return nil, err
	}
	nt, err := read(names, 4*nnames)
	if err != nil {
		return nil, err
	}
	ot, err := read(ords, 2*nnames)
	if err != nil {
		return nil, err
	}
	if len(ft) < int(4*nfuncs) || len(nt) < int(4*nnames) || len(ot) < int(2*nnames) {
		return nil, errors.New("export directory: tables cut short")
	}
	var out []peExport
	for i := uint32(0); i < nnames; i++ {
		name, err := cstring(le.Uint32(nt[4*i:]))
		if err != nil {
			return nil, err
		}
		o := uint32(le.Uint16(ot[2*i:]))
		if o >= nfuncs {
			return nil, fmt.Errorf("export %s: ordinal index %d out of range", name, o)
		}
		e := peExport{name: name}
		if rva := le.Uint32(ft[4*o:]); rva >= dir.VirtualAddress && rva < dir.VirtualAddress+dir.Size {
			if e.forward, err = cstring(rva); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// defExports returns the export names listed in a module definition file.
func defExports(def []byte) ([]string, error) {
	var out []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(def))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(l, ';'); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		switch {
		case l == "":
		case strings.EqualFold(l, "EXPORTS"):
			in = true
		case !in:
		default:
			name, _, _ := strings.Cut(strings.Fields(l)[0], "=")
			out = append(out, name)
		}
	}
	return out, sc.Err()
}

// forwardDef writes the module definition of a forwarding fake: its own
// exports, then every other export of Wine's DLL as a forwarder.
func forwardDef(name, renamed string, own []string, exports []peExport) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "; Generated by the winbench runner from the export table of Wine's %s.dll.\n", name)
	fmt.Fprintf(&b, "LIBRARY %s.dll\nEXPORTS\n", name)
	mine := map[string]bool{}
	for _, o := range own {
		mine[o] = true
		fmt.Fprintf(&b, "\t%s\n", o)
	}
	for _, e := range exports {
		if mine[e.name] {
			continue
		}
		target := renamed + "." + e.name
		// Wine's own forwarders (e.g. advapi32!A_SHAFinal → ntdll) go
		// straight to their target, unless it is by ordinal.
		if dll, fn, ok := strings.Cut(e.forward, "."); ok && !strings.HasPrefix(fn, "#") && dll != "" {
			target = e.forward
		}
		fmt.Fprintf(&b, "\t%s=%s\n", e.name, target)
	}
	return b.Bytes()
}
