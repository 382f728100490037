package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
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
// dbCompanions are the files SQLite keeps beside a database, checked with
// it in the state directory.
var dbCompanions = []string{"-wal", "-shm", "-journal"}

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
	if err := statedir.CheckDefault(path, dbCompanions...); err != nil {
		return nil, nil, fmt.Errorf("history database: %w", err)
	}
	sw, err := store.OpenWriter(path, opt, store.WriterOptions{})
	if err != nil {
		return nil, nil, err // store's errors name the database
	}
	_ = statedir.AdoptDefault(path, dbCompanions...) // else the next CheckDefault says what to do
	store.BoundMemory()
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
		summary: "the blocks in saved logs: .evtx, XML, JSON, pfirewall.log, netsh",
		new:     newAnalyzeCmd,
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
--since and --until keep the events of a time span: a duration back from
now (10m, 24h, 7d), an RFC 3339 time or a date, as in 'wfpwatch query'.

Noise control: --suppress and --suppress-file drop what you never want to
see (counted per rule); identical events (same app, pid, direction,
protocol, local port, remote address and port, filter, verdict) within
--window of the first are shown once, and counted as one flow;
--no-aggregate shows every event. --db FILE records the events and flows
for 'wfpwatch query'. --summary prints counts by verdict, reason, app and
port instead; --top app|port|remote|rule counts the events by one of them,
as 'wfpwatch query --top' does over the history.

