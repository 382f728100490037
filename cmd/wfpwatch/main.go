// Command wfpwatch shows what the Windows Filtering Platform blocks: live on
// Windows (watch), and from saved files on any OS (analyze).
//
// The command line is built with cobra and pflag: flags may come anywhere
// on the line, --help and 'help CMD' print to standard output, and usage
// errors are one line on standard error with exit status 2. Each
// subcommand lives in its own file (cmd_<name>.go) and registers a
// constructor of its *cobra.Command in init with register; cli.go holds the
// shared error and flag helpers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line for the command list
	// new builds the command, writing its output to stdout and its notes
	// to stderr. Its RunE returns errUsage (wrapped or not) for bad
	// arguments.
	new func(stdout, stderr io.Writer) *cobra.Command
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// errUsage marks an error caused by the command line; main exits with 2.
var errUsage = errors.New("usage")

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitInterrupted is the exit status of a run stopped by Ctrl+C or
// SIGTERM: 128 + SIGINT, as shells report it.
const exitInterrupted = 130

const rootLong = `wfpwatch shows what the Windows Filtering Platform blocks: live on Windows
(watch), and from saved Security logs, .evtx files, SIEM exports,
pfirewall.log and netsh traces on any OS (analyze).`

// newRoot builds the whole command tree, writing to stdout and stderr.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "wfpwatch",
		Short: "show what the Windows Filtering Platform blocks",
		Long:  rootLong,
		Example: `  wfpwatch analyze Security.evtx
  wfpwatch analyze --packets exports/*.json --format json
  wfpwatch watch --app chrome        (Windows, elevated)
  wfpwatch help analyze`,
		Args: rootArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	setup(root, stdout, stderr)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n].new(stdout, stderr)
		if c.Short == "" {
			c.Short = commands[n].summary
		}
		root.AddCommand(c)
	}
	root.SetHelpCommand(newHelpCmd())
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Short = "a shell completion script: powershell, bash, zsh or fish"
		}
	}
	return root
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status: 0, 1
// for a failure, 2 for a usage error, 130 when interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals()...)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(longFlagCompat(root, args))
	c, err := root.ExecuteContextC(ctx)
	if ctx.Err() != nil {
		// Ctrl+C or SIGTERM: whatever the command made of it, the run was
		// cut short.
		fmt.Fprintln(stderr, "wfpwatch: interrupted")
		return exitInterrupted
	}
	return report(c, err, stderr)
}

// report prints err the way wfpwatch does and returns the exit status.
func report(c *cobra.Command, err error, stderr io.Writer) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "%s: %s\n", commandPath(c), usageMessage(err))
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v%s\n", commandPath(c), err, permissionHint(err))
		return 1
	}
}

// permissionHint says what to do about an access-denied error that does
// not say it already: the state directory (audit snapshots, bookmarks, the
// history database, status) is for administrators only.
func permissionHint(err error) string {
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "elevated") || strings.Contains(msg, "administrator") || strings.Contains(msg, "as root") {
		return ""
	}
	if runtime.GOOS == "windows" {
		return " (wfpwatch's state directory and the Windows logs are for administrators: run it from an elevated prompt, Run as administrator, or give it files your account may read, e.g. --db FILE)"
	}
	return " (wfpwatch's state directory is root's: run it as root, or give it files you may read, e.g. --db FILE)"
}

// commandPath names c for messages: "wfpwatch analyze".
func commandPath(c *cobra.Command) string {
	if c == nil {
		return "wfpwatch"
	}
	p := c.CommandPath()
	if !strings.HasPrefix(p, "wfpwatch") {
		p = "wfpwatch " + p // a command run on its own, by a test
	}
	return p
}

// usageMessage is err's text without the "usage: " marker.
func usageMessage(err error) string {
	msg := err.Error()
	if msg == errUsage.Error() {
		return "bad command line"
	}
	return strings.ReplaceAll(msg, errUsage.Error()+": ", "")
}
