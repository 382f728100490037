package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/health"
	"github.com/wfpwatch/wfpwatch/internal/output"
)

const statusHelp = `Shows the health of the wfpwatch processes capturing on this host (watch,
the service, serve --live): each live source (up or down, events, gaps,
events lost), the audit policy (on, what was changed, whether Group Policy
reset it), suppression by rule, every output (sent, retries, dropped,
queued, the age of the oldest undelivered event, the last error) and the
history database. A process that stopped writing its health without a clean
stop is shown as not responding (crashed or hung). With nothing running, it
shows how the last run ended.

Each running wfpwatch writes its health every few seconds to the status
folder of the state directory (%ProgramData%\wfpwatch\status), so status
needs the same elevated prompt as the service.

Exit status: 0 when every running process is healthy; 1 when nothing runs,
a process is not responding, a source is down, the audit policy was reset,
or an output's oldest undelivered event is older than --max-age: a
monitoring script can run 'wfpwatch status -q' and look at the exit status.`

type statusOptions struct {
	format string
	dir    string
	maxAge time.Duration
	quiet  bool
	// auditNow adds the audit policy read from the system (off in tests:
	// the golden output must not depend on the machine).
	auditNow bool
}

func init() {
	register(&command{name: "status", summary: "health of the running watch or service: sources, audit policy, outputs", new: func(stdout, stderr io.Writer) *cobra.Command {
		o := &statusOptions{auditNow: true}
		c := &cobra.Command{
			Use:     "status [flags]",
			Short:   "health of the running watch or service: sources, audit policy, outputs",
			Long:    statusHelp,
			Example: "  wfpwatch status\n  wfpwatch status --format json\n  wfpwatch status -q --max-age 5m   # for a monitoring script: exit status only",
			Args:    noArgs,
			RunE: func(c *cobra.Command, args []string) error {
				return runStatus(o, stdout, stderr, time.Now())
			},
		}
		fs := c.Flags()
		fs.StringVar(&o.format, "format", "table", "output `format`: table or json")
		fs.StringVar(&o.dir, "dir", "", "read the health snapshots in `DIR` (default: the status folder of the state directory)")
		fs.DurationVar(&o.maxAge, "max-age", 10*time.Minute, "an output whose oldest undelivered event is older than this is unhealthy")
		fs.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing; the exit status says whether all is healthy")
		completeWords(c, "format", "table", "json")
		return c
	}})
}

// errUnhealthy is the failure status returns when something is wrong; the
// reasons are printed before it.
var errUnhealthy = errors.New("not healthy")

