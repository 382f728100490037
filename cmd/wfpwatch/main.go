// Command wfpwatch shows what the Windows Filtering Platform blocks: live on
// Windows (watch), and from saved files on any OS (analyze).
//
// Each subcommand lives in its own file (cmd_<name>.go) and registers itself
// in init with register.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line for the command list
	// run executes the command with the arguments after its name. It
	// returns errUsage (wrapped or not) for bad arguments.
	run func(ctx context.Context, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// errUsage marks an error caused by the command line; main exits with 2.
var errUsage = errors.New("usage")

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usage(w io.Writer) {
	fmt.Fprintf(w, "wfpwatch shows what the Windows Filtering Platform blocks.\n\nUsage:\n  wfpwatch <command> [flags] [args]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'wfpwatch <command> --help' for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return run([]string{c.name, "--help"}, stdout, stderr)
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wfpwatch: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals()...)
	defer stop()
	err := c.run(ctx, args[1:])
	var ee exitError
	switch {
	case err != nil && ctx.Err() != nil && !errors.As(err, &ee):
		// Ctrl+C or SIGTERM: the shell's convention for a run ended by
		// SIGINT, whatever the error that unwound it.
		fmt.Fprintln(stderr, "wfpwatch: interrupted")
		return 130
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		if msg != errUsage.Error() {
			fmt.Fprintf(stderr, "wfpwatch %s: %s\n", c.name, msg)
		}
		fmt.Fprintf(stderr, "Run 'wfpwatch %s --help' for usage.\n", c.name)
		return 2
	default:
		fmt.Fprintf(stderr, "wfpwatch %s: %v\n", c.name, err)
		return 1
	}
}

// newFlagSet returns a FlagSet for a command whose usage text starts with
// synopsis and description.
func newFlagSet(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: wfpwatch %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with fs, turning a flag error into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// notBuilt is the run function of a command whose issue has not landed yet.
func notBuilt(name string) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		fs := newFlagSet(name, "", "This command is not built yet.")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return fmt.Errorf("not built yet in this version")
	}
}
