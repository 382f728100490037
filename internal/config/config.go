// Package config reads wfpwatch's configuration file: the settings of the
// service (and of 'watch --config'), written by hand by an administrator.
//
// The file is TOML (https://toml.io), read with github.com/BurntSushi/toml:
// a format with comments, plain key = value lines and sections that Windows
// administrators edit in Notepad without indentation traps (YAML's), and a
// library that is small, well kept and reports the line of every syntax
// and type error. Three sections:
//
//	[watch]      every flag of 'wfpwatch watch', by its name without the
//	             dashes: packets = true, since = "10m", output = ["…"]
//	             (a flag that may be repeated takes a list)
//	[dashboard]  enabled = true and the flags of 'wfpwatch serve'
//	             (listen, token-file, cert, key, allow-host)
//	[log]        the service's own log file: file, max-size, keep
//
// The package turns [watch] and [dashboard] into command-line arguments,
// each with the line that set it, so that the commands check them with
// their own flag parsers and an error still names its line ("wfpwatch.toml:
// 7: …"). Key names are the flags' own: config example (cmd/wfpwatch) is
// generated from the flag sets, so the file, the example and the flags
// cannot drift apart. Unknown sections and keys of [log] are errors here;
// unknown keys of [watch] and [dashboard] are errors of the flag parsers.
package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// MaxSize bounds the file: a configuration is a few KB.
const MaxSize = 1 << 20

// DefaultName is the file's name in the state directory.
const DefaultName = "wfpwatch.toml"

// DefaultPath is where the service's configuration lives: in the locked
// state directory (%ProgramData%\wfpwatch\wfpwatch.toml on Windows).
func DefaultPath() string { return statedir.Path(DefaultName) }

// Arg is one command-line argument made from a key of the file.
type Arg struct {
	Text string // "--packets=true", "--output=syslog+tcp://siem:514"
	Line int    // the line of its key, 0 when unknown
}

// Log is the [log] section: the service's own log file.
type Log struct {
	File    string // "" : service.log in the state directory
	MaxSize int64  // bytes before the file is rotated; 0: the default
	Keep    int    // rotated files kept; 0: the default
}

// Config is a parsed configuration file.
type Config struct {
	Path string
	// Watch holds the [watch] section as watch's arguments.
	Watch []Arg
	// Dashboard holds the [dashboard] section as serve's arguments
	// (without "enabled"); nil when the section is absent or enabled is
	// false.
	Dashboard []Arg
	Log       Log
}

// WatchArgs returns the [watch] arguments and the line of each.
func (c *Config) WatchArgs() (args []string, lines []int) { return split(c.Watch) }

// DashboardArgs returns the [dashboard] arguments and the line of each.
func (c *Config) DashboardArgs() (args []string, lines []int) { return split(c.Dashboard) }

func split(a []Arg) (args []string, lines []int) {
	for _, x := range a {
		args, lines = append(args, x.Text), append(lines, x.Line)
	}
	return args, lines
}

// Error is a problem at a line of the file.
type Error struct {
	Path string
	Line int // 0: the file as a whole
	Msg  string
}

func (e *Error) Error() string {
	p := output.TermSafe(e.Path)
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p, e.Line, e.Msg)
	}
	return p + ": " + e.Msg
}

// Load reads and parses the file at path. A file in the state directory
// is read with statedir's checks (an elevated service must not read a file
// that a standard user could have planted); elsewhere the administrator
// named it and it is read as it is. Either way it may not exceed MaxSize.
func Load(path string) (*Config, error) {
	var b []byte
	var err error
	if inStateDir(path) {
		b, err = statedir.ReadFile(path)
	} else {
		b, err = readBounded(path)
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

func inStateDir(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	dir, err := filepath.Abs(statedir.Default())
	if err != nil {
		return false
	}
	return strings.EqualFold(filepath.Dir(abs), dir)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the configuration: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, &Error{Path: path, Msg: "not a regular file: name the configuration file itself"}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read the configuration %s: %w", output.TermSafe(path), err)
	}
	return b, nil
}

// Parse parses the configuration text b read from path (path only names
// the file in errors). Every problem found is returned, joined, each an
// *Error with its line.
func Parse(path string, b []byte) (*Config, error) {
	if len(b) > MaxSize {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("larger than %d bytes, which no configuration is: is it the right file?", MaxSize)}
	}
	text := strings.TrimPrefix(string(b), "\ufeff") // Notepad's UTF-8 byte order mark
	if strings.IndexByte(text, 0) >= 0 {
		return nil, &Error{Path: path, Msg: "holds NUL bytes: save it as UTF-8 (Notepad: Save as, Encoding UTF-8), not UTF-16"}
	}
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{Path: path, Line: pe.Position.Line, Msg: "TOML syntax: " + output.TermSafe(pe.Message)}
		}
		return nil, &Error{Path: path, Msg: "TOML: " + output.TermSafe(err.Error())}
	}
	lines := keyLines(text)
	c := &Config{Path: path}
	var errs []error
	bad := func(line int, format string, a ...any) {
		errs = append(errs, &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	for _, name := range sortedKeys(raw) {
		sec, ok := raw[name].(map[string]any)
		line := lines[lineKey{"", name}]
		if !ok {
			bad(line, "%q is not in a section: put it under [watch], [dashboard] or [log]", output.TermSafe(name))
			continue
		}
		switch name {
		case "watch":
			c.Watch = append(c.Watch, args(path, name, sec, lines, bad)...)
		case "dashboard":
			on := true
			if v, ok := sec["enabled"]; ok {
				b, isBool := v.(bool)
				if !isBool {
					bad(lines[lineKey{name, "enabled"}], "enabled: want true or false")
				}
				on = b
				delete(sec, "enabled")
			}
			if a := args(path, name, sec, lines, bad); on {
				c.Dashboard = a
				if c.Dashboard == nil {
					c.Dashboard = []Arg{}
				}
			}
		case "log":
			c.Log = logSection(sec, lines, bad)
		default:
			bad(line, "unknown section [%s]: want [watch], [dashboard] or [log] ('wfpwatch config example' shows them all)", output.TermSafe(name))
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].(*Error).Line < errs[j].(*Error).Line })
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// args turns a section's keys into flag arguments, in the order of the
// file.
func args(path, section string, sec map[string]any, lines map[lineKey]int, bad func(int, string, ...any)) []Arg {
	keys := sortedKeys(sec)
	sort.SliceStable(keys, func(i, j int) bool {
		return lines[lineKey{section, keys[i]}] < lines[lineKey{section, keys[j]}]
	})
	var out []Arg
	for _, k := range keys {
		line := lines[lineKey{section, k}]
		flag := "--" + strings.ReplaceAll(k, "_", "-")
		vals, ok := sec[k].([]any)
		if !ok {
			vals = []any{sec[k]}
		}
		for _, v := range vals {
			s, err := value(v)
			if err != nil {
				bad(line, "%s: %v", output.TermSafe(k), err)
				continue
			}
			out = append(out, Arg{Text: flag + "=" + s, Line: line})
		}
	}
	return out
}

// value renders one TOML value as a flag's value.
func value(v any) (string, error) {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", errors.New("want a finite number")
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case map[string]any:
		return "", errors.New("a table has no place here: want a string, a number, true/false or a list of them")
	case []any:
		return "", errors.New("a list of lists has no place here")
	}
	return "", fmt.Errorf("unsupported value %T: want a string, a number, true/false or a list of them", v)
}

