// Command winbench is wfpwatch's Windows ABI bench: it cross-compiles the
// Windows test binaries of every package with Windows code and runs them under
// Wine, against fake DLLs built from C with mingw-w64.
//
// Run it from anywhere inside the module:
//
//	go run ./internal/winbench [-run REGEX] [-pkg PATTERNS] [-v] [--install]
//
// What it does, in order:
//
//  1. Finds wine64 and x86_64-w64-mingw32-gcc (installs the Debian packages
//     with apt-get when asked to with --install, or when running as root with
//     CI=true).
//  2. Creates a Wine prefix once (wineboot), cached under the user cache
//     directory by a hash of the Wine version, and makes a throw-away copy of
//     it for this run (hard links; the cached prefix is never written to).
//  3. Builds the bcryptprimitives.dll ProcessPrng shim that Go's runtime needs
//     under Wine 8, and every fake DLL found as
//     internal/winbench/fakes/<dllname>/*.c (+ optional <dllname>.def), and
//     installs them in the run prefix's windows/system32 with
//     WINEDLLOVERRIDES=<dllname>=n. Built DLLs are cached by content hash.
//  4. Cross-compiles GOOS=windows GOARCH=amd64 go test -c for every package
//     with Windows files (*_windows.go, *_windows_test.go or a windows build
//     constraint), runs each binary under wine64 with WINEDEBUG=-all and
//     WFPWATCH_WINBENCH=1 in the package directory, and reports pass or fail
//     per package, with the output of failures.
//
// It exits with status 1 when a package fails and 2 when the bench itself
// cannot run. See docs/winbench.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

// options are the command-line settings of one bench run.
type options struct {
	run         string        // -run: passed to the test binaries as -test.run
	pkgs        []string      // -pkg and arguments: go list patterns
	verbose     bool          // -v: -test.v and streamed output
	install     bool          // --install: apt-get what is missing
	all         bool          // -all: run every package, not only those with Windows code
	list        bool          // -list: print the packages and exit
	keep        bool          // -keep: keep the run prefix for debugging
	timeout     time.Duration // -timeout: per test binary
	cacheDir    string        // -cache: cache directory
	overlay     bool          // -overlay: build with the Deleteat overlay
	overlayFile string        // the overlay JSON, when used
	exe         bool          // -exe: run the wfpwatch.exe scenarios instead of test binaries
	service     bool          // -service: run the wfpwatch service scenarios (implies -exe)
	out         io.Writer
}

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	var o options
	var pkgFlag string
	fs := flag.NewFlagSet("winbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.run, "run", "", "run only the tests matching `REGEX` (passed as -test.run)")
	fs.StringVar(&pkgFlag, "pkg", "", "comma-separated go list `patterns` of the packages to run (default ./...)")
	fs.BoolVar(&o.verbose, "v", false, "verbose: pass -test.v and stream every test's output")
	fs.BoolVar(&o.install, "install", false, "install missing Debian packages (wine64, gcc-mingw-w64-x86-64-win32) with apt-get")
	fs.BoolVar(&o.all, "all", false, "run the tests of every package, not only those with Windows code")
	fs.BoolVar(&o.list, "list", false, "list the packages that would run and exit")
	fs.BoolVar(&o.keep, "keep", false, "keep the throw-away Wine prefix of this run and print its path")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "time limit of each test binary")
	fs.BoolVar(&o.overlay, "overlay", true, "build the test binaries with the overlay that makes os.RemoveAll (t.TempDir) work under Wine 8; -overlay=false to see the unpatched behaviour")
	fs.BoolVar(&o.exe, "exe", false, "run the real wfpwatch.exe (GOOS=windows go build ./cmd/wfpwatch) under Wine in the audit-policy scenarios (-run selects scenarios) instead of the test binaries")
	fs.BoolVar(&o.service, "service", false, "run wfpwatch.exe as a service of Wine's service control manager (install, start, stop, a bad configuration, a kill repaired; -run selects scenarios) instead of the test binaries")
	fs.StringVar(&o.cacheDir, "cache", "", "cache `directory` (default $XDG_CACHE_HOME/wfpwatch-winbench)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./internal/winbench [flags] [packages]\n\n"+
			"Runs the Windows test binaries of the packages with Windows code under Wine,\n"+
			"against the fake DLLs in internal/winbench/fakes. See docs/winbench.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for _, p := range strings.Split(pkgFlag, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.pkgs = append(o.pkgs, p)
		}
	}
	o.pkgs = append(o.pkgs, fs.Args()...)
	if len(o.pkgs) == 0 {
		o.pkgs = []string{"./..."}
	}
	o.exe = o.exe || o.service
	if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
		o.install = true
	}
	o.out = stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed, err := bench(ctx, &o)
	if err != nil {
		fmt.Fprintf(stderr, "winbench: %v\n", err)
		return 2
	}
	if failed {
		return 1
	}
	return 0
}

