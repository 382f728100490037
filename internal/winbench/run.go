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

// runPackage cross-compiles the package's Windows test binary and runs it
// under Wine in the package directory.
func runPackage(ctx context.Context, o *options, t *tools, env []string, tmp string, p pkg) *result {
	r := &result{pkg: p.ImportPath}
	if !p.HasTests {
		r.status, r.note = statusSkip, "no test files"
		return r
	}
	start := time.Now()
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
		return r
	}
	if _, err := os.Stat(exe); err != nil {
		r.status, r.note = statusSkip, "no test binary"
		return r
	}
	defer os.Remove(exe)

	args = []string{exe, "-test.timeout=" + o.timeout.String()}
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
	r.duration = time.Since(start)
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
