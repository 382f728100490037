package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// A mirror is a Go struct type that mirrors a C struct, marked with a
// `//winbench:layout C_TYPE` line in its doc comment.
type mirror struct {
	Pkg    string // package name, for messages and pins
	GoName string // the Go type name
	CName  string // the C type it mirrors
	Pos    string // file:line of the Go type, relative to the module
	Size   int64
	Align  int64
	Fields []field
}

// A field is one checked field of a mirror.
type field struct {
	GoName    string
	CName     string // C member designator (may be nested: "a.b")
	Offset    int64
	Size      int64
	CheckSize bool // false with the ",offset" tag option
}

// directive is the comment that marks a mirror; includeDirective adds a C
// header to the generated file.
const (
	directive        = "//winbench:layout"
	includeDirective = "//winbench:include"
)

var (
	cIdent      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	cDesignator = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*$`)
	cHeader     = regexp.MustCompile(`^(<[A-Za-z0-9_./]+>|"[A-Za-z0-9_./]+")$`)
)

// findMirrors returns the mirrors declared in files of the type-checked
// package pkg and the C headers its files ask for, with sizes for amd64. It
// also checks that arm64 lays every mirror out the same way. rel turns a file
// name into the name used in messages.
func findMirrors(fset *token.FileSet, pkg *types.Package, files []*ast.File, rel func(string) string) ([]mirror, []string, error) {
	amd64 := types.SizesFor("gc", "amd64")
	arm64 := types.SizesFor("gc", "arm64")
	var out []mirror
	var includes []string
	var errs []string
	for _, f := range files {
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if rest, ok := strings.CutPrefix(c.Text, includeDirective); ok {
					h := strings.TrimSpace(rest)
					if !cHeader.MatchString(h) {
						errs = append(errs, fmt.Sprintf("%s: %s wants <header.h> or \"header.h\", not %q", rel(fset.Position(c.Pos()).String()), includeDirective, h))
						continue
					}
					includes = append(includes, h)
				}
			}
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				cname, pos, found := directiveIn(doc)
				if !found {
					continue
				}
				where := rel(fset.Position(pos).String())
				if !cIdent.MatchString(cname) {
					errs = append(errs, fmt.Sprintf("%s: %s needs one C type name, got %q", where, directive, cname))
					continue
				}
				obj := pkg.Scope().Lookup(ts.Name.Name)
				if obj == nil {
					errs = append(errs, fmt.Sprintf("%s: type %s not found", where, ts.Name.Name))
					continue
				}
				st, ok := obj.Type().Underlying().(*types.Struct)
				if !ok {
					errs = append(errs, fmt.Sprintf("%s: %s is not a struct type", where, ts.Name.Name))
					continue
				}
				m, err := layout(st, amd64)
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s: %s: %v", where, ts.Name.Name, err))
					continue
				}
				m2, _ := layout(st, arm64)
				if !sameLayout(m, m2) {
					errs = append(errs, fmt.Sprintf("%s: %s: Go lays it out differently on arm64 and amd64", where, ts.Name.Name))
					continue
				}
				tp := fset.Position(ts.Pos())
				m.Pkg, m.GoName, m.CName, m.Pos = pkg.Name(), ts.Name.Name, cname, fmt.Sprintf("%s:%d", rel(tp.Filename), tp.Line)
				out = append(out, m)
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, includes, nil
}

// directiveIn returns the C type name of the //winbench:layout line in doc.
func directiveIn(doc *ast.CommentGroup) (string, token.Pos, bool) {
	if doc == nil {
		return "", token.NoPos, false
	}
	for _, c := range doc.List {
		if rest, ok := strings.CutPrefix(c.Text, directive); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.TrimSpace(rest), c.Pos(), true
		}
	}
	return "", token.NoPos, false
}

// layout computes the size, alignment and checked fields of st.
func layout(st *types.Struct, sizes types.Sizes) (mirror, error) {
	var m mirror
	vars := make([]*types.Var, st.NumFields())
	for i := range vars {
		vars[i] = st.Field(i)
	}
	offs := sizes.Offsetsof(vars)
	m.Size = sizes.Sizeof(st)
	m.Align = sizes.Alignof(st)
	for i, v := range vars {
		if v.Name() == "_" {
			continue
		}
		tag := reflect.StructTag(st.Tag(i)).Get("c")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = v.Name()
		}
		if !cDesignator.MatchString(name) {
			return m, fmt.Errorf("field %s: c tag %q is not a C member designator", v.Name(), tag)
		}
		f := field{GoName: v.Name(), CName: name, Offset: offs[i], Size: sizes.Sizeof(v.Type()), CheckSize: true}
		switch opts {
		case "":
		case "offset":
			f.CheckSize = false
		default:
			return m, fmt.Errorf("field %s: unknown c tag option %q (want \"offset\")", v.Name(), opts)
		}
		m.Fields = append(m.Fields, f)
	}
	return m, nil
}

func sameLayout(a, b mirror) bool {
	if a.Size != b.Size || a.Align != b.Align || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	return true
}

// defaultIncludes are the headers every generated check includes, in order.
var defaultIncludes = []string{
	"<winsock2.h>",
	"<windows.h>",
	"<ntsecapi.h>",
	"<winevt.h>",
	"<fwpmu.h>",
	"<stddef.h>",
	`"wfpwatch_sdk.h"`,
}

// generateC returns the C source of the layout check of ms: one
// _Static_assert per size, alignment, field offset and field size.
func generateC(ms []mirror, extra []string) []byte {
	var b strings.Builder
	b.WriteString("/* Code generated by go run ./internal/winbench/layoutcheck; DO NOT EDIT.\n")
	b.WriteString(" * Compile with x86_64-w64-mingw32-gcc -fsyntax-only -I internal/winbench/include. */\n")
	seen := map[string]bool{}
	incs := append(append([]string{}, defaultIncludes...), extra...)
	for _, h := range incs {
		if !seen[h] {
			seen[h] = true
			fmt.Fprintf(&b, "#include %s\n", h)
		}
	}
	sorted := append([]mirror{}, ms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Pos < sorted[j].Pos })
	for _, m := range sorted {
		g := m.Pkg + "." + m.GoName
		fmt.Fprintf(&b, "\n/* %s (%s) mirrors %s */\n", g, m.Pos, m.CName)
		fmt.Fprintf(&b, "_Static_assert(sizeof(%s) == %d, %q);\n", m.CName, m.Size,
			fmt.Sprintf("%s: sizeof(%s) is not %d, the size of Go %s", m.Pos, m.CName, m.Size, g))
		fmt.Fprintf(&b, "_Static_assert(_Alignof(%s) == %d, %q);\n", m.CName, m.Align,
			fmt.Sprintf("%s: _Alignof(%s) is not %d, the alignment of Go %s", m.Pos, m.CName, m.Align, g))
		for _, f := range m.Fields {
			fmt.Fprintf(&b, "_Static_assert(offsetof(%s, %s) == %d, %q);\n", m.CName, f.CName, f.Offset,
				fmt.Sprintf("%s: offsetof(%s, %s) is not %d, the offset of Go %s.%s", m.Pos, m.CName, f.CName, f.Offset, g, f.GoName))
			if f.CheckSize {
				fmt.Fprintf(&b, "_Static_assert(sizeof(((%s *)0)->%s) == %d, %q);\n", m.CName, f.CName, f.Size,
					fmt.Sprintf("%s: sizeof %s.%s is not %d, the size of Go %s.%s", m.Pos, m.CName, f.CName, f.Size, g, f.GoName))
			}
		}
	}
	return []byte(b.String())
}

// asserts counts the assertions generateC writes for ms.
func asserts(ms []mirror) int {
	n := 0
	for _, m := range ms {
		n += 2
		for _, f := range m.Fields {
			n++
			if f.CheckSize {
				n++
			}
		}
	}
	return n
}

// generatePins returns a windows-only Go file of compile-time size pins for
// the mirrors of one package: each line stops compiling when the size of the
// Go type changes from the size the layout check verified against C.
func generatePins(pkgName string, ms []mirror) []byte {
	var b strings.Builder
	b.WriteString("// Code generated by go run github.com/wfpwatch/wfpwatch/internal/winbench/layoutcheck -pins; DO NOT EDIT.\n\n")
	b.WriteString("//go:build windows\n\n")
	fmt.Fprintf(&b, "package %s\n\nimport \"unsafe\"\n\n", pkgName)
	b.WriteString("// Compile-time size pins of the Windows struct mirrors of this package, as\n")
	b.WriteString("// checked against the C headers by the layout check (docs/winbench.md): an\n")
	b.WriteString("// index out of range or a constant overflow here means a mirror changed size.\n")
	b.WriteString("var (\n")
	sorted := append([]mirror{}, ms...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].GoName < sorted[j].GoName })
	for _, m := range sorted {
		fmt.Fprintf(&b, "\t_ = [1]struct{}{}[unsafe.Sizeof(%s{})-%d] // %s\n", m.GoName, m.Size, m.CName)
	}
	b.WriteString(")\n")
	return []byte(b.String())
}
