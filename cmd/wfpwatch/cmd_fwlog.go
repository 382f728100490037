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

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/source/fwlog"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

func init() {
	register(&command{name: "fwlog", summary: "show, enable, restore or follow the Windows Firewall log (pfirewall.log)", run: runFwlog})
}

const fwlogUsage = `Usage: wfpwatch fwlog <status|enable|restore|tail> [flags]

  status    show, per profile, whether the firewall logs dropped packets, where, and how big the log may grow
  enable    turn on logging of dropped packets (and optionally set the file and size), recording what it changes
  restore   put back what 'enable' changed (settings changed since by someone else are left alone)
  tail      follow the firewall log live and show its blocks (any OS; on Windows the log path is found by itself)

Run 'wfpwatch fwlog <subcommand> --help' for its flags.`

// fwlogConfig is the firewall settings backend; tests replace it.
var fwlogConfig = fwlog.SystemConfig

func runFwlog(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(os.Stderr, fwlogUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: a subcommand is needed", errUsage)
		}
		return nil
	}
	switch args[0] {
	case "status":
		return fwlogStatus(args[1:], os.Stdout)
	case "enable":
		return fwlogEnable(args[1:], os.Stdout)
	case "restore":
		return fwlogRestore(args[1:], os.Stdout)
	case "tail":
		return fwlogTail(ctx, args[1:], os.Stdout)
	}
	return fmt.Errorf("%w: unknown subcommand %q (want status, enable, restore or tail)", errUsage, args[0])
}

// defaultStateDir is where wfpwatch keeps its snapshot and position files:
// %ProgramData%\wfpwatch on Windows (the service and the administrator
// share it), the user cache directory elsewhere.
func defaultStateDir() string { return statedir.Default() }

func defaultSnapshotPath() string { return filepath.Join(defaultStateDir(), "fwlog-snapshot.json") }

func fwlogStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("fwlog status", "[flags]", "Show the firewall's logging settings for each profile: the local settings and, when Group Policy overrides them, the settings in force.")
	snapPath := fs.String("snapshot", defaultSnapshotPath(), "the snapshot file written by 'fwlog enable'")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
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
	if snap, ok, err := fwlog.LoadSnapshot(*snapPath); err == nil && ok && len(snap.Changes) > 0 {
		fmt.Fprintf(stdout, "\nwfpwatch changed these settings on %s (undo with 'wfpwatch fwlog restore'):\n", snap.Taken.Format("2006-01-02 15:04 MST"))
		for _, c := range snap.Changes {
			fmt.Fprintf(stdout, "  %s\n", c)
		}
	}
	return nil
}

func fwlogEnable(args []string, stdout io.Writer) error {
	fs := newFlagSet("fwlog enable", "[flags]", `Turn on the firewall's logging of dropped packets for the chosen profiles,
changing only what is off, and record the original values in a snapshot
first, so that 'wfpwatch fwlog restore' can put them back. Needs an
elevated (administrator) prompt.`)
	profiles := fs.String("profiles", "all", "comma-separated profiles to change: domain, private, public or all")
	file := fs.String("file", "", "also set the log file (default: keep the current one)")
	maxKB := fs.Uint64("max-size", 0, "also set the log size limit in KB, 1–32767 (default: keep the current one)")
	snapPath := fs.String("snapshot", defaultSnapshotPath(), "where to record the original settings")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
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

func fwlogRestore(args []string, stdout io.Writer) error {
	fs := newFlagSet("fwlog restore", "[flags]", `Put back the firewall logging settings that 'wfpwatch fwlog enable' changed,
as recorded in its snapshot. A setting someone changed since is left alone.
Needs an elevated (administrator) prompt.`)
	snapPath := fs.String("snapshot", defaultSnapshotPath(), "the snapshot written by 'fwlog enable'")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
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

func fwlogTail(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("fwlog tail", "[flags] [LOG]", `Follow the firewall log live and show what it blocks. It follows the
firewall's rotation to LOG.old and a truncated log without losing or
repeating lines, and remembers its position in a state file, so that the
next run goes on where this one stopped. Without LOG, on Windows, the log
file configured for the firewall profiles is used.`)
	format := fs.String("format", "table", "output format: "+strings.Join(output.Formats, ", "))
	packets := fs.Bool("packets", false, "show routine packet drops too (multicast, broadcast, stray TCP)")
	permits := fs.Bool("permits", false, "show ALLOW lines too")
	state := fs.String("state", filepath.Join(defaultStateDir(), "fwlog-position.json"), "file that keeps the position (\"\" for none)")
	fromStart := fs.Bool("from-start", false, "with no saved position, read the existing log from its start (default: only new lines)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("%w: one log at most", errUsage)
	}
	path := fs.Arg(0)
	if path == "" {
		p, err := configuredLogPath()
		if err != nil {
			return err
		}
		path = p
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
