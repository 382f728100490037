package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wfpwatch/wfpwatch/internal/config"
	"github.com/wfpwatch/wfpwatch/internal/forward"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/web"
)

const configHelp = `The configuration file holds the settings of the wfpwatch service (and of
'watch --config FILE'): every flag of watch in [watch], the dashboard in
[dashboard] (the flags of serve, and enabled = true), and the service's own
log file in [log]. It is TOML: key = value lines, # comments, strings in
quotes ('C:\path' in single quotes keeps its backslashes), a flag that may
be repeated takes a list: output = ["syslog+tcp://siem:514", "file://C:/x"].

The service reads %ProgramData%\wfpwatch\wfpwatch.toml unless installed with
another --config; 'wfpwatch service restart' makes it read the file again.
See docs/config.md.`

func init() {
	register(&command{name: "config", summary: "check the configuration file, or print an example", new: func(stdout, stderr io.Writer) *cobra.Command {
		c := &cobra.Command{
			Use:   "config check [FILE] | config example",
			Short: "check the configuration file, or print an example",
			Long:  configHelp,
			Example: `  wfpwatch config example > wfpwatch.toml
  wfpwatch config check wfpwatch.toml
  wfpwatch config check              # the service's file in the state directory`,
			Args: noArgs,
		}
		check := &cobra.Command{
			Use:   "check [FILE]",
			Short: "check a configuration file and say what it would do",
			Args: func(c *cobra.Command, args []string) error {
				if len(args) > 1 {
					return usagef("give at most one configuration file")
				}
				return nil
			},
			RunE: func(c *cobra.Command, args []string) error {
				path := config.DefaultPath()
				if len(args) == 1 {
					path = args[0]
				}
				cfg, _, err := checkConfig(path)
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, configSummary(cfg))
				return nil
			},
		}
		example := &cobra.Command{
			Use:   "example",
			Short: "print a commented configuration with every key and its default",
			Args:  noArgs,
			RunE: func(c *cobra.Command, args []string) error {
				_, err := io.WriteString(stdout, configExample())
				return err
			},
		}
		c.AddCommand(check, example)
		return c
	}})
}

// checkConfig reads the configuration file at path and checks every
// setting with the parser of the command it belongs to: [watch] with
// watch's flags and checks, [dashboard] with serve's flags. Each error
// names the file and line. It returns the watch options the file makes.
func checkConfig(path string) (*config.Config, *watchOptions, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, configError(err)
	}
	o, err := checkParsedConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, o, nil
}

// checkParsedConfig checks the settings of a parsed configuration (see
// checkConfig).
func checkParsedConfig(cfg *config.Config) (*watchOptions, error) {
	path := cfg.Path
	args, lines := cfg.WatchArgs()
	o, err := checkServiceArgs(path, args, lines, io.Discard)
	if err != nil {
		return nil, configError(err)
	}
	for i, a := range args {
		if name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "output" {
			if err := forward.Check(value); err != nil {
				return nil, configError(fmt.Errorf("%s:%d: %s", output.TermSafe(path), lines[i], output.TermSafe(err.Error())))
			}
		}
	}
	if cfg.Dashboard != nil {
		dargs, dlines := cfg.DashboardArgs()
		listen, listenLine, token := "127.0.0.1:8089", 0, ""
		for i, a := range dargs {
			s := newServeCmd(io.Discard, io.Discard)
			setup(s, io.Discard, io.Discard)
			if err := s.ParseFlags([]string{a}); err != nil {
				return nil, configError(fmt.Errorf("%s:%d: [dashboard] %s", output.TermSafe(path), dlines[i], usageMessage(flagError(s, err))))
			}
			switch name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name {
			case "db":
				return nil, configError(fmt.Errorf("%s:%d: [dashboard] db: the dashboard shows the database of [watch] (set db there)", output.TermSafe(path), dlines[i]))
			case "listen":
				listen, listenLine = value, dlines[i]
			case "token", "token-file":
				token = value
			}
		}
		if _, _, err := web.CheckListen(listen, token); err != nil {
			return nil, configError(fmt.Errorf("%s:%d: [dashboard] %s", output.TermSafe(path), listenLine, output.TermSafe(err.Error())))
		}
	}
	return o, nil
}

// configError marks a configuration problem as a failure (exit 1) that
// says how to see the keys.
func configError(err error) error {
	if errors.Is(err, errUsage) {
		err = errors.New(usageMessage(err))
	}
	return fmt.Errorf("%w\n('wfpwatch config example' prints every key with its default; see docs/config.md)", err)
}