// bench runs the whole bench. It returns failed when a package failed and err
// when the bench itself could not run.
func bench(ctx context.Context, o *options) (failed bool, err error) {
	if runtime.GOOS == "windows" {
		return false, errors.New("winbench runs Windows test binaries under Wine on Linux; on Windows run `go test ./...` directly")
	}
	start := time.Now()
	mod, err := findModule(ctx)
	if err != nil {
		return false, err
	}
	var pkgs []pkg
	if !o.exe {
		if pkgs, err = listPackages(ctx, o.pkgs, o.all); err != nil {
			return false, err
		}
	}
	if o.list {
		for _, p := range pkgs {
			fmt.Fprintf(o.out, "%s\t%s\n", p.ImportPath, strings.Join(p.WindowsFiles, " "))
		}
		return false, nil
	}
	if len(pkgs) == 0 && !o.exe {
		fmt.Fprintf(o.out, "winbench: no package with Windows code matches %s\n", strings.Join(o.pkgs, " "))
		return false, nil
	}

	tools, err := findTools(ctx, o.install, o.out)
	if err != nil {
		return false, err
	}
	cache, err := cacheRoot(o.cacheDir)
	if err != nil {
		return false, err
	}
	if o.overlay && !o.exe { // the product build is built as it ships
		var note string
		o.overlayFile, note, err = deleteatOverlay(ctx, cache)
		if err != nil {
			return false, err
		}
		if note != "" {
			fmt.Fprintf(o.out, "winbench: %s\n", note)
		}
	}
	base, warm, err := basePrefix(ctx, tools, cache, o.out)
	if err != nil {
		return false, err
	}
	dlls, err := buildDLLs(ctx, tools, mod, cache, base)
	if err != nil {
		return false, err
	}
	rp, err := newRunPrefix(cache, base)
	if err != nil {
		return false, err
	}
	defer func() {
		rp.stop(tools)
		if o.keep {
			fmt.Fprintf(o.out, "winbench: kept the run prefix %s (WINEPREFIX=%s WINEDLLOVERRIDES=%q)\n", rp.dir, rp.dir, overrides(dlls))
			return
		}
		if rerr := rp.remove(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if err := rp.install(dlls); err != nil {
		return false, err
	}
	state := "cold"
	if warm {
		state = "warm"
	}
	fmt.Fprintf(o.out, "winbench: %s, prefix %s (%s), fakes: %s\n", tools.wineVersion, base, state, fakeNames(dlls))

	env := benchEnv(rp.dir, dlls)
	if o.service {
		return serviceBench(ctx, o, tools, env, mod, rp)
	}
	if o.exe {
		return exeBench(ctx, o, tools, env, mod, rp)
	}
	nfail := 0
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for b := range buildAll(bctx, o, rp.tmp, pkgs) {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		r := runPackage(ctx, o, tools, env, b)
		r.print(o.out, o.verbose)
		if r.status == statusFail {
			nfail++
		}
	}
	fmt.Fprintf(o.out, "winbench: %d package(s), %d failed, %.1fs\n", len(pkgs), nfail, time.Since(start).Seconds())
	return nfail > 0, nil
}
