// Command layoutcheck checks every Go mirror of a Windows struct against the
// C compiler: it finds the struct types marked with a
//
//	//winbench:layout C_TYPE
//
// line in their doc comment (in any non-test file of the packages matching
// the patterns, built for GOOS=windows), computes their size, alignment and
// field offsets and sizes as Go lays them out on windows/amd64 (and checks
// windows/arm64 agrees), writes a C file of _Static_assert lines and compiles
// it with x86_64-w64-mingw32-gcc -fsyntax-only against the mingw-w64 headers
// and internal/winbench/include/wfpwatch_sdk.h.
//
// Each named field is checked as offsetof(C_TYPE, name) and
// sizeof(((C_TYPE *)0)->name), where name is the field's `c:"name"` tag or
// else its Go name; `c:"name,offset"` checks the offset only and `c:"-"`
// skips the field. A `//winbench:include <header.h>` line in any file adds a
// header to the check.
//
// Usage:
//
//	go run ./internal/winbench/layoutcheck [-o file.c] [-v] [packages]
//	go run ./internal/winbench/layoutcheck -pins [packages]
//
// With -pins it writes, next to each package's mirrors, zlayout_windows.go:
// Go compile-time size pins that hold on Windows builds without mingw-w64.
// See docs/winbench.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("layoutcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "also write the generated C to `file`")
	verbose := fs.Bool("v", false, "print every mirror checked")
	pins := fs.Bool("pins", false, "write zlayout_windows.go size pins into each package with mirrors (no C check)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./internal/winbench/layoutcheck [flags] [packages]\n\n"+
			"Checks the Go mirrors of Windows structs (//winbench:layout C_TYPE) against\n"+
			"the C headers with x86_64-w64-mingw32-gcc. See docs/winbench.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	ctx := context.Background()
	mod, err := moduleDir(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "layoutcheck: %v\n", err)
		return 2
	}
	pkgs, err := loadMirrors(ctx, mod, patterns)
	if err != nil {
		fmt.Fprintf(stderr, "layoutcheck: %v\n", err)
		return 2
	}
	var all []mirror
	var includes []string
	for _, p := range pkgs {
		all = append(all, p.mirrors...)
		includes = append(includes, p.includes...)
		if *verbose {
			for _, m := range p.mirrors {
				fmt.Fprintf(stdout, "%s\t%s.%s = %s (%d bytes, %d fields)\n", m.Pos, m.Pkg, m.GoName, m.CName, m.Size, len(m.Fields))
			}
		}
	}
	if *pins {
		for _, p := range pkgs {
			if len(p.mirrors) == 0 {
				continue
			}
			path := filepath.Join(p.dir, "zlayout_windows.go")
			src, err := format.Source(generatePins(p.name, p.mirrors))
			if err != nil {
				fmt.Fprintf(stderr, "layoutcheck: format pins: %v\n", err)
				return 2
			}
			if err := os.WriteFile(path, src, 0o644); err != nil {
				fmt.Fprintf(stderr, "layoutcheck: %v\n", err)
				return 2
			}
			fmt.Fprintf(stdout, "layoutcheck: wrote %s (%d pins)\n", relTo(mod, path), len(p.mirrors))
		}
		return 0
	}
	if len(all) == 0 {
		fmt.Fprintf(stdout, "layoutcheck: no //winbench:layout mirrors in %s\n", strings.Join(patterns, " "))
		return 0
	}
	src := generateC(all, includes)
	if *out != "" {
		if err := os.WriteFile(*out, src, 0o644); err != nil {
			fmt.Fprintf(stderr, "layoutcheck: %v\n", err)
			return 2
		}
	}
	res, err := compileC(ctx, src, filepath.Join(mod, "internal", "winbench", "include"))
	if err != nil {
		fmt.Fprintf(stderr, "layoutcheck: %v\n", err)
		return 2
	}
	for _, r := range res {
		if r.err != nil {
			fmt.Fprintf(stderr, "layoutcheck: FAIL (%s): a Go mirror does not match C:\n%s\n", r.compiler, r.output)
			return 1
		}
	}
	fmt.Fprintf(stdout, "layoutcheck: ok, %d mirrors, %d assertions (%s)\n", len(all), asserts(all), describe(res))
	return 0
}

// compileResult is the outcome of compiling the check with one compiler.
type compileResult struct {
	compiler string
	output   string
	err      error
}

