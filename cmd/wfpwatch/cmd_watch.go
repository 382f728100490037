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

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

func init() {
	register(&command{
		name:    "watch",
		summary: "show blocks live from the Security log (Windows)",
		run:     func(ctx context.Context, args []string) error { return runWatch(ctx, args, os.Stdout, os.Stderr) },
	})
}

// evtSubscribe is the live subscription, replaced by tests.
var evtSubscribe = evtlog.Subscribe

const watchHelp = `
Shows Windows Filtering Platform blocks as they happen, from the Security
log, as a table, NDJSON (ECS fields) or CSV.

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
	since     time.Duration
	noAudit   bool
	enforce   bool
	recheck   time.Duration
	bookmark  string
	state     string
	render    string
	batchSize int
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o watchOptions
	fs := newFlagSet("watch", "[flags]", watchHelp)
	o.view.register(fs)
	fs.DurationVar(&o.since, "since", 0, "start with the events of the last `duration` (e.g. 10m) instead of only new ones")
	fs.BoolVar(&o.noAudit, "no-audit", false, "do not change the audit policy (it is managed elsewhere)")
	fs.BoolVar(&o.enforce, "enforce", false, "re-apply the audit policy when Group Policy or another tool resets it while watching")
	fs.DurationVar(&o.recheck, "recheck", time.Minute, "how often to check that the audit policy is still on (0: never)")
	fs.StringVar(&o.bookmark, "bookmark", "", "`file` that keeps the position in the log across runs (resume after the last event shown)")
	fs.StringVar(&o.state, "state", audit.DefaultStatePath(), "the audit-policy snapshot `file`")
	fs.StringVar(&o.render, "render", "values", "how events are rendered: values (fast) or xml (keeps fields unknown to this version)")
	fs.IntVar(&o.batchSize, "batch", 64, "events read from the log at a time")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := o.view.check(); err != nil {
		return err
	}
	if o.since < 0 {
		return fmt.Errorf("%w: --since %v: want a positive duration such as 10m", errUsage, o.since)
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
		fmt.Fprintf(stderr, "wfpwatch: "+format+"\n", args...)
	}

	want := audit.WantFor(o.view.packets, o.view.permits)
	var m *audit.Manager
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
		defer func() {
			r, err := m.End()
			switch {
			case err != nil:
				say("could not put the audit policy back: %v\nRun 'wfpwatch audit restore' as administrator.", err)
			case r != nil:
				say("%s", r.Summary())
			}
		}()
		if lc, ok := m.Policy.(audit.LegacyChecker); ok {
			if may, err := lc.LegacyMayOverride(); err == nil && may {
				say("note: SCENoApplyLegacyAuditPolicy is not set: a category-level audit policy from Group Policy can override these subcategory settings")
			}
		}
		if o.recheck > 0 {
			done := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); recheckLoop(ctx, done, m, want, o.enforce, o.recheck, say) }()
			defer func() { close(done); wg.Wait() }()
		}
	}

	w, err := o.view.writer(stdout, true)
	if err != nil {
		return err
	}
	var shown, fieldProblems uint64
	warnf := say
	var e event.Event
	handler := func(recs []evtlog.Record) error {
		for i := range recs {
			err := evtlog.Decode(&recs[i], &e)
			if errors.Is(err, evtlog.ErrNotWFP) {
				continue
			}
			if err != nil {
				fieldProblems++
				if fieldProblems <= 20 {
					warnf("warning: %v (event kept)", err)
				}
			}
			e.Sources = event.SourceEvtlog
			if !o.view.match(&e) {
				continue
			}
			if err := w.Write(&e); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			shown++
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
	say("watching the Security log for %s from %s; Ctrl+C stops", what, from)
	st, err := evtSubscribe(ctx, evtlog.Options{
		Query:        evtlog.QueryFor(o.view.packets, o.view.permits),
		BookmarkPath: o.bookmark,
		Since:        o.since,
		Render:       render,
		BatchSize:    o.batchSize,
		OnGap:        func(g evtlog.Gap) { warnf("warning: %s", g) },
		OnProblem:    func(err error) { warnf("warning: %v", err) },
	}, handler)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	say("%d event(s) read, %d shown, %d gap(s)", st.Events, shown, st.Gaps)
	if err != nil {
		return watchNeedsWindows(err)
	}
	return nil
}

func watchNeedsWindows(err error) error {
	if errors.Is(err, audit.ErrNeedsWindows) || errors.Is(err, evtlog.ErrNeedsWindows) {
		return fmt.Errorf("%w\nwatch reads the live Security log of a Windows host; on this system use 'wfpwatch analyze' on saved files", err)
	}
	return err
}

// recheckLoop checks the audit policy every interval until ctx ends or
// done closes, warning once per change of state.
func recheckLoop(ctx context.Context, done <-chan struct{}, m *audit.Manager, want audit.Want, enforce bool, every time.Duration, say func(string, ...any)) {
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
