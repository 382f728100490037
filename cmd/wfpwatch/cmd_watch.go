package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

func init() {
	register(&command{
		name:    "watch",
		summary: "blocks live from the Security log and WFP net events (Windows)",
		new:     newWatchCmd,
	})
}

// evtSubscribe and netStream are the live sources, replaced by tests.
var (
	evtSubscribe = evtlog.Subscribe
	netStream    = netevent.Stream
)

const watchHelp = `Shows Windows Filtering Platform blocks as they happen, as a table, NDJSON
(ECS fields) or CSV, from two sources (--source): the Security audit log,
which names the process and direction, and WFP net events, which name the
filter and layer and see IPsec and capability drops. The same block seen
by both is shown once, with the best fields of each; filter ids are
resolved to filter, provider and firewall-rule names, device paths to
drive-letter paths, svchost processes to the services they host.

To get the events, watch turns on the Filtering Platform audit
subcategories it needs (by GUID), after saving the previous settings to a
state file, and puts them back exactly when it exits: on Ctrl+C, when the
console window is closed, or - if wfpwatch crashed - at the next start of
watch or 'wfpwatch audit restore'. A line at start says what was changed.
Only settings that were off are turned on. --no-audit leaves the policy
alone (for hosts where Group Policy enables the auditing).

Group Policy refreshes can switch the subcategories back while watching;
watch checks every --recheck and warns, or re-applies with --enforce.

By default only blocks are shown (5031, 5155, 5157, 5159). --packets adds
packet drops (5150-5153: very frequent), --permits permitted traffic.
--bookmark FILE keeps the position in the log across runs: a restart
resumes after the last event shown, and a log cleared in between is
reported as a gap. Needs an elevated prompt.`

type watchOptions struct {
	view      viewFlags
	outputs   outputURLs
	since     time.Duration
	noAudit   bool
	enforce   bool
	recheck   time.Duration
	bookmark  string
	state     string
	render    string
	batchSize int
	sources   string
	window    time.Duration
	pflags    *pipeline.Flags
	dbFlags   *store.Flags
	noDB      bool
	config    string // --config: a configuration file (applyConfig)
	// command names the health snapshot: "watch" (""), "service" or
	// "serve --live".
	command string
	channel string // --channel: the event log channel (Security, ForwardedEvents)
}

func newWatchCmd(stdout, stderr io.Writer) *cobra.Command {
	return newWatchCmdWith(&watchOptions{}, stdout, stderr)
}

