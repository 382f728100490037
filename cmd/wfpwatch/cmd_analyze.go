package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/output"
)

func init() {
	register(&command{
		name:    "analyze",
		summary: "read saved files (event XML, .evtx, JSON exports, pfirewall.log, netsh XML) and show the blocks",
		run:     func(ctx context.Context, args []string) error { return runAnalyze(ctx, args, os.Stdout, os.Stderr) },
	})
}

const analyzeHelp = `
Reads saved evidence of WFP blocks and shows them as a table, NDJSON (ECS
fields) or CSV. Each input's format is detected from its content: Security
event XML (wevtutil qe Security /f:xml, Get-WinEvent ToXml, single events or
streams, UTF-8 or UTF-16), and the other formats wfpwatch knows. Use - for
standard input. Directories are read with -r.

By default only blocks are shown: connection-level decisions of a firewall
rule or a default block (5031, 5155, 5157, 5159). --packets adds the routine
packet drops (5152/5153, discards); --permits adds permitted traffic.

Records that cannot be read are reported on standard error with the file,
the offset and the reason, and reading goes on.`

// maxWarnings is how many problems analyze prints before it only counts
// them.
const maxWarnings = 50

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		view      viewFlags
		summary   bool
		top       int
		recursive bool
		quiet     bool
	)
	fs := newFlagSet("analyze", "[flags] FILE|DIR|- ...", analyzeHelp)
	view.register(fs)
	fs.BoolVar(&summary, "summary", false, "print counts by verdict, reason, direction, event, application and port instead of the events")
	fs.IntVar(&top, "top", 10, "with --summary: rows per group (0: all)")
	fs.BoolVar(&recursive, "r", false, "read directories recursively")
	fs.BoolVar(&quiet, "q", false, "do not print the problems found in the inputs (they are still counted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := view.check(); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no input: give one or more files, directories (with -r) or - for standard input", errUsage)
	}
	paths, err := expandInputs(fs.Args(), recursive)
	if err != nil {
		return err
	}

	var w output.Writer
	var sum output.Summary
	if !summary {
		if w, err = view.writer(stdout, false); err != nil {
			return err
		}
	}
	problems := 0
	warn := func(p *ingest.Problem) {
		problems++
		if quiet {
			return
		}
		if problems <= maxWarnings {
			fmt.Fprintf(stderr, "warning: %v\n", p)
		} else if problems == maxWarnings+1 {
			fmt.Fprintf(stderr, "warning: more problems follow; only counting them from now on\n")
		}
	}
	emit := func(e *event.Event) error {
		if !view.match(e) {
			return nil
		}
		if summary {
			sum.Add(e)
			return nil
		}
		return w.Write(e)
	}
	failed := 0
	for _, p := range paths {
		if _, err := ingest.ReadFile(ctx, p, emit, warn); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
	}
	if w != nil {
		if err := w.Close(); err != nil {
			return err
		}
	}
	if summary {
		switch strings.ToLower(view.format) {
		case "json", "ndjson":
			err = sum.WriteJSON(stdout, top)
		case "csv":
			err = sum.WriteCSV(stdout, top)
		default:
			err = sum.WriteText(stdout, top)
		}
		if err != nil {
			return err
		}
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%d problem(s) reported above; everything else was read\n", problems)
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// expandInputs turns the command-line inputs into files: a directory is
// only accepted with recursive, and then gives every regular file below it,
// in lexical order.
func expandInputs(args []string, recursive bool) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, errors.Unwrap(err))
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		if !recursive {
			return nil, fmt.Errorf("%w: %s is a directory: add -r to read the files in it", errUsage, a)
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}
