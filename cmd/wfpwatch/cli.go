package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wfpwatch/wfpwatch/internal/output"
)

// setup makes c (a root: the whole tree, or one command run on its own by
// a test) print help to stdout, leave error printing to report, and turn
// flag errors into one-line usage errors with a hint.
func setup(c *cobra.Command, stdout, stderr io.Writer) {
	c.SilenceErrors = true
	c.SilenceUsage = true
	c.SetOut(stdout)
	c.SetErr(stderr)
	c.SetFlagErrorFunc(flagError)
	c.SetUsageFunc(usage)
	c.SuggestionsMinimumDistance = 2
}

// usage writes c's usage (cobra's layout, with the flags wrapped to the
// width of the terminal, or 80 columns) to c.OutOrStderr(), which cobra
// points at standard output for --help.
func usage(c *cobra.Command) error {
	w := c.OutOrStderr()
	width := 80
	if f, ok := w.(*os.File); ok {
		if n := terminalWidth(f); n > 0 {
			width = n
		}
	}
	var b strings.Builder
	b.WriteString("Usage:")
	if c.Runnable() {
		fmt.Fprintf(&b, "\n  %s", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n  %s [command]", c.CommandPath())
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "\n\nExamples:\n%s", c.Example)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\nCommands:")
		pad := 0
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() || s.Name() == "help" {
				pad = max(pad, len(s.Name()))
			}
		}
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() || s.Name() == "help" {
				fmt.Fprintf(&b, "\n  %-*s  %s", pad, s.Name(), s.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(&b, "\n\nFlags:\n%s", strings.TrimRight(c.LocalFlags().FlagUsagesWrapped(width-1), " \n"))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(&b, "\n\nFlags of %s:\n%s", c.Parent().CommandPath(), strings.TrimRight(c.InheritedFlags().FlagUsagesWrapped(width-1), " \n"))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n\nRun '%s <command> --help' for a command's flags.", c.CommandPath())
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// execute runs c on its own with args, as 'wfpwatch NAME args...' would
// (tests and the per-command run functions use it), and returns its
// error: usage errors wrap errUsage.
func execute(ctx context.Context, c *cobra.Command, args []string, stdout, stderr io.Writer) error {
	setup(c, stdout, stderr)
	c.CompletionOptions.DisableDefaultCmd = true
	c.SetArgs(longFlagCompat(c, args))
	return c.ExecuteContext(ctx)
}

// usagef returns a usage error (exit status 2) with a message.
func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// rootArgs rejects an unknown command, suggesting the nearest ones.
func rootArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return unknownCommand(c, args[0])
}

// unknownCommand is the usage error for a command name c does not have.
func unknownCommand(c *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usagef("%s; '%s --help' lists the commands", msg, commandPath(c))
}

// subcommandArgs is the Args of a command that only groups subcommands
// (audit, fwlog, evtx): its RunE sees the unknown name.
func subcommandArgs(c *cobra.Command, args []string) error { return nil }

// groupRun is the RunE of a command that only groups subcommands.
func groupRun(c *cobra.Command, args []string) error {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() && s.Name() != "help" {
			names = append(names, s.Name())
		}
	}
	if len(args) == 0 {
		return usagef("give a subcommand: %s", orList(names))
	}
	return unknownCommand(c, args[0])
}

// noArgs is the Args of a command that takes only flags.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q: %s takes only flags", args[0], c.Name())
	}
	return nil
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// newHelpCmd is 'wfpwatch help [command]': the command's help on stdout,
// or a usage error for a command that does not exist.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		Long:  "Help prints the help of any command: 'wfpwatch help analyze' is 'wfpwatch analyze --help'.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil || cmd == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil {
				return usagef("no help for %q; 'wfpwatch --help' lists the commands", strings.Join(args, " "))
			}
			if len(rest) > 0 {
				return unknownCommand(cmd, rest[0])
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// flagError turns pflag's parse errors into one-line usage errors that
// say what is wanted and, for an unknown flag, which one was meant.
func flagError(c *cobra.Command, err error) error {
	var inv *pflag.InvalidValueError
	var req *pflag.ValueRequiredError
	var nx *pflag.NotExistError
	switch {
	case errors.As(err, &inv):
		f := inv.GetFlag()
		return usagef("--%s %q: %s", f.Name, inv.GetValue(), valueHint(f))
	case errors.As(err, &req):
		f := req.GetFlag()
		return usagef("--%s needs a value: %s", f.Name, valueHint(f))
	case errors.As(err, &nx):
		name := nx.GetSpecifiedName()
		if sh := nx.GetSpecifiedShortnames(); sh != "" {
			return usagef("unknown flag -%s in -%s; '%s --help' lists the flags", name[:1], sh, commandPath(c))
		}
		msg := "unknown flag --" + name
		if s := suggestFlag(c, name); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		}
		return usagef("%s; '%s --help' lists the flags", msg, commandPath(c))
	}
	return usagef("%v", err)
}

