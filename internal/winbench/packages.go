package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// pkg is a package the bench runs.
type pkg struct {
	ImportPath   string
	Dir          string
	WindowsFiles []string // files that build only for Windows
	HasTests     bool     // has *_test.go files for Windows
}

// listedPkg is the part of `go list -json` the bench reads.
type listedPkg struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Error        *struct{ Err string }
}

// benchTools are the bench's own commands: they only run on Linux and are
// never run under Wine.
var benchTools = map[string]bool{
	"github.com/wfpwatch/wfpwatch/internal/winbench":             true,
	"github.com/wfpwatch/wfpwatch/internal/winbench/layoutcheck": true,
}

// listPackages returns the packages matching patterns that have Windows code:
// a file that is part of the package (or its tests) for GOOS=windows but not
// for GOOS=linux (*_windows.go, *_windows_test.go, //go:build windows). With
// all set it returns every package matching patterns.
func listPackages(ctx context.Context, patterns []string, all bool) ([]pkg, error) {
	win, err := goList(ctx, "windows", patterns)
	if err != nil {
		return nil, err
	}
	lin, err := goList(ctx, "linux", patterns)
	if err != nil {
		return nil, err
	}
	linFiles := map[string]map[string]bool{}
	for _, p := range lin {
		m := map[string]bool{}
		for _, f := range allFiles(p) {
			m[f] = true
		}
		linFiles[p.ImportPath] = m
	}
	var out []pkg
	for _, p := range win {
		if benchTools[p.ImportPath] {
			continue
		}
		if p.Error != nil {
			// Keep it: its build fails and is reported with the others.
			out = append(out, pkg{ImportPath: p.ImportPath, Dir: p.Dir, HasTests: true, WindowsFiles: []string{"(go list: " + p.Error.Err + ")"}})
			continue
		}
		q := pkg{ImportPath: p.ImportPath, Dir: p.Dir, HasTests: len(p.TestGoFiles)+len(p.XTestGoFiles) > 0}
		for _, f := range allFiles(p) {
			if !linFiles[p.ImportPath][f] {
				q.WindowsFiles = append(q.WindowsFiles, f)
			}
		}
		if len(q.WindowsFiles) > 0 || all {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ImportPath < out[j].ImportPath })
	return out, nil
}

func allFiles(p listedPkg) []string {
	var fs []string
	fs = append(fs, p.GoFiles...)
	fs = append(fs, p.TestGoFiles...)
	fs = append(fs, p.XTestGoFiles...)
	return fs
}

// goList runs go list for goos/amd64 in the working directory (patterns
// are relative to it, as with go list).
func goList(ctx context.Context, goos string, patterns []string) ([]listedPkg, error) {
	args := append([]string{"list", "-e", "-json=ImportPath,Dir,GoFiles,TestGoFiles,XTestGoFiles,Error"}, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s (GOOS=%s): %w\n%s", strings.Join(patterns, " "), goos, err, stderr.String())
	}
	var ps []listedPkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}
