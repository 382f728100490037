package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

func init() {
	register(&command{
		name:    "audit",
		summary: "the Filtering Platform audit policy (Windows)",
		new:     newAuditCmd,
	})
}

// The host bindings, replaced by tests.
var (
	auditSystem = audit.System
	auditAlive  = audit.Alive
	auditSelf   = audit.Self
)

const auditHelp = `Shows and changes the two audit subcategories that make Windows write the
Filtering Platform events to the Security log, by GUID (never by localized
name), through AuditQuerySystemPolicy/AuditSetSystemPolicy:

  Filtering Platform Connection  {0CCE9226-69AE-11D9-BED3-505054503030}
      failure: blocks (5031, 5155, 5157, 5159); success: permits (5154, 5156, 5158)
  Filtering Platform Packet Drop {0CCE9225-69AE-11D9-BED3-505054503030}
      failure: packet drops (5150-5153)

Subcommands:
  status                       the current settings and any outstanding change
  enable [--packets] [--permits]
                               turn on what blocks (and drops, permits) need,
                               until 'audit restore'; only bits that are off
                               are turned on
  disable                      switch both subcategories off (No Auditing)
  restore [--force]            put back what was there before wfpwatch changed it

Before any change the previous settings are saved to a state file
(--state); 'restore' writes them back exactly ("No Auditing" as NONE) and
removes the file. A subcategory someone else changed after wfpwatch is left
alone unless --force. 'wfpwatch watch' makes the same change for its own
lifetime and puts it back on exit. Needs an elevated prompt
(SeSecurityPrivilege).`

// auditOptions are the flags of the audit subcommands.
type auditOptions struct {
	state   string
	packets bool
	permits bool
	force   bool
	format  string
}

func newAuditCmd(stdout, stderr io.Writer) *cobra.Command {
	var o auditOptions
	c := &cobra.Command{
		Use:   "audit status|enable|disable|restore [flags]",
		Short: "the Filtering Platform audit policy (Windows)",
		Long:  auditHelp,
		Args:  subcommandArgs,
		RunE:  groupRun,
	}
	c.PersistentFlags().StringVar(&o.state, "state", audit.DefaultStatePath(), "the snapshot `file` that records the settings before wfpwatch changed them")
	sub := func(name, short string) *cobra.Command {
		s := &cobra.Command{
			Use:   name + " [flags]",
			Short: short,
			Args:  noArgs,
			RunE:  func(c *cobra.Command, args []string) error { return runAuditSub(name, &o, stdout, stderr) },
		}
		c.AddCommand(s)
		return s
	}
	st := sub("status", "the current settings and any outstanding change")
	st.Flags().StringVar(&o.format, "format", "table", "output `format`: table or json")
	setHint(st.Flags(), "format", "want table or json")
	completeWords(st, "format", "table", "json")
	en := sub("enable", "turn on what blocks (and drops, permits) need, until 'audit restore'")
	en.Flags().BoolVar(&o.packets, "packets", false, "also audit packet drops (Packet Drop failure: 5150-5153; high volume)")
	en.Flags().BoolVar(&o.permits, "permits", false, "also audit permits (Connection success: 5154, 5156, 5158; high volume)")
	sub("disable", "switch both subcategories off (No Auditing)")
	re := sub("restore", "put back what was there before wfpwatch changed it")
	re.Flags().BoolVar(&o.force, "force", false, "write back the saved settings even where someone else changed them since, or while the watch that owns the change still runs")
	return c
}

// runAudit runs 'wfpwatch audit args...'.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return execute(ctx, newAuditCmd(stdout, stderr), args, stdout, stderr)
}

// runAuditSub runs one audit subcommand.
func runAuditSub(sub string, o *auditOptions, stdout, stderr io.Writer) error {
	state, packets, permits, force, format := o.state, o.packets, o.permits, o.force, o.format
	m, err := auditManager(state, "audit "+sub)
	if err != nil {
		return err
	}
	m.Self = audit.Owner{Command: "audit " + sub}
	switch sub {
	case "status":
		st, err := m.Status()
		if err != nil {
			return err
		}
		if strings.EqualFold(format, "json") {
			return writeAuditStatusJSON(stdout, st, state)
		}
		writeAuditStatus(stdout, st, state)
		return nil
	case "enable", "disable":
		var c *audit.Change
		if sub == "enable" {
			c, err = m.Enable(audit.WantFor(packets, permits))
		} else {
			c, err = m.Disable()
		}
		if c != nil && c.Repaired != nil {
			fmt.Fprintf(stderr, "note: %s had ended without restoring the audit policy; %s\n", c.Repaired.Owner, c.Repaired.Summary())
		}
		if err != nil {
			return err
		}
		if len(c.Changed) == 0 {
			fmt.Fprintln(stdout, "audit policy: nothing to change")
			return nil
		}
		fmt.Fprintln(stdout, c.Summary("'wfpwatch audit restore' puts it back"))
		return nil
	case "restore":
		r, err := m.Restore(force)
		if err != nil {
			return err
		}
		if r == nil {
			fmt.Fprintln(stdout, "audit policy: no change by wfpwatch is outstanding, nothing to restore")
		} else {
			fmt.Fprintln(stdout, r.Summary())
		}
		return restoreEngineOptions(state, force, stdout)
	}
	return nil
}