// hintAnnotation is the flag annotation that holds the hint given for a
// bad value ("want table, json or csv"); setHint sets it.
const hintAnnotation = "wfpwatch_hint"

// setHint records what a flag wants, for its error messages.
func setHint(fs *pflag.FlagSet, name, hint string) {
	_ = fs.SetAnnotation(name, hintAnnotation, []string{hint})
}

// valueHint says what f wants: its own hint, or one for its type.
func valueHint(f *pflag.Flag) string {
	if h := f.Annotations[hintAnnotation]; len(h) > 0 {
		return h[0]
	}
	switch f.Value.Type() {
	case "duration":
		return "want a duration such as 5m, 90s or 1h30m"
	case "int", "int64", "int32":
		return "want a whole number"
	case "uint", "uint64", "uint32", "uint16", "uint8":
		return "want a whole number, 0 or more"
	case "bool":
		return "want true or false"
	}
	if u, _ := pflag.UnquoteUsage(f); u != "" {
		return "want a " + u
	}
	return "see --help"
}

// suggestFlag returns the flag of c whose name is nearest to name (an
// edit distance of at most 2, or name as its prefix), or "".
func suggestFlag(c *cobra.Command, name string) string {
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(strings.ToLower(name), f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// longFlagCompat rewrites the single-dash long flags of the Go flag
// package that earlier versions accepted ("-format json", "-db=x") to
// their double-dash form, for the command args select, so that scripts
// written for them still work. Shorthand groups ("-rv") are left alone,
// and nothing after "--" is touched.
func longFlagCompat(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return args
	}
	out := args
	copied := false
	for i, a := range args {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		known := name == "help" || c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
		if len(name) < 2 || !known {
			continue
		}
		if !copied {
			out = append([]string(nil), args...)
			copied = true
		}
		out[i] = "-" + a
	}
	return out
}

// addGoFlags defines on fs the flags that register defines on a standard
// library FlagSet (the pipeline's and the store's shared flags), and
// returns what register returns.
func addGoFlags[T any](fs *pflag.FlagSet, register func(*flag.FlagSet) T) T {
	g := flag.NewFlagSet("", flag.ContinueOnError)
	t := register(g)
	fs.AddGoFlagSet(g)
	return t
}

// completeWords makes shell completion offer words for a flag's value.
func completeWords(c *cobra.Command, flag string, words ...string) {
	_ = c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp))
}

// notBuilt is the constructor of a command whose issue has not landed yet:
// it is listed nowhere (hidden) and says so when run.
func notBuilt(name string) func(stdout, stderr io.Writer) *cobra.Command {
	return func(stdout, stderr io.Writer) *cobra.Command {
		return &cobra.Command{
			Use:    name,
			Hidden: true,
			Long:   "This command is not built yet.",
			Args:   noArgs,
			RunE: func(c *cobra.Command, args []string) error {
				return fmt.Errorf("not built yet in this version")
			},
		}
	}
}

// sinceValue is a --since flag that keeps a duration back from now and
// takes the forms of 'query --since': a duration (10m, 7d), an RFC 3339
// time or a date.
type sinceValue struct{ d *time.Duration }

func (s sinceValue) String() string {
	if s.d == nil || *s.d == 0 {
		return ""
	}
	return s.d.String()
}

func (s sinceValue) Type() string { return "TIME" }

func (s sinceValue) Set(v string) error {
	now := queryNow()
	t, err := parseQueryTime(v, now)
	if err != nil {
		return err
	}
	if t.After(now) {
		return fmt.Errorf("%q is in the future", v)
	}
	*s.d = now.Sub(t)
	return nil
}

// refuseNonRegular returns a usage error when path exists and is not a
// regular file (a FIFO, socket or device), saying what to do instead
// (what). Opening a FIFO waits for a writer, where neither Ctrl+C nor
// anything else can reach the command, and a command that reads by offset
// or follows a growing file cannot use one. A path that does not exist is
// left to the command.
func refuseNonRegular(path, what string) error {
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() || st.IsDir() {
		return nil
	}
	return usagef("%s is not a regular file (a FIFO, socket or device): %s", output.TermSafe(path), what)
}
