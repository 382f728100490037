package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

// summarySink counts the events that pass the pipeline's suppression.
type summarySink struct{ s *output.Summary }

func (s summarySink) Write(e *event.Event) error { s.s.Add(e); return nil }

// buildPipeline makes the noise-control pipeline from its flags and, when
// --db is given (or live is set, for watch: then the default database),
// opens the history database as a sink of every event and flow. Its Close
// flushes and closes the database; it is safe to call twice.
//
// keepOld turns retention by age off: analyze records old files, whose
// events would otherwise be pruned as soon as they are written.
func buildPipeline(pf *pipeline.Flags, df *store.Flags, live, keepOld bool) (*pipeline.Pipeline, *dbSink, error) {
	cfg, err := pf.Config()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	p := pipeline.New(cfg)
	path, err := df.Path(live)
	if err != nil {
		return nil, nil, err
	}
	if path == "" {
		return p, &dbSink{}, nil
	}
	opt, err := df.Options()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if keepOld {
		opt.MaxAge = -1
	}
	sw, err := store.OpenWriter(path, opt, store.WriterOptions{})
	if err != nil {
		return nil, nil, err // store's errors name the database
	}
	p.Events(sw)
	p.Flows(sw)
	return p, &dbSink{w: sw}, nil
}

// dbSink is the history database of a run, if any (w is nil without
// --db).
type dbSink struct {
	w    *store.Writer
	once sync.Once
	err  error
}

// Close commits what is buffered and closes the database; later calls
// return the first one's error.
func (d *dbSink) Close() error {
	if d.w != nil {
		d.once.Do(func() { d.err = d.w.Close() })
	}
	return d.err
}

// Skipped returns how many events the database held already (a file
// imported again) and did not store twice.
func (d *dbSink) Skipped() int64 {
	if d.w == nil {
		return 0
	}
	return d.w.Skipped()
}

func init() {
	register(&command{
		name:    "analyze",
		summary: "read saved files (event XML, .evtx, JSON exports, pfirewall.log, netsh XML) and show the blocks",
		run:     func(ctx context.Context, args []string) error { return runAnalyze(ctx, args, os.Stdout, os.Stderr) },
	})
}

