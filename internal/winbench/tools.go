package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tools are the programs the bench runs.
type tools struct {
	wine        string // wine64 (or a wow64 `wine` that runs 64-bit binaries)
	wineserver  string // the wineserver matching wine
	wineVersion string // `wine64 --version`
	gcc         string // x86_64-w64-mingw32-gcc
	gccVersion  string // `gcc -dumpversion` plus the target
}

// wineCandidates are the places Debian, Ubuntu, Fedora and WineHQ packages
// put a 64-bit Wine loader, in the order they are tried after $WINE64 and
// $PATH.
var wineCandidates = []string{
	"/usr/lib/wine/wine64",
	"/usr/lib64/wine/wine64",
	"/opt/wine-stable/bin/wine64",
	"/opt/wine-devel/bin/wine64",
}

// debPackages maps each tool to the Debian package that provides it.
var debPackages = map[string]string{
	"wine64":                 "wine64",
	"x86_64-w64-mingw32-gcc": "gcc-mingw-w64-x86-64-win32",
}

// findTools finds wine64, wineserver and the mingw-w64 compiler. When install
// is set and a tool is missing, it runs apt-get to install the Debian
// packages, then looks again.
func findTools(ctx context.Context, install bool, out io.Writer) (*tools, error) {
	t, missing := lookTools()
	if len(missing) > 0 && install {
		if err := aptInstall(ctx, missing, out); err != nil {
			return nil, err
		}
		t, missing = lookTools()
	}
	if len(missing) > 0 {
		var pk []string
		for _, m := range missing {
			pk = append(pk, debPackages[m])
		}
		return nil, fmt.Errorf("%s not found: apt-get install %s (or run with --install)",
			strings.Join(missing, " and "), strings.Join(pk, " "))
	}
	v, err := exec.CommandContext(ctx, t.wine, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", t.wine, err)
	}
	t.wineVersion = strings.TrimSpace(string(v))
	g, err := exec.CommandContext(ctx, t.gcc, "-dumpversion").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -dumpversion: %w", t.gcc, err)
	}
	t.gccVersion = "x86_64-w64-mingw32-gcc " + strings.TrimSpace(string(g))
	return t, nil
}

// lookTools returns the tools it found and the names of those it did not.
func lookTools() (*tools, []string) {
	t := &tools{}
	var missing []string
	t.wine = findWine()
	if t.wine == "" {
		missing = append(missing, "wine64")
	} else {
		t.wineserver = findWineserver(t.wine)
		if t.wineserver == "" {
			missing = append(missing, "wine64")
		}
	}
	if p, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err == nil {
		t.gcc = p
	} else {
		missing = append(missing, "x86_64-w64-mingw32-gcc")
	}
	return t, missing
}

// findWine returns the 64-bit Wine loader: $WINE64, wine64 on $PATH, the
// usual package locations, in that order; "" when there is none.
func findWine() string {
	if p := os.Getenv("WINE64"); p != "" {
		if isExec(p) {
			return p
		}
		return ""
	}
	if p, err := exec.LookPath("wine64"); err == nil {
		return p
	}
	for _, p := range wineCandidates {
		if isExec(p) {
			return p
		}
	}
	return ""
}

// findWineserver returns the wineserver next to wine (wineserver64 first, as
// Debian names it), else the one on $PATH.
func findWineserver(wine string) string {
	dir := filepath.Dir(wine)
	for _, n := range []string{"wineserver64", "wineserver"} {
		if p := filepath.Join(dir, n); isExec(p) {
			return p
		}
	}
	if p, err := exec.LookPath("wineserver"); err == nil {
		return p
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// aptInstall installs the Debian packages that provide the missing tools.
func aptInstall(ctx context.Context, missing []string, out io.Writer) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s not found and --install needs root: sudo apt-get install wine64 gcc-mingw-w64-x86-64-win32", strings.Join(missing, " and "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%s not found and apt-get is not available: install Wine (64-bit) and the mingw-w64 x86_64 gcc with your package manager", strings.Join(missing, " and "))
	}
	var pk []string
	for _, m := range missing {
		pk = append(pk, debPackages[m])
	}
	fmt.Fprintf(out, "winbench: installing %s with apt-get\n", strings.Join(pk, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = env
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(buf.Bytes(), 20))
		}
		return nil
	}
	if err := run("update", "-qq"); err != nil {
		return err
	}
	return run(append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pk...)...)
}

// findModule returns the directory of the main module (the one holding
// go.mod), so that the bench works from any directory inside the module.
func findModule(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (is the go command on $PATH?)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run winbench from the wfpwatch repository")
	}
	return filepath.Dir(gomod), nil
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
