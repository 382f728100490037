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
	"time"
)

type status int

const (
	statusPass status = iota
	statusFail
	statusSkip
)

// result is the outcome of one package.
type result struct {
	pkg      string
	status   status
	note     string // why it was skipped or how it failed
	output   []byte // the test binary's (or the compiler's) output
	duration time.Duration
	streamed bool // output already shown (-v)
}

func (r *result) print(w io.Writer, verbose bool) {
	switch r.status {
	case statusPass:
		fmt.Fprintf(w, "ok    %s\t%.1fs\n", r.pkg, r.duration.Seconds())
	case statusSkip:
		fmt.Fprintf(w, "skip  %s\t(%s)\n", r.pkg, r.note)
	case statusFail:
		fmt.Fprintf(w, "FAIL  %s\t%.1fs (%s)\n", r.pkg, r.duration.Seconds(), r.note)
		if !r.streamed && len(r.output) > 0 {
			out := strings.TrimRight(string(r.output), "\n")
			for _, l := range strings.Split(out, "\n") {
				fmt.Fprintf(w, "      | %s\n", l)
			}
		}
	}
}

// built is a package whose Windows test binary was built (or failed to).
type built struct {
	pkg   pkg
	exe   string        // the test binary; "" when there is nothing to run
	res   *result       // set when the package is already decided (skip, build failure)
	build time.Duration // how long the build took
}

// buildAll cross-compiles the packages' test binaries one after the other and
// sends them on the returned channel, one ahead of the runs, so that the
// next build overlaps the current Wine run.
func buildAll(ctx context.Context, o *options, tmp string, pkgs []pkg) <-chan built {
	ch := make(chan built, 1)
	go func() {
		defer close(ch)
		for _, p := range pkgs {
			b := buildPackage(ctx, o, tmp, p)
			select {
			case ch <- b:
			case <-ctx.Done():
				if b.exe != "" {
					os.Remove(b.exe)
				}
				return
			}
		}
	}()
	return ch
}

// buildPackage cross-compiles the package's Windows test binary.
func buildPackage(ctx context.Context, o *options, tmp string, p pkg) built {
	b := built{pkg: p}
	start := time.Now()
	r := &result{pkg: p.ImportPath}
	if !p.HasTests {
		// Nothing to run, but prove it still builds for Windows.
		cmd := exec.CommandContext(ctx, "go", "build", "-o", os.DevNull, p.ImportPath)
		cmd.Dir = p.Dir
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			r.status, r.note, r.output, r.duration = statusFail, "GOOS=windows go build failed", out, time.Since(start)
		} else {
			r.status, r.note = statusSkip, "no test files; builds for windows/amd64"
		}
		b.res = r
		return b
	}
	exe := filepath.Join(tmp, strings.ReplaceAll(p.ImportPath, "/", "_")+".test.exe")
	args := []string{"test", "-c", "-o", exe}
	if o.overlayFile != "" {
		args = append(args, "-overlay", o.overlayFile)
	}
	build := exec.CommandContext(ctx, "go", append(args, p.ImportPath)...)
	build.Dir = p.Dir
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		r.status, r.note, r.output, r.duration = statusFail, "GOOS=windows go test -c failed", out, time.Since(start)
		b.res = r
		return b
	}
	if _, err := os.Stat(exe); err != nil {
		r.status, r.note = statusSkip, "no test binary"
		b.res = r
		return b
	}
	b.exe, b.build = exe, time.Since(start)
	return b
}

// runPackage runs a built test binary under Wine in the package directory.
func runPackage(ctx context.Context, o *options, t *tools, env []string, b built) *result {
	if b.res != nil {
		return b.res
	}
	p, exe, start := b.pkg, b.exe, time.Now()
	r := &result{pkg: p.ImportPath}
	defer os.Remove(exe)

	args := []string{exe, "-test.timeout=" + o.timeout.String()}
	if o.verbose {
		args = append(args, "-test.v")
	}
	if o.run != "" {
		args = append(args, "-test.run="+o.run)
	}
	// The test binary enforces -test.timeout itself; the context is a
	// backstop for a Wine that hangs before the Go runtime starts.
	rctx, cancel := context.WithTimeout(ctx, o.timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, t.wine, args...)
	cmd.Dir = p.Dir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	if o.verbose {
		fmt.Fprintf(o.out, "=== %s\n", p.ImportPath)
		w := io.MultiWriter(&buf, o.out)
		cmd.Stdout, cmd.Stderr = w, w
		r.streamed = true
	} else {
		cmd.Stdout, cmd.Stderr = &buf, &buf
	}
	err := cmd.Run()
	r.duration = b.build + time.Since(start) // build + run, without waiting in line
	r.output = buf.Bytes()
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.status = statusPass
	case rctx.Err() != nil:
		r.status, r.note = statusFail, "killed after "+(o.timeout+time.Minute).String()
	case errors.As(err, &ee):
		r.status, r.note = statusFail, fmt.Sprintf("exit status %d under wine", ee.ExitCode())
	default:
		r.status, r.note = statusFail, "wine: "+err.Error()
	}
	return r
}