// compilers are the C compilers the check runs, by Windows architecture.
// mingw-w64 in Debian has no aarch64 compiler; when one is on $PATH (e.g.
// llvm-mingw's), arm64 is checked too.
var compilers = []string{"x86_64-w64-mingw32-gcc", "aarch64-w64-mingw32-gcc", "aarch64-w64-mingw32-clang"}

// compileC compiles src with -fsyntax-only with every compiler found; the
// x86_64 one is required.
func compileC(ctx context.Context, src []byte, incDir string) ([]compileResult, error) {
	var res []compileResult
	for i, cc := range compilers {
		path, err := exec.LookPath(cc)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("%s not found: apt-get install gcc-mingw-w64-x86-64-win32 (or run scripts/winbench.sh as root)", cc)
			}
			continue
		}
		if strings.HasPrefix(cc, "aarch64") && len(res) > 0 && strings.HasPrefix(res[len(res)-1].compiler, "aarch64") {
			continue // one arm64 compiler is enough
		}
		cmd := exec.CommandContext(ctx, path, "-fsyntax-only", "-std=c11", "-Wall", "-I", incDir, "-x", "c", "-")
		cmd.Stdin = bytes.NewReader(src)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err = cmd.Run()
		res = append(res, compileResult{compiler: cc, output: buf.String(), err: err})
	}
	return res, nil
}

func describe(res []compileResult) string {
	var names []string
	for _, r := range res {
		names = append(names, r.compiler)
	}
	if len(res) == 1 {
		names = append(names, "no aarch64 mingw compiler: arm64 checked on the Go side only")
	}
	return strings.Join(names, "; ")
}

// pkgMirrors are the mirrors found in one package.
type pkgMirrors struct {
	path, name, dir string
	mirrors         []mirror
	includes        []string
}

type listed struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Export     string
	Error      *struct{ Err string }
}

// loadMirrors type-checks, for GOOS=windows GOARCH=amd64, the packages
// matching patterns that contain the directive, and returns their mirrors.
func loadMirrors(ctx context.Context, mod string, patterns []string) ([]pkgMirrors, error) {
	ps, err := goList(ctx, append([]string{"-json=ImportPath,Name,Dir,GoFiles,Error"}, patterns...))
	if err != nil {
		return nil, err
	}
	var cands []listed
	for _, p := range ps {
		if p.Error != nil {
			return nil, fmt.Errorf("go list %s (GOOS=windows): %s", p.ImportPath, p.Error.Err)
		}
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				return nil, err
			}
			if bytes.Contains(b, []byte(directive)) {
				cands = append(cands, p)
				break
			}
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	// Export data of every dependency, built for windows/amd64.
	var paths []string
	for _, c := range cands {
		paths = append(paths, c.ImportPath)
	}
	deps, err := goList(ctx, append([]string{"-export", "-deps", "-json=ImportPath,Export,Error"}, paths...))
	if err != nil {
		return nil, err
	}
	exports := map[string]string{}
	for _, d := range deps {
		if d.Error != nil {
			return nil, fmt.Errorf("go list -export %s (GOOS=windows): %s", d.ImportPath, d.Error.Err)
		}
		exports[d.ImportPath] = d.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var out []pkgMirrors
	for _, c := range cands {
		var files []*ast.File
		for _, f := range c.GoFiles {
			af, err := parser.ParseFile(fset, filepath.Join(c.Dir, f), nil, parser.ParseComments)
			if err != nil {
				return nil, err
			}
			files = append(files, af)
		}
		conf := types.Config{Importer: imp, Sizes: types.SizesFor("gc", "amd64")}
		pkg, err := conf.Check(c.ImportPath, fset, files, nil)
		if err != nil {
			return nil, fmt.Errorf("type-check %s for windows/amd64: %w", c.ImportPath, err)
		}
		ms, incs, err := findMirrors(fset, pkg, files, func(s string) string { return relTo(mod, s) })
		if err != nil {
			return nil, err
		}
		out = append(out, pkgMirrors{path: c.ImportPath, name: c.Name, dir: c.Dir, mirrors: ms, includes: incs})
	}
	return out, nil
}

// goList runs go list for windows/amd64 in the working directory (patterns
// are relative to it, as with go list).
func goList(ctx context.Context, args []string) ([]listed, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-e"}, args...)...)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var ps []listed
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func moduleDir(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run layoutcheck from the wfpwatch repository")
	}
	return filepath.Dir(gomod), nil
}

// relTo returns path relative to dir when it is inside it.
func relTo(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}
