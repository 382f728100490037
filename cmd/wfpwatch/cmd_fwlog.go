package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/source/fwlog"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

func init() {
	register(&command{name: "fwlog", summary: "the Windows Firewall log: status, enable, restore, tail", new: newFwlogCmd})
}

// fwlogConfig is the firewall settings backend; tests replace it.
var fwlogConfig = fwlog.SystemConfig

func newFwlogCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "fwlog status|enable|restore|tail [flags]",
		Short: "the Windows Firewall log: status, enable, restore, tail",
		Long: `The Windows Firewall log (pfirewall.log): its settings per profile, turning
on the logging of dropped packets with an exact restore, and following the
log live (tail works on any OS).`,
		Args: subcommandArgs,
		RunE: groupRun,
	}
	c.AddCommand(newFwlogStatusCmd(stdout), newFwlogEnableCmd(stdout), newFwlogRestoreCmd(stdout), newFwlogTailCmd(stdout))
	return c
}

// The fwlog subcommands run on their own, as tests call them.
func fwlogStatus(args []string, stdout io.Writer) error {
	return execute(context.Background(), newFwlogStatusCmd(stdout), args, stdout, os.Stderr)
}

func fwlogEnable(args []string, stdout io.Writer) error {
	return execute(context.Background(), newFwlogEnableCmd(stdout), args, stdout, os.Stderr)
}

func fwlogRestore(args []string, stdout io.Writer) error {
	return execute(context.Background(), newFwlogRestoreCmd(stdout), args, stdout, os.Stderr)
}

func fwlogTail(ctx context.Context, args []string, stdout io.Writer) error {
	return execute(ctx, newFwlogTailCmd(stdout), args, stdout, os.Stderr)
}

// defaultStateDir is where wfpwatch keeps its snapshot and position files:
// %ProgramData%\wfpwatch on Windows (the service and the administrator
// share it), the user cache directory elsewhere.
func defaultStateDir() string { return statedir.Default() }

func defaultSnapshotPath() string { return filepath.Join(defaultStateDir(), "fwlog-snapshot.json") }

func newFwlogStatusCmd(stdout io.Writer) *cobra.Command {
	var snapPath string
	c := &cobra.Command{
		Use:   "status [flags]",
		Short: "per profile: are drops logged, where, how big may the log grow",
		Long:  "Show the firewall's logging settings for each profile: the local settings and, when Group Policy overrides them, the settings in force.",
		Args:  noArgs,
		RunE:  func(c *cobra.Command, args []string) error { return runFwlogStatus(snapPath, stdout) },
	}
	c.Flags().StringVar(&snapPath, "snapshot", defaultSnapshotPath(), "the snapshot `file` written by 'fwlog enable'")
	return c
}