Records that cannot be read are reported on standard error with the file,
the offset and the reason, and reading goes on. When nothing is shown, a
line on standard error says why (how many events were read and what hid
them); -q leaves these notes out. A progress bar is shown on a terminal
for inputs over 50 MB or reads that take more than 2 seconds.`

// maxWarnings is how many problems analyze prints before it only counts
// them.
const maxWarnings = 50

// analyzeOptions are the flags of analyze.
type analyzeOptions struct {
	view      viewFlags
	pflags    *pipeline.Flags
	dbFlags   *store.Flags
	summary   bool
	top       string
	limit     int
	recursive bool
	quiet     bool
	verbose   bool
	since     string
	until     string
	progress  bool
	outputs   outputURLs
	states    stateFlag

	from, to time.Time // parsed --since, --until
}

func newAnalyzeCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &analyzeOptions{}
	c := &cobra.Command{
		Use:   "analyze [flags] FILE|DIR|- ...",
		Short: "the blocks in saved logs: .evtx, XML, JSON, pfirewall.log, netsh",
		Long:  strings.TrimSpace(analyzeHelp),
		Example: `  wfpwatch analyze Security.evtx
  wfpwatch analyze Security.evtx --packets --format json > events.ndjson
  wfpwatch analyze --summary -r exports/
  wfpwatch analyze pfirewall.log --top port --since 24h
  wfpwatch analyze -v winlogbeat.json.gz wfpdiag.xml --db history.db`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("no input: give one or more files, directories (with -r) or - for standard input")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return o.run(c, args, stdout, stderr)
		},
	}
	fs := c.Flags()
	o.view.register(fs)
	o.pflags = addGoFlags(fs, pipeline.RegisterFlags)
	o.dbFlags = addGoFlags(fs, store.RegisterFlags)
	fs.BoolVar(&o.summary, "summary", false, "print counts by verdict, reason, direction, event, application and port instead of the events")
	fs.StringVar(&o.top, "top", "", "count the events by `DIM`: app, port, remote, rule or host (as 'wfpwatch query --top')")
	fs.IntVar(&o.limit, "limit", 10, "rows of --top, or per group of --summary (0: all)")
	fs.StringVar(&o.since, "since", "", "only events at or after `TIME`: a duration back from now (10m, 24h, 7d), RFC 3339 or YYYY-MM-DD")
	fs.StringVar(&o.until, "until", "", "only events before `TIME` (same forms as --since)")
	fs.BoolVarP(&o.recursive, "recursive", "r", false, "read directories recursively")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print no notes: not the problems found in the inputs (still counted), not why nothing was shown, no progress bar")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print, for each input, its detected format and how many events and problems it gave")
	registerOutputs(fs, &o.outputs)
	registerStateFlag(fs, &o.states)
	fs.BoolVar(&o.progress, "progress", true, "show a progress bar on a terminal for large inputs (--progress=false: never)")
	setHint(fs, "limit", "want a number of rows, 0 for all")
	completeViewFlags(c)
	completeWords(c, "top", "app", "port", "remote", "rule", "host")
	return c
}

// runAnalyze runs 'wfpwatch analyze args...'.
func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return execute(ctx, newAnalyzeCmd(stdout, stderr), args, stdout, stderr)
}

// check validates the flags after parsing.
func (o *analyzeOptions) check(fs *pflag.FlagSet) error {
	if err := o.view.check(); err != nil {
		return err
	}
	if o.top != "" {
		if n, err := strconv.Atoi(o.top); err == nil {
			// --top N was the rows per --summary group before --limit.
			if !fs.Changed("limit") {
				o.limit = n
			}
			o.top = ""
		} else if _, ok := store.Dims[strings.ToLower(o.top)]; !ok {
			return usagef("--top %q: want app, port, remote, rule or host", o.top)
		} else if o.summary {
			return usagef("--top and --summary: choose one")
		}
	}
	if o.limit < 0 {
		return usagef("--limit %d: want 0 or more", o.limit)
	}
	now := queryNow()
	var err error
	if o.from, err = parseQueryTime(o.since, now); err != nil {
		return usagef("--since %v", err)
	}
	if o.to, err = parseQueryTime(o.until, now); err != nil {
		return usagef("--until %v", err)
	}
	if !o.from.IsZero() && !o.to.IsZero() && !o.from.Before(o.to) {
		return usagef("--since %s is not before --until %s", o.since, o.until)
	}
	return nil
}

// inSpan reports whether e is within --since and --until.
func (o *analyzeOptions) inSpan(e *event.Event) bool {
	return (o.from.IsZero() || !e.Time.Before(o.from)) && (o.to.IsZero() || e.Time.Before(o.to))
}

// hidden counts what the view kept off the output, for the note that says
// why nothing was shown.
type hidden struct {
	read    uint64 // events decoded
	drops   uint64 // packet drops without --packets
	permits uint64 // permits without --permits
	span    uint64 // outside --since/--until
	filters uint64 // not matching --app, --port, --direction, …
}

func (o *analyzeOptions) run(c *cobra.Command, args []string, stdout, stderr io.Writer) error {
	ctx := c.Context()
	if err := o.check(c.Flags()); err != nil {
		return err
	}
	if err := checkInputs(args, o.recursive); err != nil {
		return err
	}
	states, err := loadStateDumps(c.Context(), o.states, args)
	if err != nil {
		return err
	}
	if states != nil && states.Timed() {
		if err := scanBoots(c.Context(), states, args, o.recursive); err != nil {
			return err
		}
	}
	view := &o.view
	p, sink, err := buildPipeline(o.pflags, o.dbFlags, false, !c.Flags().Changed("db-keep"))
	if err != nil {
		return err
	}
	defer sink.Close()
	stopForward, _, err := startForward(c.Context(), o.outputs, p, stderr, analyzeDrain)
	if err != nil {
		return err
	}
	defer stopForward()

	bar := newProgress(args, o.recursive, stderr, o.progress && !o.quiet)
	defer bar.stop()
	out := bar.writer(stdout)

	var w output.Writer
	sum := output.Summary{Location: tableLocation(view.utc)}
	var tops *topCounter
	switch {
	case o.summary:
		p.Events(summarySink{&sum})
	case o.top != "":
		tops = &topCounter{dim: store.Dims[strings.ToLower(o.top)], counts: map[string]int64{}}
		p.Events(tops)
	default:
		if w, err = view.writer(out, false); err != nil {
			return err
		}
		if o.pflags.NoAggregate {
			p.FirstSight(w)
		} else {
			// Each flow once, with its final count, in the order first seen.
			fw := output.NewFlowWriter(w, false)
			p.Flows(fw)
			defer fw.Close()
		}
	}
	problems := 0
	warn := func(p *ingest.Problem) {
		problems++
		if o.quiet {
			return
		}
		bar.clear()
		if problems <= maxWarnings {
			fmt.Fprintf(stderr, "warning: %s\n", output.TermSafe(p.Error()))
		} else if problems == maxWarnings+1 {
			fmt.Fprintf(stderr, "warning: more problems follow; only counting them from now on\n")
		}
	}
	var h hidden
	var origins event.OriginTally // -v: Filter Origin values nothing matched
	emit := func(e *event.Event) error {
		h.read++
		if states != nil {
			states.Resolve(e) // filter, provider and layer names from the dumps (--state)
		}
		if o.verbose {
			origins.Add(e)
		}
		switch {
		case view.verdict == "" && e.Verdict == event.VerdictDrop && !view.packets:
			h.drops++
			return nil
		case view.verdict == "" && e.Verdict == event.VerdictPermit && !view.permits:
			h.permits++
			return nil
		case !o.inSpan(e):
			h.span++
			return nil
		case !view.match(e):
			h.filters++
			return nil
		}
		return p.Process(e)
	}
	// Which end of an inbound event is local depends on the Windows build
	// that wrote it: the orienter learns it per host (docs/orientation.md).
	orienter := orient.New(emit, 0)
	// Permits (5154/5156/5158) fill most of a Security log with auditing
	// on; without --permits the view drops them, so the .evtx reader need
	// not decode them at all (but for evidence while the orienter waits).
	want := func(code int) bool { return view.permits || !event.IsPermitID(code) || orienter.Waiting() }
	st, err := ingest.WalkWith(ctx, args, ingest.WalkOptions{Recursive: o.recursive, Want: want, Progress: bar.update, Client: orienter.Client}, orienter.Process, warn)
	if err == nil {
		err = orienter.Close()
	}
	bar.stop()
	if err != nil {
		return err
	}
	failed := 0
	for _, f := range st.Files {
		if f.Err != nil {
			failed++
		}
		if o.verbose {
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
			other := ""
			if f.Other > 0 {
				other = fmt.Sprintf(", %d other records", f.Other)
			}
			fmt.Fprintf(stderr, "%s: %s, %d events%s%s, %d problems\n", output.TermSafe(f.Path), format, f.Events, unwanted, other, f.Problems)
		}
	}
	if o.verbose {
		for _, r := range orienter.Reports() {
			fmt.Fprintf(stderr, "orientation: %s\n", output.TermSafe(r.String()))
		}
	}
	if states != nil && states.HostlessHosts() > 1 && !o.quiet {
		fmt.Fprintf(stderr, "note: a state dump without a host named the filters of %d hosts' events; filter ids are per host and boot: give each dump its host with --state HOST=FILE\n", states.HostlessHosts())
	}
	if o.verbose {
		origins.WriteTo(stderr)
		if states != nil {
			fmt.Fprintln(stderr, stateReport(states))
		}
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
	if n := sink.Skipped(); n > 0 && !o.quiet {
		fmt.Fprintf(stderr, "%d event(s) were already in the database %s and were skipped\n", n, sink.w.DB().Path())
	}
	ps := p.Stats()
	if !o.quiet && (ps.Suppressed > 0 || ps.Passed > ps.FlowsOpened && !o.pflags.NoAggregate && w != nil) {
		fmt.Fprintf(stderr, "%s (repeats within --window are one line, COUNT or event.count says how many; --no-aggregate shows every event)\n", ps.Summary())
	}
	switch {
	case o.summary:
		switch strings.ToLower(view.format) {
		case "json", "ndjson":
			err = sum.WriteJSON(stdout, o.limit)
		case "csv":
			err = sum.WriteCSV(stdout, o.limit)
		default:
			err = sum.WriteText(stdout, o.limit)
		}
	case tops != nil:
		f := strings.ToLower(view.format)
		if f == "ndjson" {
			f = "json"
		}
		err = writeTop(stdout, f, strings.ToLower(o.top), tops.result(o.limit))
	}
	if err != nil {
		return err
	}
	if ps.Passed == 0 && !o.quiet && failed < len(st.Files) {
		fmt.Fprintf(stderr, "wfpwatch analyze: %s\n", nothingShown(h, st, ps.Suppressed))
	}
	if problems > 0 && !o.quiet {
		fmt.Fprintf(stderr, "%d problem(s) reported above; everything else was read\n", problems)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d input(s) could not be read\n", failed)
		return exitError{1}
	}
	return nil
}

// nothingShown says, in one line, why analyze showed nothing: what the
// inputs held and what hid it.
func nothingShown(h hidden, st ingest.Stats, suppressed uint64) string {
	if h.read == 0 && st.Unwanted == 0 {
		var formats []string
		for _, f := range st.Files {
			if f.Format != "" && !slices.Contains(formats, f.Format) {
				formats = append(formats, f.Format)
			}
		}
		what := "the input"
		if len(st.Files) == 1 {
			what = st.Files[0].Path
		} else if len(st.Files) > 1 {
			what = fmt.Sprintf("the %d inputs", len(st.Files))
		}
		kind := ""
		if len(formats) > 0 {
			kind = " (" + strings.Join(formats, ", ") + ")"
		}
		if st.Other > 0 {
			return fmt.Sprintf("nothing to show: %s%s held %s event records, none from the Filtering Platform (events 5031, 5150-5159)", what, kind, thousands(st.Other))
		}
		return fmt.Sprintf("nothing to show: %s%s held no events", what, kind)
	}
	var why []string
	if n := h.drops; n > 0 {
		why = append(why, fmt.Sprintf("%s packet drops (--packets shows them)", thousands(n)))
	}
	if n := h.permits + st.Unwanted; n > 0 {
		why = append(why, fmt.Sprintf("%s permits (--permits shows them)", thousands(n)))
	}
	if h.span > 0 {
		why = append(why, fmt.Sprintf("%s outside --since/--until", thousands(h.span)))
	}
	if h.filters > 0 {
		why = append(why, fmt.Sprintf("%s not matching the filters", thousands(h.filters)))
	}
	if suppressed > 0 {
		why = append(why, fmt.Sprintf("%s suppressed", thousands(suppressed)))
	}
	return fmt.Sprintf("nothing to show: %s events read, all hidden: %s", thousands(h.read+st.Unwanted), strings.Join(why, ", "))
}

// thousands formats n with comma separators: 3,561.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// topCounter counts the events that pass the pipeline by one dimension,
// for analyze --top.
type topCounter struct {
	dim    int
	counts map[string]int64
}

func (t *topCounter) Write(e *event.Event) error {
	t.counts[store.DimValue(e, t.dim)]++
	return nil
}

// result returns the n largest counts (n <= 0: all), largest first, ties
// by value, as store.Top does.
func (t *topCounter) result(n int) store.TopResult {
	var res store.TopResult
	for v, c := range t.counts {
		res.Rows = append(res.Rows, store.TopRow{Value: v, Count: c})
		res.Total += c
	}
	sort.Slice(res.Rows, func(i, j int) bool {
		a, b := res.Rows[i], res.Rows[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Value < b.Value
	})
	if n > 0 && len(res.Rows) > n {
		res.Rows = res.Rows[:n]
	}
	return res
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