// auditManager returns a Manager for this host's audit policy.
func auditManager(state, command string) (*audit.Manager, error) {
	p, err := auditSystem()
	if err != nil {
		if errors.Is(err, audit.ErrNeedsWindows) {
			return nil, fmt.Errorf("%w: the audit policy exists only on Windows", err)
		}
		return nil, err
	}
	return &audit.Manager{Policy: p, State: state, Self: auditSelf(command), Alive: auditAlive, Lock: stateLock(state)}, nil
}

// stateLock returns the lock that wfpwatch processes share for the state
// file path: its directory is checked (created locked down when missing)
// first.
func stateLock(path string) func() (func() error, error) {
	return func() (func() error, error) {
		if err := statedir.EnsureFor(path); err != nil {
			return nil, err
		}
		return statedir.Lock(path + ".lock")
	}
}

func ownerState(st *audit.Status) string {
	switch {
	case st.Snapshot == nil:
		return ""
	case st.Snapshot.Kept:
		return "left alone by a restore because someone else changed it since; 'wfpwatch audit restore --force' writes back the saved settings"
	case st.Snapshot.IsLasting():
		return "lasting until 'wfpwatch audit restore'"
	case len(st.Holders) > 1:
		return fmt.Sprintf("running, shared by %d wfpwatch processes; the last to exit puts the policy back", len(st.Holders))
	case st.OwnerAlive:
		return "running; it puts the policy back when it exits"
	}
	return "ended without restoring: the next watch or 'wfpwatch audit restore' puts it back"
}

func writeAuditStatus(w io.Writer, st *audit.Status, state string) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBCATEGORY\tGUID\tSETTING\tBEFORE WFPWATCH")
	for _, s := range st.Subcategories {
		before := "-"
		if s.Entry != nil && s.Entry.Changed {
			before = s.Entry.Before.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Subcategory, s.Current, before)
	}
	tw.Flush()
	fmt.Fprintln(w)
	var blocks, drops, permits bool
	for _, s := range st.Subcategories {
		switch s.Subcategory {
		case audit.Connection:
			blocks, permits = s.Current.Has(audit.Failure), s.Current.Has(audit.Success)
		case audit.PacketDrop:
			drops = s.Current.Has(audit.Failure)
		}
	}
	fmt.Fprintf(w, "Events written: blocks %s, packet drops %s, permits %s\n", yesNo(blocks), yesNo(drops), yesNo(permits))
	if st.LegacyMayOverride != nil && *st.LegacyMayOverride {
		fmt.Fprintln(w, "Legacy policy: SCENoApplyLegacyAuditPolicy is not set, so a category-level (legacy) audit policy from Group Policy can override these settings")
	}
	if st.Snapshot == nil {
		fmt.Fprintln(w, "Changed by wfpwatch: no")
		return
	}
	fmt.Fprintf(w, "Changed by wfpwatch: yes, by %s at %s (%s)\nSnapshot: %s\n",
		st.Snapshot.Owner, st.Snapshot.Created.Local().Format(time.DateTime), ownerState(st), state)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeAuditStatusJSON(w io.Writer, st *audit.Status, state string) error {
	type sub struct {
		Name    string  `json:"name"`
		GUID    string  `json:"guid"`
		Setting string  `json:"setting"`
		Value   uint32  `json:"value"`
		Before  string  `json:"before_wfpwatch,omitempty"`
		BeforeV *uint32 `json:"before_wfpwatch_value,omitempty"`
	}
	out := struct {
		Subcategories     []sub  `json:"subcategories"`
		LegacyMayOverride *bool  `json:"legacy_may_override,omitempty"`
		ChangedBy         string `json:"changed_by,omitempty"`
		OwnerState        string `json:"owner_state,omitempty"`
		Snapshot          string `json:"snapshot,omitempty"`
	}{LegacyMayOverride: st.LegacyMayOverride}
	for _, s := range st.Subcategories {
		o := sub{Name: s.Name, GUID: s.Subcategory.String(), Setting: s.Current.String(), Value: uint32(s.Current)}
		if s.Entry != nil && s.Entry.Changed {
			v := uint32(s.Entry.Before)
			o.Before, o.BeforeV = s.Entry.Before.String(), &v
		}
		out.Subcategories = append(out.Subcategories, o)
	}
	if st.Snapshot != nil {
		out.ChangedBy, out.OwnerState, out.Snapshot = st.Snapshot.Owner.String(), ownerState(st), state
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