// newWatchCmdWith builds the watch command around o, whose fields its flags
// set (the service parses its configuration into a watchOptions this way).
func newWatchCmdWith(o *watchOptions, stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "watch [flags]",
		Short: "blocks live from the Security log and WFP net events (Windows)",
		Long:  watchHelp,
		Example: `  wfpwatch watch
  wfpwatch watch --since 10m --packets
  wfpwatch watch --app chrome --direction outbound --format json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := applyConfig(c.Flags(), o.config); err != nil {
				return err
			}
			return o.run(c.Context(), stdout, stderr)
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.config, "config", "", "read the settings of [watch] in the configuration `FILE` (docs/config.md); flags given here win over the file")
	o.view.register(fs)
	registerOutputs(fs, &o.outputs)
	fs.Var(sinceValue{&o.since}, "since", "start with the events since `TIME` (10m, 2h, 7d back from now, RFC 3339 or YYYY-MM-DD) instead of only new ones")
	setHint(fs, "since", "want a duration back from now (10m, 2h, 7d), an RFC 3339 time or a date, not in the future")
	fs.BoolVar(&o.noAudit, "no-audit", false, "do not change the audit policy (it is managed elsewhere)")
	fs.BoolVar(&o.enforce, "enforce", false, "re-apply the audit policy when Group Policy or another tool resets it while watching")
	fs.DurationVar(&o.recheck, "recheck", time.Minute, "how often to check that the audit policy is still on (0: never)")
	fs.StringVar(&o.bookmark, "bookmark", "", "`file` that keeps the position in the log across runs (resume after the last event shown)")
	fs.StringVar(&o.state, "state", audit.DefaultStatePath(), "the audit-policy snapshot `file`")
	fs.StringVar(&o.channel, "channel", "Security", "the event log `channel` to read: Security, or ForwardedEvents on a Windows Event Collector that gathers the Security events of many hosts (docs/fleet.md)")
	fs.StringVar(&o.render, "render", "values", "how events are rendered: values (fast) or xml (keeps fields unknown to this version)")
	fs.IntVar(&o.batchSize, "batch", 64, "events read from the log at a time")
	fs.StringVar(&o.sources, "source", "evtlog,netevent", "live `sources`: evtlog (the Security log: process, direction), netevent (WFP net events: filter and layer, IPsec and capability drops), or both; the same block seen by both is shown once")
	fs.DurationVar(&o.window, "pair-window", 2*time.Second, "how long an event waits for its twin from the other source")
	o.pflags = addGoFlags(fs, pipeline.RegisterFlags)
	o.dbFlags = addGoFlags(fs, store.RegisterFlags)
	fs.BoolVar(&o.noDB, "no-db", false, "do not record history (by default watch records to --db, or to the default database)")
	completeViewFlags(c)
	completeWords(c, "render", "values", "xml")
	completeWords(c, "source", "evtlog,netevent", "evtlog", "netevent")
	return c
}

// runWatch runs 'wfpwatch watch args...'.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return execute(ctx, newWatchCmd(stdout, stderr), args, stdout, stderr)
}

func (o *watchOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	pflags, dbFlags, noDB := o.pflags, o.dbFlags, &o.noDB
	if err := o.view.check(); err != nil {
		return err
	}
	if o.since < 0 {
		return fmt.Errorf("%w: --since %v: want a positive duration such as 10m", errUsage, o.since)
	}
	var useEvt, useNet bool
	for _, src := range strings.Split(o.sources, ",") {
		switch strings.TrimSpace(strings.ToLower(src)) {
		case "evtlog":
			useEvt = true
		case "netevent":
			useNet = true
		case "":
		default:
			return fmt.Errorf("%w: --source %q: want evtlog, netevent or both", errUsage, src)
		}
	}
	if !useEvt && !useNet {
		return fmt.Errorf("%w: --source: name at least one of evtlog and netevent", errUsage)
	}
	if !useEvt {
		o.noAudit = true // the audit policy only feeds the Security log
	}
	var render evtlog.Render
	switch strings.ToLower(o.render) {
	case "values":
		render = evtlog.RenderValues
	case "xml":
		render = evtlog.RenderXML
	default:
		return fmt.Errorf("%w: --render %q: want values or xml", errUsage, o.render)
	}

	// Console close, logoff and shutdown: Go's runtime registers a
	// SetConsoleCtrlHandler routine that turns CTRL_CLOSE_EVENT,
	// CTRL_LOGOFF_EVENT and CTRL_SHUTDOWN_EVENT into SIGTERM and holds the
	// handler (Windows waits up to 5 s) while the program cleans up. Ctrl+C
	// and Ctrl+Break arrive as os.Interrupt through main.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()

	var mu sync.Mutex // messages come from several goroutines
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		// Messages quote event data and paths: keep their control
		// characters off the terminal, line by line.
		lines := strings.Split(fmt.Sprintf(format, args...), "\n")
		for i, l := range lines {
			lines[i] = output.TermSafe(l)
		}
		fmt.Fprintf(stderr, "wfpwatch: %s\n", strings.Join(lines, "\n"))
	}

	if err := checkBookmark(o.bookmark); err != nil {
		return err
	}
	want := audit.WantFor(o.view.packets, o.view.permits)
	var m *audit.Manager
	var host hostRestorer // the host is put back first, then outputs drain
	defer host.restore()
	hl := newWatchHealth(o.command) // for 'wfpwatch status', the dashboard and /metrics
	defer hl.stop()
	var evtHealth, netHealth *sourceHealth
	forwarded := !strings.EqualFold(o.channel, "Security")
	if forwarded && useNet {
		say("note: WFP net events are this machine's own; the events of %s come from other hosts", o.channel)
	}
	if useEvt {
		evtHealth = hl.source("evtlog", o.channel)
	}
	if useNet {
		netHealth = hl.source("netevent", "")
	}
	if !o.noAudit {
		var err error
		if m, err = auditManager(o.state, "watch"); err != nil {
			return watchNeedsWindows(err)
		}
		c, err := m.Begin(want)
		if c != nil && c.Repaired != nil {
			say("%s ended without restoring the audit policy; %s", c.Repaired.Owner, c.Repaired.Summary())
		}
		if err != nil {
			return err
		}
		say("%s", c.Summary("it will be put back when watch exits"))
		hl.audit(true, c, o.enforce)
		host.add(func() {
			r, err := m.End()
			switch {
			case err != nil:
				say("could not put the audit policy back: %v\nRun 'wfpwatch audit restore' as administrator.", err)
			case r != nil:
				say("%s", r.Summary())
			}
		})
		if lc, ok := m.Policy.(audit.LegacyChecker); ok {
			if may, err := lc.LegacyMayOverride(); err == nil && may {
				say("note: SCENoApplyLegacyAuditPolicy is not set: a category-level audit policy from Group Policy can override these subcategory settings")
			}
		}
		if o.recheck > 0 {
			done := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); recheckLoop(ctx, done, m, want, o.enforce, o.recheck, say, hl.drift) }()
			host.add(func() { close(done); wg.Wait() }) // no --enforce after the restore
		}
		go func() { <-ctx.Done(); host.restore() }() // Ctrl+C, console close: at once
	}

	w, err := o.view.writer(stdout, true)
	if err != nil {
		return err
	}
	if *noDB {
		dbFlags.DB = ""
	}
	p, sink, err := buildPipeline(pflags, dbFlags, !*noDB, false)
	if err != nil {
		return err
	}
	defer sink.Close()
	if path, _ := dbFlags.Path(!*noDB); path != "" {
		say("recording history in %s (query it with 'wfpwatch query --db %s'; --no-db not to record)", path, path)
	}
	if pflags.NoAggregate {
		p.FirstSight(w)
	} else {
		// A flow's first sight at once, then a line with its new count
		// when its window ends (wfp.flow.update in JSON).
		p.Flows(output.NewFlowWriter(w, true))
	}
	stopForward, fw, err := startForward(context.Background(), o.outputs, p, stderr, watchDrain) // watch's ctx ends at Ctrl+C: drain anyway
	if err != nil {
		return err
	}
	defer stopForward()
	hl.pipeline(p)
	hl.outputs(fw)
	if path, _ := dbFlags.Path(!*noDB); path != "" {
		hl.db(path, sink)
	}
	if o.noAudit {
		hl.audit(false, nil, false)
	}
	hl.start(say)
	live := newLiveMerge(o.view, p, o.window, say)
	defer live.stopResolver()
	if useNet {
		live.startResolver()
	}

	var shown = &live.shown
	var fieldProblems uint64
	// This machine's addresses and build say which end of an inbound event
	// is local (docs/orientation.md); with them the orienter holds nothing.
	orienter := orient.New(live.add, 0)
	facts, _ := orient.LocalFacts() // the build is always known on Windows
	if forwarded {
		// Many hosts' events: this machine's facts are for its own only.
		facts.Host, _ = os.Hostname()
		live.local = facts.IsHost
	}
	orienter.Live(facts)
	handler := func(recs []evtlog.Record) error {
		for i := range recs {
			var e event.Event
			err := evtlog.Decode(&recs[i], &e)
			if errors.Is(err, evtlog.ErrNotWFP) {
				continue
			}
			if err != nil {
				fieldProblems++
				if fieldProblems <= 20 {
					say("warning: %v (event kept)", err)
				}
			}
			e.Sources = event.SourceEvtlog
			evtHealth.event()
			if err := orienter.Process(&e); err != nil {
				return err
			}
		}
		return nil
	}
	what := "blocks"
	if o.view.packets {
		what += ", drops"
	}
	if o.view.permits {
		what += ", permits"
	}
	from := "new events"
	if o.bookmark != "" {
		from = "after the bookmark " + o.bookmark + " (or new events)"
	}
	if o.since > 0 {
		from = "the last " + o.since.String()
	}
	var names []string
	if useEvt {
		names = append(names, "the "+o.channel+" log")
	}
	if useNet {
		names = append(names, "WFP net events")
	}
	say("watching %s for %s from %s; Ctrl+C stops", strings.Join(names, " and "), what, from)

	flushDone := make(chan struct{})
	go live.flushLoop(ctx, flushDone)

	var (
		wg     sync.WaitGroup
		netErr error
	)
	netCtx, netCancel := context.WithCancel(ctx)
	defer netCancel()
	if useNet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			netHealth.up.Store(true)
			defer netHealth.up.Store(false)
			netErr = netStream(netCtx, netevent.Config{
				Permits: o.view.permits,
				Since:   o.since,
				Filter:  o.view.netFilter(),
				Log:     func(f string, a ...any) { say(f, a...) },
				Options: engineOptionState(o.state, "watch"),
			}, func(e *event.Event) {
				netHealth.event()
				if err := live.add(e); err != nil {
					netCancel()
				}
			})
			if netErr != nil && netCtx.Err() == nil {
				netHealth.problem(netErr)
				say("WFP net events cannot be watched: %v", watchNeedsWindows(netErr))
			}
		}()
	}
	var st evtlog.Stats
	var evtErr error
	if useEvt {
		evtHealth.up.Store(true)
		st, evtErr = evtSubscribe(ctx, evtlog.Options{
			Channel:      o.channel,
			Query:        evtlog.QueryFor(o.view.packets, o.view.permits),
			BookmarkPath: o.bookmark,
			Since:        o.since,
			Render:       render,
			BatchSize:    o.batchSize,
			OnGap:        func(g evtlog.Gap) { evtHealth.gaps.Add(1); say("warning: %s", g) },
			OnProblem:    func(err error) { evtHealth.problem(err); say("warning: %v", err) },
		}, handler)
		evtHealth.up.Store(false)
		if evtErr != nil {
			evtHealth.problem(evtErr)
		}
		if evtErr != nil && useNet && ctx.Err() == nil {
			// The other source goes on: say why this one stopped.
			say("the Security log cannot be watched: %v", watchNeedsWindows(evtErr))
			if !errors.Is(evtErr, evtlog.ErrNeedsWindows) {
				say("going on with WFP net events only")
			}
		}
	}
	if !useEvt || (evtErr != nil && ctx.Err() == nil) {
		// Only net events are left: run until they stop or Ctrl+C.
		select {
		case <-ctx.Done():
		case <-waitChan(&wg):
		}
	}
	netCancel()
	wg.Wait() // the net-event source puts the engine options back as it stops
	host.restore()
	hl.stop()
	adoptBookmark(o.bookmark, say)
	close(flushDone)
	err = live.finish()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if cerr := sink.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("history database: %w", cerr)
	}
	if n := sink.Skipped(); n > 0 {
		say("%d event(s) were already in the history database and were skipped (read again after a restart)", n)
	}
	if ps := p.Stats(); ps.Suppressed > 0 || ps.Overflow > 0 || ps.Passed > ps.FlowsOpened {
		say("%s", ps.Summary())
	}
	merged := ""
	if useEvt && useNet {
		merged = fmt.Sprintf(", %d seen by both sources", live.corr.Merged)
	}
	say("%d event(s) read from the %s log, %d matched the view%s, %d gap(s)", st.Events, o.channel, shown.Load(), merged, st.Gaps)
	if err != nil {
		return err
	}
	switch {
	case useEvt && useNet && evtErr != nil && netErr != nil && ctx.Err() == nil:
		return watchNeedsWindows(errors.Join(evtErr, netErr))
	case useEvt && !useNet && evtErr != nil:
		return watchNeedsWindows(evtErr)
	case !useEvt && netErr != nil && ctx.Err() == nil:
		return watchNeedsWindows(netErr)
	}
	return nil
}

// waitChan returns a channel closed when wg is done.
func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	return c
}

func watchNeedsWindows(err error) error {
	if errors.Is(err, audit.ErrNeedsWindows) || errors.Is(err, evtlog.ErrNeedsWindows) || errors.Is(err, netevent.ErrNeedsWindows) {
		return fmt.Errorf("%w\nwatch reads the live Security log of a Windows host; on this system use 'wfpwatch analyze' on saved files", err)
	}
	return err
}

// recheckLoop checks the audit policy every interval until ctx ends or
// done closes, warning once per change of state.
func recheckLoop(ctx context.Context, done <-chan struct{}, m *audit.Manager, want audit.Want, enforce bool, every time.Duration, say func(string, ...any), found func([]string)) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		drift, err := m.Recheck(want, enforce)
		var lines []string
		for _, d := range drift {
			lines = append(lines, d.String())
		}
		if err != nil {
			lines = append(lines, "audit policy check: "+err.Error())
		}
		found(lines)
		now := strings.Join(lines, "\n")
		if now != last || enforce && len(drift) > 0 {
			for _, l := range lines {
				say("warning: %s", l)
			}
			if now == "" && last != "" {
				say("audit policy is on again")
			}
		}
		last = now
	}
}