func runStatus(o *statusOptions, stdout, stderr io.Writer, now time.Time) error {
	if o.format != "table" && o.format != "json" {
		return usagef("--format %q: want table or json", o.format)
	}
	snaps, rerr := health.ReadAll(o.dir)
	if rerr != nil && !o.quiet {
		fmt.Fprintf(stderr, "wfpwatch status: warning: %v\n", rerr)
	}
	shown, problems := health.Assess(snaps, now, o.maxAge)
	health.Prune(snaps, now)
	if o.quiet {
		stdout = io.Discard
	}
	if o.format == "json" {
		type report struct {
			Healthy   bool              `json:"healthy"`
			Problems  []string          `json:"problems"`
			Processes []health.Snapshot `json:"processes"`
		}
		r := report{Healthy: len(problems) == 0, Problems: problems, Processes: shown}
		if r.Problems == nil {
			r.Problems = []string{}
		}
		if r.Processes == nil {
			r.Processes = []health.Snapshot{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		writeStatus(stdout, shown, now)
		if o.auditNow {
			writeAuditNow(stdout)
		}
	}
	if len(problems) > 0 {
		if !o.quiet {
			for _, p := range problems {
				fmt.Fprintf(stderr, "wfpwatch status: %s\n", output.TermSafe(p))
			}
		}
		return errUnhealthy
	}
	return nil
}

func sourceName(s health.Source) string { return s.Label() }

func ago(now, t time.Time) string { return health.Since(now, t) }

func dur(d time.Duration) string { return health.Short(d) }

func count(n uint64) string { return thousands(n) }

// writeStatus writes the snapshots for a person, at most 80 columns wide
// for the usual values.
func writeStatus(w io.Writer, snaps []health.Snapshot, now time.Time) {
	for i, s := range snaps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		state := fmt.Sprintf("running since %s (updated %s ago)", s.Started.Local().Format(time.DateTime), ago(now, s.Updated))
		switch {
		case s.Stopped != nil:
			state = fmt.Sprintf("stopped at %s, cleanly", s.Stopped.Local().Format(time.DateTime))
		case s.Stale(now):
			state = fmt.Sprintf("NOT RESPONDING for %s (crashed or hung?)", ago(now, s.Updated))
		}
		fmt.Fprintf(w, "wfpwatch %s, pid %d, %s\n", output.TermSafe(s.Command), s.PID, state)
		label := func(l string) string { return fmt.Sprintf("  %-9s ", l) }
		for j, src := range s.Sources {
			l := label("sources")
			if j > 0 {
				l = label("")
			}
			up := "up"
			if !src.Up {
				up = "DOWN"
			}
			last := "none yet"
			if !src.LastEvent.IsZero() {
				last = ago(now, src.LastEvent) + " ago"
			}
			fmt.Fprintf(w, "%s%s: %s, %s events, last %s", l, sourceName(src), up, count(src.Events), last)
			if src.Gaps > 0 || src.Lost > 0 {
				fmt.Fprintf(w, "\n%s  %s gaps, %s events lost", label(""), count(src.Gaps), count(src.Lost))
			}
			fmt.Fprintln(w)
			if src.LastError != "" {
				fmt.Fprintf(w, "%s  last error %s ago: %s\n", label(""), ago(now, src.LastErrorAt), output.TermSafe(src.LastError))
			}
		}
		if a := s.Audit; a != nil {
			switch {
			case !a.Managed:
				fmt.Fprintf(w, "%sleft alone (--no-audit: managed elsewhere)\n", label("audit"))
			case a.On:
				fmt.Fprintf(w, "%son as needed (checked %s ago)\n", label("audit"), ago(now, a.CheckedAt))
				for _, c := range a.Changed {
					fmt.Fprintf(w, "%s  turned on by this run: %s\n", label(""), output.TermSafe(c))
				}
			default:
				fmt.Fprintf(w, "%sNOT AS NEEDED (Group Policy or another tool reset it?)\n", label("audit"))
				for _, d := range a.Drift {
					fmt.Fprintf(w, "%s  %s\n", label(""), output.TermSafe(d))
				}
			}
		}
		p := s.Pipeline
		fmt.Fprintf(w, "%s%s events, %s suppressed, %s flows (%s open)", label("pipeline"), count(p.Seen), count(p.Suppressed), count(p.FlowsOpened), count(uint64(p.FlowsOpen)))
		if p.Overflow > 0 {
			fmt.Fprintf(w, ", %s not aggregated (flow table full)", count(p.Overflow))
		}
		fmt.Fprintln(w)
		for _, r := range p.Rules {
			if r.Hits > 0 {
				fmt.Fprintf(w, "%s  %s suppressed by %s (%s)\n", label(""), count(r.Hits), output.TermSafe(r.Label), output.TermSafe(r.Source))
			}
		}
		for j, out := range s.Outputs {
			l := label("outputs")
			if j > 0 {
				l = label("")
			}
			fmt.Fprintf(w, "%s%s\n%s  %s sent, %s retries, %s dropped, %s queued (%s)", l, output.TermSafe(out.URL), label(""),
				count(out.Sent), count(out.Retried), count(out.Dropped), count(out.Queued), bytesText(out.QueueBytes))
			if out.Queued > 0 {
				fmt.Fprintf(w, ", oldest %s", dur(time.Duration(out.OldestAge)))
			}
			fmt.Fprintln(w)
			if out.LastError != "" {
				fmt.Fprintf(w, "%s  last error %s ago: %s\n", label(""), ago(now, out.LastErrorAt), output.TermSafe(out.LastError))
			}
		}
		if d := s.DB; d != nil {
			fmt.Fprintf(w, "%s%s, %s\n", label("history"), output.TermSafe(d.Path), bytesText(d.Bytes))
		}
	}
}

// writeAuditNow adds the audit policy as it is now, when it can be read
// (an elevated prompt on Windows); elsewhere it says nothing.
func writeAuditNow(w io.Writer) {
	m, err := auditManager(audit.DefaultStatePath(), "status")
	if err != nil {
		return // not Windows
	}
	st, err := m.Status()
	if err != nil {
		fmt.Fprintf(w, "\naudit policy now: cannot be read (%v)\n", err)
		return
	}
	var blocks, drops bool
	for _, s := range st.Subcategories {
		switch s.Subcategory {
		case audit.Connection:
			blocks = s.Current.Has(audit.Failure)
		case audit.PacketDrop:
			drops = s.Current.Has(audit.Failure)
		}
	}
	fmt.Fprintf(w, "\naudit policy now: blocks audited %s, packet drops %s (wfpwatch audit status)\n", yesNo(blocks), yesNo(drops))
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