func runFwlogStatus(snapPath string, stdout io.Writer) error {
	local, eff, err := fwlogConfig().Get()
	if err != nil {
		return fmt.Errorf("read the firewall's logging settings: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tLOG DROPPED\tLOG ALLOWED\tMAX KB\tFILE")
	for _, l := range local {
		blocked := l.LogBlocked.String()
		for _, e := range eff {
			if e.Profile == l.Profile && e.GPO {
				blocked += fmt.Sprintf(" (Group Policy: %s)", e.LogBlocked)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", l.Profile, blocked, l.LogAllowed, l.MaxSizeKB, l.FileName)
	}
	tw.Flush()
	if snap, ok, err := fwlog.LoadSnapshot(snapPath); err == nil && ok && len(snap.Changes) > 0 {
		fmt.Fprintf(stdout, "\nwfpwatch changed these settings on %s (undo with 'wfpwatch fwlog restore'):\n", snap.Taken.Format("2006-01-02 15:04 MST"))
		for _, c := range snap.Changes {
			fmt.Fprintf(stdout, "  %s\n", c)
		}
	}
	return nil
}

func newFwlogEnableCmd(stdout io.Writer) *cobra.Command {
	var o fwlogEnableOptions
	c := &cobra.Command{
		Use:   "enable [flags]",
		Short: "log dropped packets, recording what it changes",
		Long: `Turn on the firewall's logging of dropped packets for the chosen profiles,
changing only what is off, and record the original values in a snapshot
first, so that 'wfpwatch fwlog restore' can put them back. Needs an
elevated (administrator) prompt.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return runFwlogEnable(&o, stdout) },
	}
	fs := c.Flags()
	o.profiles = fs.String("profiles", "all", "comma-separated `profiles` to change: domain, private, public or all")
	o.file = fs.String("file", "", "also set the log `file` (default: keep the current one)")
	o.maxKB = fs.Uint64("max-size", 0, "also set the log size limit in `KB`, 1–32767 (default: keep the current one)")
	o.snapPath = fs.String("snapshot", defaultSnapshotPath(), "where to record the original settings")
	completeWords(c, "profiles", "all", "domain", "private", "public")
	return c
}

// fwlogEnableOptions are the flags of fwlog enable.
type fwlogEnableOptions struct {
	profiles, file, snapPath *string
	maxKB                    *uint64
}

func runFwlogEnable(o *fwlogEnableOptions, stdout io.Writer) error {
	profiles, file, maxKB, snapPath := o.profiles, o.file, o.maxKB, o.snapPath
	if *maxKB > 32767 {
		return fmt.Errorf("%w: --max-size %d is above the firewall's limit of 32767 KB", errUsage, *maxKB)
	}
	var opt fwlog.EnableOptions
	if *profiles != "all" && *profiles != "" {
		for _, p := range strings.Split(*profiles, ",") {
			p = strings.TrimSpace(p)
			switch strings.ToLower(p) {
			case "domain", "private", "public":
				opt.Profiles = append(opt.Profiles, strings.ToUpper(p[:1])+strings.ToLower(p[1:]))
			default:
				return fmt.Errorf("%w: unknown profile %q (want domain, private, public or all)", errUsage, p)
			}
		}
	}
	opt.FileName, opt.MaxSizeKB = *file, *maxKB
	snap, _, err := fwlog.LoadSnapshot(*snapPath)
	if err != nil {
		return err
	}
	save := func(s *fwlog.Snapshot) error { return fwlog.SaveSnapshot(*snapPath, s) }
	changes, warnings, err := fwlog.Enable(fwlogConfig(), opt, snap, save)
	for _, c := range changes {
		fmt.Fprintf(stdout, "changed: %s\n", c)
	}
	for _, w := range warnings {
		fmt.Fprintf(stdout, "note: %s\n", w)
	}
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		fmt.Fprintf(stdout, "The original values are in %s; 'wfpwatch fwlog restore' puts them back.\n", *snapPath)
	}
	return nil
}

func newFwlogRestoreCmd(stdout io.Writer) *cobra.Command {
	var snapPath string
	c := &cobra.Command{
		Use:   "restore [flags]",
		Short: "put back what 'enable' changed",
		Long: `Put back the firewall logging settings that 'wfpwatch fwlog enable' changed,
as recorded in its snapshot. A setting someone changed since is left alone.
Needs an elevated (administrator) prompt.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return runFwlogRestore(&snapPath, stdout) },
	}
	c.Flags().StringVar(&snapPath, "snapshot", defaultSnapshotPath(), "the snapshot `file` written by 'fwlog enable'")
	return c
}

func runFwlogRestore(snapPath *string, stdout io.Writer) error {
	snap, ok, err := fwlog.LoadSnapshot(*snapPath)
	if err != nil {
		return err
	}
	if !ok || len(snap.Changes) == 0 {
		fmt.Fprintf(stdout, "Nothing to restore: no snapshot at %s.\n", *snapPath)
		return nil
	}
	restored, skipped, err := fwlog.Restore(fwlogConfig(), snap)
	for _, c := range restored {
		fmt.Fprintf(stdout, "restored: %s\n", c)
	}
	for _, s := range skipped {
		fmt.Fprintf(stdout, "left alone: %s\n", s)
	}
	if err != nil {
		return fmt.Errorf("%w (the snapshot %s is kept; run restore again)", err, *snapPath)
	}
	if err := statedir.Remove(*snapPath); err != nil {
		return fmt.Errorf("restored, but could not remove the snapshot: %w", err)
	}
	return nil
}

func newFwlogTailCmd(stdout io.Writer) *cobra.Command {
	var o fwlogTailOptions
	c := &cobra.Command{
		Use:   "tail [flags] [LOG]",
		Short: "follow the log live and show its blocks (any OS)",
		Long: `Follow the firewall log live and show what it blocks. It follows the
firewall's rotation to LOG.old and a truncated log without losing or
repeating lines, and remembers its position in a state file, so that the
next run goes on where this one stopped. Without LOG, on Windows, the log
file configured for the firewall profiles is used.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("one log at most")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return runFwlogTail(c.Context(), &o, args, stdout) },
	}
	fs := c.Flags()
	o.format = fs.String("format", "table", "output `format`: "+strings.Join(output.Formats, ", "))
	o.packets = fs.Bool("packets", false, "show routine packet drops too (multicast, broadcast, stray TCP)")
	o.permits = fs.Bool("permits", false, "show ALLOW lines too")
	o.state = fs.String("position", filepath.Join(defaultStateDir(), "fwlog-position.json"), "`file` that keeps the position in the log (\"\" for none)")
	fs.StringVar(o.state, "state", *o.state, "the old name of --position (--state is the audit snapshot in audit and watch)")
	fs.MarkHidden("state")
	o.fromStart = fs.Bool("from-start", false, "with no saved position, read the existing log from its start (default: only new lines)")
	completeWords(c, "format", output.Formats...)
	return c
}

// fwlogTailOptions are the flags of fwlog tail.
type fwlogTailOptions struct {
	format, state               *string
	packets, permits, fromStart *bool
}

func runFwlogTail(ctx context.Context, o *fwlogTailOptions, args []string, stdout io.Writer) error {
	format, packets, permits, state, fromStart := o.format, o.packets, o.permits, o.state, o.fromStart
	path := ""
	if len(args) > 0 {
		path = args[0]
	}
	if path == "" {
		p, err := configuredLogPath()
		if err != nil {
			return err
		}
		path = p
	}
	if err := refuseNonRegular(path, "fwlog tail follows the log file the firewall writes: name that file"); err != nil {
		return err
	}
	w, err := output.New(*format, stdout, output.Options{FlushEach: true})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer w.Close()
	if *state != "" {
		// Not MkdirAll: the default directory must be created locked down.
		if err := statedir.EnsureFor(*state); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	sel := event.Selection{Drops: *packets, Permits: *permits}
	t := &fwlog.Tailer{
		Path:      path,
		StatePath: *state,
		FromStart: *fromStart,
		Warn:      func(err error) { fmt.Fprintf(os.Stderr, "wfpwatch fwlog tail: %s: %v\n", path, err) },
	}
	fmt.Fprintf(os.Stderr, "Following %s (Ctrl+C to stop).\n", path)
	return t.Run(ctx, func(e *event.Event) error {
		if !sel.Includes(e) {
			return nil
		}
		return w.Write(e)
	})
}

// configuredLogPath returns the firewall's log file: the file of a profile
// that logs dropped packets, else of the first profile.
func configuredLogPath() (string, error) {
	_, eff, err := fwlogConfig().Get()
	if err != nil {
		return "", fmt.Errorf("find the firewall log (give its path as an argument): %w", err)
	}
	var path string
	for _, p := range eff {
		if p.FileName == "" {
			continue
		}
		if path == "" || p.LogBlocked == fwlog.True {
			path = p.FileName
		}
		if p.LogBlocked == fwlog.True {
			break
		}
	}
	if path == "" {
		return "", errors.New("the firewall has no log file configured: run 'wfpwatch fwlog enable' or give the log's path")
	}
	return fwlog.ExpandPath(path, os.Getenv), nil
}
