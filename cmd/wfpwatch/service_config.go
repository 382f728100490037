package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wfpwatch/wfpwatch/internal/config"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// loadServiceConfig reads the service's configuration file (TOML, see
// internal/config and docs/config.md) with the state-file checks wherever
// it is (an elevated service trusts it: not a link, a trusted owner, at
// most 1 MiB), and checks every setting as checkConfig does.
func loadServiceConfig(path string) (*config.Config, *watchOptions, error) {
	b, err := statedir.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read the configuration: %w", err)
	}
	cfg, err := config.Parse(path, b)
	if err != nil {
		return nil, nil, configError(err)
	}
	o, err := checkParsedConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	o.command = "service"
	return cfg, o, nil
}

// checkServiceArgs parses args as watch's flags into a new watchOptions
// and checks them as far as can be done without running: flag names and
// values, the view, --source and --render. lines (from parseServiceConfig,
// or nil) give the line of each argument for the error.
func checkServiceArgs(path string, args []string, lines []int, stderr io.Writer) (*watchOptions, error) {
	where := func(i int) string {
		if i >= 0 && i < len(lines) {
			return fmt.Sprintf("%s:%d", output.TermSafe(path), lines[i])
		}
		return output.TermSafe(path)
	}
	// Each line alone first, so that an error names its line.
	for i := 0; i < len(args); i++ {
		j := i + 1
		for j < len(args) && lines != nil && lines[j] == lines[i] {
			j++
		}
		c := newWatchCmdWith(&watchOptions{}, io.Discard, io.Discard)
		setup(c, io.Discard, io.Discard)
		if err := c.ParseFlags(longFlagCompat(c, args[i:j])); errors.Is(err, pflag.ErrHelp) {
			return nil, fmt.Errorf("%s: --help has no place in a configuration file", where(i))
		} else if err != nil {
			return nil, fmt.Errorf("%s: %s", where(i), usageMessage(flagError(c, err)))
		}
		if rest := c.Flags().Args(); len(rest) > 0 {
			return nil, fmt.Errorf("%s: %q is not a flag: a switch such as --packets takes no value (--packets=false turns it off)", where(i), output.TermSafe(rest[0]))
		}
		i = j - 1
	}
	o := &watchOptions{}
	c := newWatchCmdWith(o, io.Discard, stderr)
	setup(c, io.Discard, stderr)
	if err := c.ParseFlags(longFlagCompat(c, args)); err != nil {
		return nil, fmt.Errorf("%s: %s", where(-1), usageMessage(flagError(c, err)))
	}
	if err := o.view.check(); err != nil {
		return nil, fmt.Errorf("%s: %s", where(-1), usageMessage(err))
	}
	n := 0
	for _, src := range strings.Split(o.sources, ",") {
		switch strings.TrimSpace(strings.ToLower(src)) {
		case "evtlog", "netevent":
			n++
		case "":
		default:
			return nil, fmt.Errorf("%s: --source %q: want evtlog, netevent or both", where(-1), output.TermSafe(src))
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: --source: name at least one of evtlog and netevent", where(-1))
	}
	if r := strings.ToLower(o.render); r != "values" && r != "xml" {
		return nil, fmt.Errorf("%s: --render %q: want values or xml", where(-1), output.TermSafe(o.render))
	}
	return o, nil
}