// configSummary says in one line what a checked configuration does.
func configSummary(cfg *config.Config) string {
	args, _ := cfg.WatchArgs()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK: watch", output.TermSafe(cfg.Path))
	if len(args) == 0 {
		b.WriteString(" with its defaults")
	}
	for _, a := range args {
		b.WriteString(" " + output.TermSafe(a))
	}
	if cfg.Dashboard != nil {
		dargs, _ := cfg.DashboardArgs()
		b.WriteString("; dashboard on")
		for _, a := range dargs {
			b.WriteString(" " + output.TermSafe(a))
		}
	} else {
		b.WriteString("; no dashboard")
	}
	return b.String()
}

// configExample writes a configuration with every key of [watch] and
// [dashboard], from the flag sets themselves, commented out with its
// default, so the example cannot drift from the flags.
func configExample() string {
	var b strings.Builder
	b.WriteString(`# wfpwatch configuration (TOML). Generated by 'wfpwatch config example'.
# Every key is commented out with its default: remove the # to set it.
# Check the file with 'wfpwatch config check FILE'; see docs/config.md.
# Strings in 'single quotes' keep backslashes as they are (Windows paths).

[watch]
# The flags of 'wfpwatch watch'. A flag that may be repeated takes a list.
`)
	writeFlags(&b, newWatchCmd(io.Discard, io.Discard).Flags(), map[string]bool{"help": true, "config": true})
	b.WriteString(`
[dashboard]
# The dashboard ('wfpwatch serve') inside the service, over the database of
# [watch]. Off unless enabled = true.
# enabled = false
`)
	writeFlags(&b, newServeCmd(io.Discard, io.Discard).Flags(), map[string]bool{"help": true, "db": true, "live": true})
	b.WriteString(`
[log]
# The service's own log file (besides the Application event log).
# file = ''        # default: service.log in the state directory
# max-size = "4MiB" # rotated beyond this size
# keep = 3          # rotated files kept
`)
	return b.String()
}

func writeFlags(b *strings.Builder, fs *pflag.FlagSet, skip map[string]bool) {
	fs.VisitAll(func(f *pflag.Flag) {
		if skip[f.Name] || f.Hidden {
			return
		}
		usage := strings.ReplaceAll(f.Usage, "`", "")
		for _, l := range wrap(usage, 74) {
			fmt.Fprintf(b, "# %s\n", l)
		}
		fmt.Fprintf(b, "# %s = %s\n\n", f.Name, tomlDefault(f))
	})
}

// repeatable reports whether f may be given several times (its usage says
// so, as every repeatable flag of wfpwatch does).
func repeatable(f *pflag.Flag) bool { return strings.Contains(f.Usage, "(repeatable") }

func tomlDefault(f *pflag.Flag) string {
	if repeatable(f) {
		return "[]"
	}
	switch f.Value.Type() {
	case "bool":
		return f.DefValue
	case "int", "uint", "int64", "uint64", "uint16", "port", "N":
		if _, err := strconv.ParseInt(f.DefValue, 10, 64); err == nil {
			return f.DefValue
		}
	}
	if _, err := strconv.ParseInt(f.DefValue, 10, 64); err == nil && f.Value.Type() != "string" {
		return f.DefValue
	}
	return tomlString(f.DefValue)
}

// tomlString quotes s for TOML: a literal string when it can be one (no
// single quote or control character), else a basic string.
func tomlString(s string) string {
	if !strings.ContainsAny(s, "'\n\r\t") && output.TermSafe(s) == s {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// applyConfig sets the watch flags of fs that the command line left alone
// from the [watch] section of the configuration file path (checked first,
// every error with its line). "" does nothing.
func applyConfig(fs *pflag.FlagSet, path string) error {
	if path == "" {
		return nil
	}
	cfg, _, err := checkConfig(path)
	if err != nil {
		return err
	}
	args, lines := cfg.WatchArgs()
	given := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { given[f.Name] = true })
	for i, a := range args {
		name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "config" {
			return fmt.Errorf("%s:%d: config: a configuration file cannot name another", output.TermSafe(path), lines[i])
		}
		if given[name] {
			continue // the command line wins
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("%s:%d: --%s: %w", output.TermSafe(path), lines[i], name, err)
		}
	}
	return nil
}