func logSection(sec map[string]any, lines map[lineKey]int, bad func(int, string, ...any)) Log {
	var l Log
	for _, k := range sortedKeys(sec) {
		line := lines[lineKey{"log", k}]
		switch v := sec[k]; strings.ReplaceAll(k, "_", "-") {
		case "file":
			s, ok := v.(string)
			if !ok {
				bad(line, "file: want a path in quotes ('C:\\logs\\wfpwatch.log' in single quotes keeps the backslashes)")
			}
			l.File = s
		case "max-size":
			switch x := v.(type) {
			case int64:
				l.MaxSize = x
			case string:
				n, err := parseSize(x)
				if err != nil {
					bad(line, "max-size: %v", err)
				}
				l.MaxSize = n
			default:
				bad(line, "max-size: want a size such as \"10MiB\" or a number of bytes")
			}
			if l.MaxSize < 0 || (l.MaxSize > 0 && l.MaxSize < 64<<10) {
				bad(line, "max-size: want at least 64KiB")
			}
		case "keep":
			x, ok := v.(int64)
			if !ok || x < 0 || x > 100 {
				bad(line, "keep: want a number of rotated files from 0 to 100")
			}
			l.Keep = int(x)
		default:
			bad(line, "unknown key %q in [log]: want file, max-size or keep", output.TermSafe(k))
		}
	}
	return l
}

var sizeRE = regexp.MustCompile(`^(?i)\s*([0-9]+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$`)

// parseSize reads "10MiB", "500KB", "1048576".
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size: want e.g. 10MiB, 500KB or a number of bytes", output.TermSafe(s))
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > 1<<40 {
		return 0, fmt.Errorf("%q is too large", output.TermSafe(s))
	}
	mult := map[string]int64{"": 1, "b": 1, "kb": 1000, "kib": 1 << 10, "mb": 1000 * 1000, "mib": 1 << 20, "gb": 1000 * 1000 * 1000, "gib": 1 << 30}[strings.ToLower(m[2])]
	return n * mult, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type lineKey struct{ section, key string }

var (
	headerRE = regexp.MustCompile(`^\s*\[\[?\s*("?)([A-Za-z0-9_.-]+)("?)\s*\]`)
	keyRE    = regexp.MustCompile(`^\s*("?)([A-Za-z0-9_.-]+)("?)\s*=`)
)

// keyLines finds the line of each section header and of each key in it.
// The TOML library keeps positions to itself; the file is simple enough
// (flat sections, one key a line) for a line scan to find them. A key it
// does not find gets line 0 and its errors name the file only.
func keyLines(text string) map[lineKey]int {
	m := map[lineKey]int{}
	section := ""
	for i, l := range strings.Split(text, "\n") {
		if h := headerRE.FindStringSubmatch(l); h != nil {
			section = h[2]
			// [watch.output] defines the key output of [watch].
			parent, key := "", section
			if j := strings.LastIndexByte(section, '.'); j >= 0 {
				parent, key = section[:j], section[j+1:]
			}
			if _, ok := m[lineKey{parent, key}]; !ok {
				m[lineKey{parent, key}] = i + 1
			}
			continue
		}
		if k := keyRE.FindStringSubmatch(l); k != nil {
			if _, ok := m[lineKey{section, k[2]}]; !ok {
				m[lineKey{section, k[2]}] = i + 1
			}
		}
	}
	return m
}