const analyzeHelp = `
Reads saved evidence of WFP blocks and shows them as a table, NDJSON (ECS
fields) or CSV. Each input's format is detected from its content, whatever
its name:
  - Security event XML (wevtutil qe Security /f:xml, Get-WinEvent ToXml;
    single events, streams or <Events>; UTF-8 or UTF-16)
  - .evtx files (Security.evtx, copied from a live system or damaged)
  - Winlogbeat (6, 7+) and NXLog/OTRF JSON lines
  - the Windows Firewall log (pfirewall.log)
  - netsh wfp show netevents / wfpdiag.xml / single <netEvent> XML
gzip, bzip2, zip and tar archives are opened transparently (members are
named archive!member). Use - for standard input; directories are read
with -r.

By default only blocks are shown: connection-level decisions of a firewall
rule or a default block (5031, 5155, 5157, 5159). --packets adds the routine
packet drops (5152/5153, discards); --permits adds permitted traffic.

Noise control: --suppress and --suppress-file drop what you never want to
see (counted per rule); identical events (same app, pid, direction,
protocol, local port, remote address and port, filter, verdict) within
--window of the first are shown once, and counted as one flow;
--no-aggregate shows every event. --db FILE records the events and flows
for 'wfpwatch query'.

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
		verbose   bool
	)
	fs := newFlagSet("analyze", "[flags] FILE|DIR|- ...", analyzeHelp)
	view.register(fs)
	pflags := pipeline.RegisterFlags(fs)
	dbFlags := store.RegisterFlags(fs)
	fs.BoolVar(&summary, "summary", false, "print counts by verdict, reason, direction, event, application and port instead of the events")
	fs.IntVar(&top, "top", 10, "with --summary: rows per group (0: all)")
	fs.BoolVar(&recursive, "r", false, "read directories recursively")
	fs.BoolVar(&quiet, "q", false, "do not print the problems found in the inputs (they are still counted)")
	fs.BoolVar(&verbose, "v", false, "print, for each input, its detected format and how many events and problems it gave")
	stateFiles := registerStateFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := view.check(); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no input: give one or more files, directories (with -r) or - for standard input", errUsage)
	}
	if err := checkInputs(fs.Args(), recursive); err != nil {
		return err
	}
	states, err := loadStateDumps(ctx, *stateFiles, fs.Args())
	if err != nil {
		return err
	}
	keepSet := false
	fs.Visit(func(f *flag.Flag) { keepSet = keepSet || f.Name == "db-keep" })
	p, sink, err := buildPipeline(pflags, dbFlags, false, !keepSet)
	if err != nil {
		return err
	}
	defer sink.Close()

	var w output.Writer
	var sum output.Summary
	if summary {
		p.Events(summarySink{&sum})
	} else {
		if w, err = view.writer(stdout, false); err != nil {
			return err
		}
		p.FirstSight(w)
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
		if states != nil {
			states.Resolve(e)
		}
		if !view.match(e) {
			return nil
		}
		return p.Process(e)
	}
	// Permits (5154/5156/5158) fill most of a Security log with auditing
	// on; without --permits the view drops them, so the .evtx reader need
	// not decode them at all.
	want := func(code int) bool { return view.permits || !event.IsPermitID(code) }
	st, err := ingest.WalkWith(ctx, fs.Args(), ingest.WalkOptions{Recursive: recursive, Want: want}, emit, warn)
	if err != nil {
		return err
	}
	failed := 0
	for _, f := range st.Files {
		if f.Err != nil {
			failed++
		}
		if verbose {
			format := f.Format
			if format == "" {
				format = "unreadable"
			}
			if len(f.Container) > 0 {
				format = strings.Join(f.Container, "+") + "+" + format
			}
			unwanted := ""
			if f.Unwanted > 0 {
				unwanted = fmt.Sprintf(" (and %d permits not decoded: --permits shows them)", f.Unwanted)
			}
			fmt.Fprintf(stderr, "%s: %s, %d events%s, %d problems\n", f.Path, format, f.Events, unwanted, f.Problems)
		}
	}
	if verbose && states != nil {
		fmt.Fprintln(stderr, stateReport(states))
	}
	if err := p.Close(); err != nil {
		return err
	}
	if w != nil {
		if err := w.Close(); err != nil {
			return err
		}
	}
	if err := sink.Close(); err != nil {
		return err
	}
	if n := sink.Skipped(); n > 0 {
		fmt.Fprintf(stderr, "%d event(s) were already in the database %s and were skipped\n", n, sink.w.DB().Path())
	}
	if ps := p.Stats(); ps.Suppressed > 0 || ps.Passed > ps.FlowsOpened && !pflags.NoAggregate && !summary {
		fmt.Fprintf(stderr, "%s (repeats within --window are shown once; --no-aggregate shows every event)\n", ps.Summary())
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
	if st.Unwanted > 0 && p.Stats().Seen == 0 {
		fmt.Fprintf(stderr, "no blocks found; %d permit events were read past (add --permits to see them)\n", st.Unwanted)
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%d problem(s) reported above; everything else was read\n", problems)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d input(s) could not be read\n", failed)
		return exitError{1}
	}
	return nil
}

// checkInputs fails early, with a usage error, for an input that does not
// exist or a directory given without -r, before any output is written.
func checkInputs(args []string, recursive bool) error {
	for _, a := range args {
		if a == "-" {
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return fmt.Errorf("%s: %w", a, errors.Unwrap(err))
		}
		if st.IsDir() && !recursive {
			return fmt.Errorf("%w: %s is a directory: add -r to read the files in it", errUsage, a)
		}
	}
	return nil
}
