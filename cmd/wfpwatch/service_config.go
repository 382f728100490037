package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// loadServiceConfig reads the service's configuration file: watch's flags,
// one per line ("--packets", "--output file://C:\logs\blocks.json",
// "--db-keep=720h"); blank lines and lines starting with # are skipped. It
// returns the flags as command-line arguments. A line that is not a flag
// is an error that names the file and the line. The file is read with the
// state-file checks (an elevated service trusts it: not a link, a trusted
// owner).
//
// This is the interim format; the configuration file of internal/config
// replaces it.
func loadServiceConfig(path string) ([]string, error) {
	args, _, err := readServiceConfig(path)
	return args, err
}

// readServiceConfig is loadServiceConfig that also returns the line of
// each argument.
func readServiceConfig(path string) ([]string, []int, error) {
	b, err := statedir.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read the configuration: %w", err)
	}
	return parseServiceConfig(path, string(b))
}

// parseServiceConfig parses the text of a configuration file (see
// loadServiceConfig) and returns the arguments and, for each, its line.
func parseServiceConfig(path, text string) (args []string, lines []int, err error) {
	text = strings.TrimPrefix(text, "\ufeff") // Notepad's UTF-8 BOM
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(strings.TrimSuffix(l, "\r"))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !strings.HasPrefix(l, "--") || len(l) == 2 {
			return nil, nil, fmt.Errorf("%s:%d: %q is not a flag: write one watch flag a line, such as --packets or --output file://C:\\logs\\blocks.json", output.TermSafe(path), i+1, output.TermSafe(l))
		}
		flag, value, hasValue := strings.Cut(l, " ")
		if !hasValue {
			flag, value, hasValue = strings.Cut(l, "\t")
		}
		args, lines = append(args, flag), append(lines, i+1)
		if hasValue {
			args, lines = append(args, strings.TrimSpace(value)), append(lines, i+1)
		}
	}
	return args, lines, nil
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
